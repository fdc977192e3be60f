#include "process/process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "runtime/blockcache.h"
#include "process/config_json.h"
#include "core/config_load.h"
#include "process/control.h"
#include "runtime/failalloc.h"
#include "runtime/jsonmem.h"
#include "process/introspect.h"
#include "edge/listener.h"
#include "runtime/log.h"
#include "runtime/sockread.h"
#include "process/metrics.h"
#include "process/route_metrics.h"
#include "edge/tls.h"
#include "upstream/upstream_tls.h"
#include "process/ticket_sync.h"
#include "process/worker.h"

/* --- snapshots: the listen contexts (TLS) hang off the config --- */

static void attachment_free(void *arg)
{
    struct h2g_snapshot_attachment *a = arg;
    if (a == NULL)
        return;
    struct h2g_listen_ctx *ctx = a->listen;
    for (size_t i = 0; ctx != NULL && ctx[i].lc != NULL; i++)
        tls_ctx_free(ctx[i].tls);
    free(ctx);
    for (size_t i = 0; i < a->n_up_tls; i++)
        upstream_tls_free(a->up_tls[i]);
    free(a->up_tls);
    free(a);
}

static void snapshot_error(json_t *errors, const char *msg);

static size_t count_tls_routes(const struct h2g_config *c)
{
    size_t n = 0;
    for (size_t oi = 0; oi < c->n_origins; oi++)
        for (size_t ri = 0; ri < c->origins[oi].n_routes; ri++)
            n += c->origins[oi].routes[ri].upstream_tls != NULL;
    return n;
}

/* One SSL_CTX per route with TLS upstreams, here on the main thread
 * (reading the files is no work for a worker's loop).  false after
 * reporting (file:line:column of the route's upstream_tls). */
static bool build_upstream_tls(struct h2g_config *c, struct h2g_snapshot_attachment *a, json_t *errors)
{
    size_t n = count_tls_routes(c);
    if (n > 0 && (a->up_tls = calloc(n, sizeof(*a->up_tls))) == NULL) {
        snapshot_error(errors, "upstream_tls: out of memory");
        return false;
    }
    bool ok = true;
    for (size_t oi = 0; oi < c->n_origins; oi++)
        for (size_t ri = 0; ri < c->origins[oi].n_routes; ri++) {
            struct h2g_route_config *r = &c->origins[oi].routes[ri];
            if (r->upstream_tls == NULL)
                continue;
            char err[512], msg[1024];
            r->tls = upstream_tls_new(r->upstream_tls, r->upstreams[0].proto == H2G_UPSTREAM_H2C, err, sizeof(err));
            if (r->tls == NULL) {
                snprintf(msg, sizeof(msg), "%s: origins[%zu].routes[%zu].upstream_tls: %s", r->upstream_tls->where,
                         oi, ri, err);
                snapshot_error(errors, msg);
                ok = false;
                continue;
            }
            a->up_tls[a->n_up_tls++] = r->tls;
            if (!r->upstream_tls->verify)
                LOG_WARN("%s: origins[%zu].routes[%zu].upstream_tls.verify: false: the upstream's certificate "
                         "and name are not checked (for tests only)", r->upstream_tls->where, oi, ri);
        }
    return ok;
}

/* A message of build_snapshot: into errors, or printed when NULL. */
static void snapshot_error(json_t *errors, const char *msg)
{
    if (errors != NULL)
        json_array_append_new(errors, json_string(msg));
    else
        fprintf(stderr, "%s\n", msg);
}

/* Loads `path` and builds everything a snapshot needs; ts (NULL for a
 * check) lends the key stores of listeners with ticket_keys_memcached.
 * NULL with the messages appended to errors (or printed when errors is
 * NULL). */
static struct h2g_config *build_snapshot(const char *path, struct h2g_ticket_sync *ts, json_t *errors)
{
    struct h2g_config_errors errs = {0};
    struct h2g_config *c = h2g_config_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        snapshot_error(errors, errs.msgs[i]);
    bool said = errs.n > 0;
    h2g_config_errors_clear(&errs);
    if (c == NULL) {
        /* The messages themselves could not be made. */
        if (!said) {
            char msg[PATH_MAX + 32];
            snprintf(msg, sizeof(msg), "%s: out of memory", path);
            snapshot_error(errors, msg);
        }
        return NULL;
    }
    struct h2g_snapshot_attachment *a = calloc(1, sizeof(*a));
    struct h2g_listen_ctx *ctx = calloc(c->n_listen + 1, sizeof(*ctx));
    if (a == NULL || ctx == NULL) {
        char msg[PATH_MAX + 32];
        snprintf(msg, sizeof(msg), "%s: out of memory", path);
        snapshot_error(errors, msg);
        free(a);
        free(ctx);
        h2g_config_unref(c);
        return NULL;
    }
    a->listen = ctx;
    c->attachment = a;
    c->attachment_free = attachment_free;
    bool ok = build_upstream_tls(c, a, errors);
    for (size_t i = 0; i < c->n_listen; i++) {
        ctx[i].lc = &c->listen[i];
        if (c->listen[i].tls == NULL)
            continue;
        char err[512];
        struct h2g_ticket_store *store = NULL;
        if (ts != NULL && ticket_sync_store(ts, c->listen[i].tls, &store) != 0)
            snprintf(err, sizeof(err), "out of memory");
        else
            ctx[i].tls = tls_ctx_new(&c->listen[i], store, err, sizeof(err));
        if (ctx[i].tls == NULL) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s: listen %s: %s", path, c->listen[i].text, err);
            snapshot_error(errors, msg);
            ok = false;
        }
    }
    if (!ok) {
        h2g_config_unref(c);
        return NULL;
    }
    return c;
}

/* The file's SHA-256 in hex ("" when it cannot be read).  -1 when
 * OpenSSL has no memory for it: what status would say of the file in
 * force must not be wrong, so a reload then fails. */
static int file_sha256(const char *path, char out[65])
{
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    unsigned char buf[8192];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(md, buf, n) == 1;
    fclose(f);
    unsigned char d[32];
    unsigned dl = 0;
    ok = ok && EVP_DigestFinal_ex(md, d, &dl) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    for (unsigned i = 0; i < dl && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* --- sockets --- */

/* systemd socket activation: an inherited socket whose local address is
 * the listen entry's.  -1 if none. */
static int activated_fd_for(struct h2g_process *p, const struct h2g_hostport *a)
{
    for (int i = 0; i < p->n_activated; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(p->activated_fds[i], (struct sockaddr *)&ss, &len) != 0)
            continue;
        char host[INET6_ADDRSTRLEN] = "";
        uint16_t port = 0;
        bool any = false;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
            port = ntohs(s4->sin_port);
            any = s4->sin_addr.s_addr == htonl(INADDR_ANY);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
            port = ntohs(s6->sin6_port);
            any = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
        } else {
            continue;
        }
        if (port != a->port)
            continue;
        if ((a->wildcard || a->host[0] == '\0') ? any : strcmp(host, a->host) == 0)
            return p->activated_fds[i];
    }
    return -1;
}

/* One listening socket for entry `l` (a dup of an inherited one, or a new
 * SO_REUSEPORT socket).  -1 with the error logged. */
static int listen_socket(struct h2g_process *p, const struct h2g_listen_config *l)
{
    int act = activated_fd_for(p, &l->addr);
    if (act >= 0) {
        int fd = fcntl(act, F_DUPFD_CLOEXEC, 0);
        if (fd >= 0)
            evutil_make_socket_nonblocking(fd);
        return fd;
    }
    char err[256];
    int fd = listener_bind(&l->addr, err, sizeof(err));
    if (fd < 0)
        LOG_ERROR("cannot listen on %s: %s", l->text, err);
    return fd;
}

static bool same_addr(const struct h2g_hostport *a, const struct h2g_hostport *b)
{
    return a->port == b->port && a->wildcard == b->wildcard && strcmp(a->host, b->host) == 0;
}

static int open_access_log(const char *spec)
{
    if (spec == NULL || strcmp(spec, "stdout") == 0)
        return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    if (strcmp(spec, "off") == 0)
        return -1;
    int fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        LOG_ERROR("access log %s: %s", spec, strerror(errno));
    return fd < 0 ? -2 : fd;
}

/* SIGUSR1 (and a reload that changed log.access): the new file replaces
 * the old one under the same descriptor number, so workers need no news. */
static void reopen_access_log(struct h2g_process *p)
{
    if (p->access_fd < 0)
        return;
    int fd = open_access_log(p->config->log_access);
    if (fd < 0)
        return;
    if (dup2(fd, p->access_fd) < 0)
        LOG_ERROR("reopening the access log: %s", strerror(errno));
    close(fd);
}

/* --- reload --- */

static bool streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* A reason for a failed reload, for the control socket's reply (its
 * lack is noted by jsonmem) and the log. */
static void reload_error(json_t *errors, const char *msg)
{
    json_array_append_new(errors, json_string(msg));
}

/* One worker's sockets for the addresses of nc that the running config
 * does not listen on (-1 at the kept ones), or for every address (all:
 * a resume).  false with the reason in
 * errors; what was opened stays in fds for the caller to close. */
static bool reload_sockets(struct h2g_process *p, const struct h2g_config *nc, int *fds, bool all, json_t *errors)
{
    const struct h2g_config *oc = p->config;
    for (size_t i = 0; i < nc->n_listen; i++)
        fds[i] = -1;
    for (size_t i = 0; i < nc->n_listen; i++) {
        bool kept = false;
        for (size_t j = 0; j < oc->n_listen && !all; j++)
            if (same_addr(&oc->listen[j].addr, &nc->listen[i].addr))
                kept = true;
        if (kept)
            continue;
        fds[i] = listen_socket(p, &nc->listen[i]);
        if (fds[i] < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s: cannot listen on %s", p->config_path, nc->listen[i].text);
            reload_error(errors, msg);
            return false;
        }
    }
    return true;
}

/* New sockets for new addresses, in every worker, and everything the
 * workers need to switch, before anything changes: a taken port or a
 * lack of memory fails the reload, not half of it.  One job per worker,
 * or NULL with the reasons in errors and nothing left open. */
static struct h2g_worker_apply **reload_prepare(struct h2g_process *p, struct h2g_config *nc, bool all, json_t *errors)
{
    int **fds = calloc(p->n_workers, sizeof(*fds));
    struct h2g_worker_apply **jobs = calloc(p->n_workers, sizeof(*jobs));
    bool ok = fds != NULL && jobs != NULL;
    if (!ok)
        reload_error(errors, "out of memory");
    for (unsigned w = 0; w < p->n_workers && ok; w++) {
        fds[w] = malloc((nc->n_listen ? nc->n_listen : 1) * sizeof(int));
        if (fds[w] == NULL) {
            reload_error(errors, "out of memory");
            ok = false;
            break;
        }
        if (!reload_sockets(p, nc, fds[w], all, errors)) {
            ok = false;
            break;
        }
        /* The job owns the worker's sockets from now on. */
        if ((jobs[w] = worker_apply_new(p->workers[w], nc, fds[w])) != NULL) {
            fds[w] = NULL;
        } else {
            reload_error(errors, "out of memory");
            ok = false;
        }
    }
    if (!ok) {
        for (unsigned w = 0; w < p->n_workers; w++) {
            if (jobs != NULL && jobs[w] != NULL)
                worker_apply_cancel(jobs[w]);
            for (size_t i = 0; fds != NULL && fds[w] != NULL && i < nc->n_listen; i++)
                if (fds[w][i] >= 0)
                    close(fds[w][i]);
            if (fds != NULL)
                free(fds[w]);
        }
        free(jobs);
        jobs = NULL;
    }
    free(fds);
    return jobs;
}

/* A reload's outcome: counted for status, logged, told to systemd. */
static void reload_outcome(struct h2g_process *p, int rc, json_t *errors)
{
    p->reloads++;
    p->last_reload = rc == 0 ? 1 : -1;
    if (rc == 0) {
        LOG_INFO("configuration reloaded");
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e) LOG_ERROR("reload failed: %s", json_string_value(e));
        LOG_ERROR("reload failed: the running configuration stays");
    }
    sd_notifyf(0, "READY=1\nSTATUS=%s", rc == 0 ? "configuration reloaded" : "reload failed; running the previous configuration");
}

int process_reload(struct h2g_process *p, json_t *errors)
{
    if (p->stopping) {
        json_array_append_new(errors, json_string("shutting down"));
        return -1;
    }
    sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
    LOG_INFO("reloading %s", p->config_path);
    struct h2g_config *nc = build_snapshot(p->config_path, p->tickets, errors);
    int rc = -1;
    char sha[65];
    if (nc == NULL)
        goto done;
    if (file_sha256(p->config_path, sha) != 0) {
        reload_error(errors, "out of memory");
        goto done;
    }
    const struct h2g_config *oc = p->config;
    if (nc->workers != oc->workers || !streq(nc->user, oc->user) || !streq(nc->control_socket, oc->control_socket) ||
        !streq(nc->metrics_listen_text, oc->metrics_listen_text))
        LOG_WARN("reload: workers, user, control.socket and metrics.listen take effect at the next restart");
    route_metrics_prepare(p, nc);
    struct h2g_worker_apply **jobs = reload_prepare(p, nc, false, errors);
    if (jobs == NULL)
        goto done;
    for (unsigned w = 0; w < p->n_workers; w++)
        worker_apply_post(jobs[w]);
    free(jobs);
    bool access_changed = !streq(nc->log_access, oc->log_access);
    h2g_config_unref(p->config);
    p->config = nc;
    nc = NULL;
    h2g_log_set_level(p->config->log_level);
    if (access_changed)
        reopen_access_log(p);
    memcpy(p->config_sha256, sha, sizeof(sha));
    ticket_sync_refresh(p->tickets); /* the keys are re-read as a file's are */
    rc = 0;
done:
    h2g_config_unref(nc);
    reload_outcome(p, rc, errors);
    return rc;
}

/* --- drain and resume (h2gatectl drain / resume) --- */

int process_drain(struct h2g_process *p, json_t *errors)
{
    if (p->stopping) {
        reload_error(errors, "shutting down");
        return -1;
    }
    if (p->drained)
        return 0;
    for (unsigned w = 0; w < p->n_workers; w++) {
        if (worker_request_drain(p->workers[w]) != 0) {
            /* Nothing drained yet: fail.  Some drained: the state is
             * draining (a resume reopens every worker's sockets). */
            reload_error(errors, "out of memory");
            if (w == 0)
                return -1;
            LOG_ERROR("h2gatectl drain: out of memory: worker %u still accepting", w);
        }
    }
    p->drained = true;
    LOG_INFO("h2gatectl drain: listeners closed, sessions finish; the process stays up (h2gatectl resume)");
    sd_notify(0, "STATUS=drained: not accepting (h2gatectl resume)");
    return 0;
}

int process_resume(struct h2g_process *p, json_t *errors)
{
    if (p->stopping) {
        reload_error(errors, "shutting down");
        return -1;
    }
    if (!p->drained)
        return 0;
    /* New sockets for every address of the running configuration, by the
     * reload's path: a port taken meanwhile fails the resume as a whole. */
    struct h2g_worker_apply **jobs = reload_prepare(p, p->config, true, errors);
    if (jobs == NULL) {
        LOG_ERROR("h2gatectl resume failed: still drained");
        return -1;
    }
    for (unsigned w = 0; w < p->n_workers; w++)
        worker_resume_post(jobs[w]);
    free(jobs);
    p->drained = false;
    LOG_INFO("h2gatectl resume: accepting again");
    sd_notify(0, "STATUS=serving");
    return 0;
}

const char *process_state(const struct h2g_process *p)
{
    return p->stopping ? "stopping" : p->drained ? "draining" : "serving";
}

json_t *process_check(struct h2g_process *p, const char *path)
{
    json_t *errors = json_array();
    struct h2g_config *nc = build_snapshot(path, NULL, errors);
    json_t *r = json_object();
    json_object_set_new(r, "valid", json_boolean(nc != NULL));
    json_object_set_new(r, "errors", errors);
    if (nc != NULL) {
        json_object_set_new(r, "diff", config_diff(p->config, nc));
        h2g_config_unref(nc);
    }
    return r;
}

/* --- status --- */

void process_stats(struct h2g_process *p, struct h2g_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < p->n_workers; i++)
        h2g_stats_sum(out, &p->workers[i]->svc.stats);
}

void process_stat_families_json(json_t *o, const struct h2g_stats *st)
{
    for (unsigned i = 0; i < H2G_STAT_FAMILIES; i++) {
        const struct h2g_stat_family *f = &h2g_stat_families[i];
        const uint64_t *v = h2g_stat_family_values(st, f);
        json_t *fo = json_object();
        for (unsigned j = 0; j < f->n; j++)
            json_object_set_new(fo, f->names[j], json_integer((json_int_t)v[j]));
        json_object_set_new(o, f->json, fo);
    }
}

json_t *process_status_json(struct h2g_process *p)
{
    struct h2g_stats st;
    process_stats(p, &st);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
    json_object_set_new(o, "pid", json_integer(getpid()));
    json_object_set_new(o, "uptime_s", json_integer((json_int_t)((h2g_mono_ms() - p->start_ms) / 1000)));
    json_object_set_new(o, "config_file", json_string(p->config_path));
    json_object_set_new(o, "config_sha256", json_string(p->config_sha256));
    json_object_set_new(o, "workers", json_integer(p->n_workers));
    json_t *ls = json_array();
    for (size_t i = 0; i < p->config->n_listen; i++) {
        const struct h2g_listen_config *l = &p->config->listen[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "address", json_string(l->text));
        json_object_set_new(lo, "tls", json_boolean(l->tls != NULL));
        json_t *pr = json_array();
        if (l->h2)
            json_array_append_new(pr, json_string("h2"));
        if (l->http11)
            json_array_append_new(pr, json_string("http/1.1"));
        json_object_set_new(lo, "protocols", pr);
        json_array_append_new(ls, lo);
    }
    json_object_set_new(o, "listeners", ls);
    json_object_set_new(o, "connections", json_integer((json_int_t)st.connections_open));
    json_object_set_new(o, "sessions", json_pack("{sIsIsI}", "h2", (json_int_t)st.sessions_open[0], "h2c",
                                                 (json_int_t)st.sessions_open[1], "http/1.1",
                                                 (json_int_t)st.sessions_open[2]));
    json_object_set_new(o, "streams", json_integer((json_int_t)st.streams_open));
    json_object_set_new(o, "tunnels", json_integer((json_int_t)st.tunnels_open));
    json_object_set_new(o, "upstream_connections", json_pack("{sIsI}", "open", (json_int_t)st.upstream_open,
                                                             "idle", (json_int_t)st.upstream_idle));
    json_object_set_new(o, "reloads", json_integer(p->reloads));
    json_object_set_new(o, "last_reload",
                        json_string(p->last_reload == 0 ? "none" : p->last_reload > 0 ? "ok" : "failed"));
    json_object_set_new(o, "state", json_string(process_state(p)));
    json_object_set_new(o, "draining", json_boolean(p->stopping || p->drained));
    process_stat_families_json(o, &st);
    return o;
}

/* --- gathering from workers --- */

/* One worker's share of a gather, and the message that asks for it. */
struct gather_part {
    struct h2g_mail mail;
    struct gather *g;
    struct h2g_worker *w;
    json_t *json;      /* NULL: out of memory */
};

struct gather {
    struct h2g_process *p;
    int kind;
    uint64_t only_id;
    unsigned pending;
    struct gather_part *parts;
    struct h2g_mail done_mail;
    void (*done)(json_t *result, void *arg);
    void *arg;
};

/* A part missing (out of memory) fails the whole answer, which would
 * otherwise say some sessions do not exist. */
static void gather_done_cb(void *arg)
{
    struct gather *g = arg;
    jsonmem_begin();
    json_t *all = json_array();
    for (unsigned i = 0; i < g->p->n_workers; i++) {
        if (g->parts[i].json == NULL || json_array_extend(all, g->parts[i].json) != 0) {
            json_decref(all);
            all = NULL;
        }
        json_decref(g->parts[i].json);
    }
    if (jsonmem_failed()) {
        json_decref(all);
        all = NULL;
    }
    g->done(all, g->arg);
    free(g->parts);
    free(g);
}

static void gather_worker_cb(void *arg)
{
    struct gather_part *part = arg;
    struct gather *g = part->g;
    jsonmem_begin();
    part->json = g->kind == 0   ? introspect_sessions(part->w, g->only_id)
                 : g->kind == 1 ? introspect_tunnels(part->w)
                 : g->kind == 2 ? introspect_upstreams(part->w)
                                : introspect_live(part->w, (size_t)g->only_id);
    if (jsonmem_failed()) {
        json_decref(part->json);
        part->json = NULL;
    }
    if (__atomic_sub_fetch(&g->pending, 1, __ATOMIC_ACQ_REL) == 0)
        mailbox_post(&g->p->mailbox, &g->done_mail, gather_done_cb, g);
}

int process_gather(struct h2g_process *p, int kind, uint64_t only_id, void (*done)(json_t *result, void *arg),
                   void *arg)
{
    if (p->stopping)
        return -1;
    struct gather *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -1;
    g->parts = calloc(p->n_workers, sizeof(*g->parts));
    if (g->parts == NULL) {
        free(g);
        return -1;
    }
    g->p = p;
    g->kind = kind;
    g->only_id = only_id;
    g->done = done;
    g->arg = arg;
    g->pending = p->n_workers;
    for (unsigned i = 0; i < p->n_workers; i++) {
        g->parts[i].g = g;
        g->parts[i].w = p->workers[i];
    }
    /* Every part is set up before the first is posted: the last worker
     * to answer frees g. */
    for (unsigned i = 0; i < p->n_workers; i++)
        mailbox_post(&p->workers[i]->mailbox, &g->parts[i].mail, gather_worker_cb, &g->parts[i]);
    return 0;
}

/* --- signals and lifecycle --- */

#ifdef H2G_FAILALLOC
#define N_SIGNALS 5
#else
#define N_SIGNALS 4
#endif

void process_stop(struct h2g_process *p, const char *why)
{
    if (p->stopping)
        return;
    p->stopping = true;
    LOG_INFO("%s: graceful shutdown (up to %llu ms)", why, (unsigned long long)p->config->timeouts.shutdown);
    sd_notify(0, "STOPPING=1\nSTATUS=draining");
    for (unsigned i = 0; i < p->n_workers; i++)
        worker_request_stop(p->workers[i]);
    /* The main loop ends now; main joins the workers, which exit once
     * their connections are done or timeouts.shutdown passed. */
    event_base_loopexit(p->base, NULL);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    char why[32];
    snprintf(why, sizeof(why), "signal %d", (int)sig);
    process_stop(arg, why);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    json_t *errors = json_array();
    process_reload(arg, errors);
    json_decref(errors);
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
    LOG_INFO("SIGUSR1: reopening the access log");
    reopen_access_log(arg);
}

#ifdef H2G_FAILALLOC
/* The allocation sweep arms the next failure once the scenario's setup
 * is done (failalloc.h). */
static void on_usr2(evutil_socket_t sig, short what, void *arg)
{
    failalloc_rearm();
}
#endif

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_process *p = arg;
    struct h2g_stats st;
    process_stats(p, &st);
    sd_notifyf(0, "STATUS=%llu connections, %llu streams, %llu tunnels, %llu requests served",
               (unsigned long long)st.connections_open, (unsigned long long)st.streams_open,
               (unsigned long long)st.tunnels_open, (unsigned long long)st.requests_total);
}

static int drop_privileges(const char *user)
{
    if (user == NULL || user[0] == '\0')
        return 0;
    if (geteuid() != 0) {
        LOG_WARN("user: %s ignored: not started as root", user);
        return 0;
    }
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        LOG_ERROR("user: no such user '%s'", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        LOG_ERROR("user: cannot switch to %s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        LOG_ERROR("user: privileges could be regained after switching to %s", user);
        return -1;
    }
    LOG_INFO("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return 0;
}

int process_test(const char *path)
{
    struct h2g_config *c = build_snapshot(path, NULL, NULL);
    if (c == NULL)
        return 1;
    printf("%s: configuration ok\n", path);
    h2g_config_unref(c);
    return 0;
}

/* The first snapshot, the log as it asks, and its file's hash.  false
 * with the errors said. */
static bool load_first_config(struct h2g_process *p, const char *path)
{
    char abs[PATH_MAX];
    p->config_path = strdup(realpath(path, abs) != NULL ? abs : path);
    p->start_ms = h2g_mono_ms();
    p->tickets = ticket_sync_new();
    p->config = p->config_path != NULL && p->tickets != NULL ? build_snapshot(p->config_path, p->tickets, NULL)
                                                              : NULL;
    if (p->config_path == NULL || p->tickets == NULL)
        LOG_ERROR("out of memory");
    if (p->config == NULL)
        return false;
    h2g_log_set_level(p->config->log_level);
    h2g_log_init();
    if (file_sha256(p->config_path, p->config_sha256) != 0) {
        LOG_ERROR("out of memory");
        return false;
    }
    return true;
}

/* systemd socket activation: takes the inherited sockets, which
 * listen_socket uses for the entries with their addresses.  0, or -1
 * logged. */
static int adopt_activated_sockets(struct h2g_process *p)
{
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    if (n <= 0)
        return 0;
    p->n_activated = n;
    p->activated_names = names;
    p->activated_fds = calloc((size_t)n, sizeof(int));
    if (p->activated_fds == NULL) {
        LOG_ERROR("socket activation: out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        p->activated_fds[i] = SD_LISTEN_FDS_START + i;
    LOG_INFO("socket activation: %d socket(s) from systemd", n);
    return 0;
}

/* Every worker's listening sockets into fds (n_workers rows of
 * n_listen; -1 where none was opened).  0, or -1 logged. */
static int bind_listeners(struct h2g_process *p, int *fds)
{
    size_t nl = p->config->n_listen;
    for (size_t i = 0; i < (size_t)p->n_workers * nl; i++)
        fds[i] = -1;
    for (unsigned w = 0; w < p->n_workers; w++)
        for (size_t i = 0; i < nl; i++)
            if ((fds[w * nl + i] = listen_socket(p, &p->config->listen[i])) < 0)
                return -1;
    return 0;
}

/* The control socket and the metrics listener, where configured,
 * opened while privileges are still held.  0 or -1. */
static int open_control_and_metrics(struct h2g_process *p)
{
    if (p->config->control_socket != NULL && p->config->control_socket[0] != '\0') {
        p->control = control_new(p, p->config->control_socket);
        if (p->control == NULL)
            return -1;
    }
    if (p->config->metrics_listen_text != NULL && p->config->metrics_listen_text[0] != '\0') {
        p->metrics = metrics_new(p, &p->config->metrics_listen);
        if (p->metrics == NULL)
            return -1;
    }
    return 0;
}

/* The workers, each given its row of fds.  0, or -1 logged. */
static int create_workers(struct h2g_process *p, int *fds)
{
    size_t nl = p->config->n_listen;
    for (unsigned w = 0; w < p->n_workers; w++) {
        p->workers[w] = worker_new(w, p->config, fds + (size_t)w * nl, p->access_fd);
        if (p->workers[w] == NULL) {
            LOG_ERROR("cannot start worker %u", w);
            return -1;
        }
    }
    route_metrics_prepare(p, p->config);
    return 0;
}

static int install_signals(struct h2g_process *p, struct event *sig[N_SIGNALS])
{
    sig[0] = evsignal_new(p->base, SIGTERM, on_stop_signal, p);
    sig[1] = evsignal_new(p->base, SIGINT, on_stop_signal, p);
    sig[2] = evsignal_new(p->base, SIGHUP, on_hup, p);
    sig[3] = evsignal_new(p->base, SIGUSR1, on_usr1, p);
#ifdef H2G_FAILALLOC
    sig[4] = evsignal_new(p->base, SIGUSR2, on_usr2, p);
#endif
    for (int i = 0; i < N_SIGNALS; i++) {
        if (sig[i] == NULL || evsignal_add(sig[i], NULL) != 0) {
            LOG_ERROR("cannot install the signal handlers");
            return -1;
        }
    }
    return 0;
}

/* Says the daemon is serving: in the log and to systemd. */
static void announce_start(struct h2g_process *p)
{
    for (size_t i = 0; i < p->config->n_listen; i++) {
        const struct h2g_listen_config *l = &p->config->listen[i];
        LOG_INFO("listening on %s (%s%s%s)", l->text, l->tls ? "tls" : "cleartext", l->h2 ? ", h2" : "",
                 l->http11 ? ", http/1.1" : "");
    }
    LOG_INFO("h2gate %s started with %u worker(s)", PACKAGE_VERSION, p->n_workers);
    sd_notifyf(0, "READY=1\nMAINPID=%lu\nSTATUS=serving with %u worker(s)", (unsigned long)getpid(), p->n_workers);
    if (getenv("NOTIFY_SOCKET") != NULL) {
        /* Without it systemd shows the READY status only. */
        p->status_ev = event_new(p->base, -1, EV_PERSIST, status_cb, p);
        struct timeval tv = {5, 0};
        if (p->status_ev != NULL)
            event_add(p->status_ev, &tv);
    }
}

/* Frees whatever process_run got to set up: fds are the sockets not
 * yet handed to workers (NULL when none), sig the signal events. */
static void process_teardown(struct h2g_process *p, int *fds, struct event *sig[N_SIGNALS])
{
    if (fds != NULL) {
        for (size_t i = 0; i < (size_t)p->n_workers * (p->config ? p->config->n_listen : 0); i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(fds);
    }
    for (int i = 0; i < N_SIGNALS; i++)
        if (sig[i])
            event_free(sig[i]);
    if (p->status_ev)
        event_free(p->status_ev);
    control_free(p->control);
    metrics_free(p->metrics);
    if (p->workers != NULL) {
        for (unsigned w = 0; w < p->n_workers; w++)
            worker_free(p->workers[w]);
        free(p->workers);
    }
    sockread_thread_release();
    h2g_block_thread_release(); /* what the workers' teardown freed here */
    if (p->access_fd >= 0)
        close(p->access_fd);
    for (int i = 0; i < p->n_activated; i++) {
        if (p->activated_fds)
            close(p->activated_fds[i]);
        if (p->activated_names)
            free(p->activated_names[i]);
    }
    free(p->activated_fds);
    free(p->activated_names);
    mailbox_clear(&p->mailbox);
    h2g_config_unref(p->config);
    p->config = NULL;
    ticket_sync_free(p->tickets);
    h2g_route_labels_free(&p->route_labels);
    if (p->base)
        event_base_free(p->base);
    free(p->config_path);
}

int process_run(const char *path)
{
    struct h2g_process proc = {.access_fd = -1, .mailbox = {.efd = -1}};
    struct h2g_process *p = &proc;
    int rc = 1;
    int *fds = NULL;
    struct event *sig[N_SIGNALS] = {NULL};
    if (!load_first_config(p, path))
        goto out;

    signal(SIGPIPE, SIG_IGN);
    /* No evthread_use_pthreads(): threads talk only through mailboxes,
     * so libevent needs no locks. */
    p->base = event_base_new();
    if (p->base == NULL || mailbox_init(&p->mailbox, p->base) != 0 || ticket_sync_start(p->tickets, p->base) != 0)
        goto out;
    p->n_workers = p->config->workers;
    if (p->n_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p->n_workers = n > H2G_MAX_WORKERS ? H2G_MAX_WORKERS : n > 0 ? (unsigned)n : 1;
    }
    if (adopt_activated_sockets(p) != 0)
        goto out;
    p->access_fd = open_access_log(p->config->log_access);
    if (p->access_fd == -2)
        goto out;

    /* Bind everything before any thread starts: a taken port is a clean
     * startup error. */
    size_t n_fds = (size_t)p->n_workers * p->config->n_listen;
    fds = malloc(n_fds * sizeof(int));
    /* -1 before anything can fail: process_teardown closes what is not. */
    for (size_t i = 0; fds != NULL && i < n_fds; i++)
        fds[i] = -1;
    p->workers = calloc(p->n_workers, sizeof(*p->workers));
    if (fds == NULL || p->workers == NULL)
        goto out;
    /* The control socket and the metrics listener first: once a client
     * port answers, h2gatectl and /metrics do too (what a script or a
     * test that waits for the port then uses). */
    if (open_control_and_metrics(p) != 0 || bind_listeners(p, fds) != 0)
        goto out;
    if (drop_privileges(p->config->user) != 0 || create_workers(p, fds) != 0)
        goto out;
    free(fds);
    fds = NULL;
    if (install_signals(p, sig) != 0)
        goto out;
    for (unsigned w = 0; w < p->n_workers; w++)
        worker_start(p->workers[w]);
    announce_start(p);

    event_base_dispatch(p->base);

    control_free(p->control);
    p->control = NULL;
    metrics_free(p->metrics);
    p->metrics = NULL;
    for (unsigned w = 0; w < p->n_workers; w++)
        worker_join(p->workers[w]);
    LOG_INFO("stopped");
    rc = 0;
out:
    process_teardown(p, fds, sig);
    return rc;
}
