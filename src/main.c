/*
 * main.c: the h2gate process.  Parses the command line, loads the
 * configuration (every error reported as file:line:column), builds the TLS
 * contexts, binds every listening socket, then runs one worker thread per
 * event loop.  The main thread only handles signals.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_load.h"
#include "listener.h"
#include "log.h"
#include "tls.h"
#include "worker.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define DEFAULT_CONFIG SYSCONFDIR "/h2gate/h2gate.yaml"

struct process {
    struct h2g_config *config;
    struct h2g_listen_ctx *listen;
    struct h2g_worker **workers;
    unsigned n_workers;
    struct event_base *base;
    int access_fd;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: h2gate [-c FILE] [-t] [-V] [-h]\n"
            "HTTP/2 reverse proxy and CONNECT tunnel.\n\n"
            "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
            "  -t, --test         check the configuration and exit\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n");
}

static struct h2g_config *load(const char *path)
{
    struct h2g_config_errors errs = {0};
    struct h2g_config *c = h2g_config_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    h2g_config_errors_clear(&errs);
    return c;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct process *p = arg;
    LOG_INFO("signal %d: graceful shutdown (up to %llu ms)", (int)sig,
             (unsigned long long)p->config->timeouts.shutdown);
    for (unsigned i = 0; i < p->n_workers; i++)
        worker_request_stop(p->workers[i]);
    event_base_loopexit(p->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    LOG_WARN("SIGHUP: configuration reload is not implemented yet; the running configuration stays");
}

static int open_access_log(const struct h2g_config *c)
{
    if (c->log_access == NULL || strcmp(c->log_access, "stdout") == 0)
        return dup(STDOUT_FILENO);
    if (strcmp(c->log_access, "off") == 0)
        return -1;
    int fd = open(c->log_access, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        fprintf(stderr, "h2gate: access log %s: %s\n", c->log_access, strerror(errno));
    return fd < 0 ? -2 : fd;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"test", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG;
    bool test = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 't': test = true; break;
        case 'V': printf("h2gate %s (nghttp2 %s, libevent %s, %s)\n", PACKAGE_VERSION,
                         nghttp2_version(0)->version_str, event_get_version(), OpenSSL_version(OPENSSL_VERSION));
                  return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    struct process p = {.access_fd = -1};
    p.config = load(path);
    if (p.config == NULL)
        return 1;
    h2g_log_set_level(p.config->log_level);
    h2g_log_init();

    /* TLS contexts are built in -t too: a certificate that does not load
     * is a configuration error. */
    p.listen = calloc(p.config->n_listen, sizeof(*p.listen));
    if (p.listen == NULL)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < p.config->n_listen; i++) {
        p.listen[i].lc = &p.config->listen[i];
        if (p.config->listen[i].tls != NULL) {
            char err[512];
            p.listen[i].tls = tls_ctx_new(&p.config->listen[i], err, sizeof(err));
            if (p.listen[i].tls == NULL) {
                fprintf(stderr, "%s: listen %s: %s\n", path, p.config->listen[i].text, err);
                rc = 1;
            }
        }
    }
    if (rc == 0 && test) {
        printf("%s: configuration ok\n", path);
    }
    if (rc != 0 || test)
        goto out;

    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    p.n_workers = p.config->workers;
    if (p.n_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p.n_workers = n > 0 ? (unsigned)n : 1;
    }
    p.access_fd = open_access_log(p.config);
    if (p.access_fd == -2) {
        rc = 1;
        goto out;
    }

    /* Bind everything before any thread starts: a taken port is a clean
     * startup error. */
    int *fds = calloc((size_t)p.n_workers * p.config->n_listen, sizeof(int));
    p.workers = calloc(p.n_workers, sizeof(*p.workers));
    if (fds == NULL || p.workers == NULL) {
        rc = 1;
        goto out;
    }
    for (unsigned wi = 0; wi < p.n_workers && rc == 0; wi++) {
        for (size_t i = 0; i < p.config->n_listen; i++) {
            char err[256];
            int fd = listener_bind(&p.config->listen[i].addr, err, sizeof(err));
            if (fd < 0) {
                fprintf(stderr, "h2gate: cannot listen on %s: %s\n", p.config->listen[i].text, err);
                rc = 1;
                break;
            }
            fds[wi * p.config->n_listen + i] = fd;
        }
    }
    for (unsigned wi = 0; wi < p.n_workers && rc == 0; wi++) {
        p.workers[wi] = worker_new(wi, p.config, p.listen, fds + (size_t)wi * p.config->n_listen,
                                   p.access_fd);
        if (p.workers[wi] == NULL) {
            fprintf(stderr, "h2gate: cannot start worker %u\n", wi);
            rc = 1;
        }
    }
    free(fds);
    if (rc != 0)
        goto out;

    p.base = event_base_new();
    struct event *sigterm = evsignal_new(p.base, SIGTERM, on_stop_signal, &p);
    struct event *sigint = evsignal_new(p.base, SIGINT, on_stop_signal, &p);
    struct event *sighup = evsignal_new(p.base, SIGHUP, on_hup, &p);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sighup, NULL);

    for (unsigned wi = 0; wi < p.n_workers; wi++)
        worker_start(p.workers[wi]);
    for (size_t i = 0; i < p.config->n_listen; i++)
        LOG_INFO("listening on %s (%s%s%s%s)", p.config->listen[i].text, p.config->listen[i].tls ? "tls" : "cleartext",
                 p.config->listen[i].h2 ? ", h2" : "", p.config->listen[i].http11 ? ", http/1.1" : "", "");
    LOG_INFO("h2gate %s started with %u worker(s)", PACKAGE_VERSION, p.n_workers);

    event_base_dispatch(p.base);

    for (unsigned wi = 0; wi < p.n_workers; wi++)
        worker_join(p.workers[wi]);
    LOG_INFO("stopped");
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    event_base_free(p.base);
out:
    if (p.workers != NULL) {
        for (unsigned wi = 0; wi < p.n_workers; wi++)
            worker_free(p.workers[wi]);
        free(p.workers);
    }
    if (p.listen != NULL) {
        for (size_t i = 0; i < p.config->n_listen; i++)
            tls_ctx_free(p.listen[i].tls);
        free(p.listen);
    }
    if (p.access_fd >= 0)
        close(p.access_fd);
    h2g_config_unref(p.config);
    return rc;
}
