#include "process/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "process/config_json.h"
#include "runtime/evbuf.h"
#include "runtime/evmem.h"
#include "runtime/jsonmem.h"
#include "runtime/log.h"
#include "process/process.h"
#include "runtime/sockread.h"
#include "runtime/stats.h"
#include "process/route_metrics.h"

/* A request line longer than this is not ours: the client is dropped. */
#define MAX_LINE (64 * 1024)

struct client {
    LIST_ENTRY(client) link;
    struct h2g_control *ctl;
    struct bufferevent *bev;
    bool busy;    /* waiting for the workers: further lines wait */
    bool gone;    /* the peer left while busy: free when the answer comes */
    bool one;     /* the pending gather is "session ID": unwrap one object */
    bool drop;    /* an answer could not be queued: freed once out of our callbacks */
};

struct h2g_control {
    struct h2g_process *p;
    struct evconnlistener *l;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    LIST_HEAD(, client) clients;
};

static void client_read_cb(struct bufferevent *bev, void *arg);

static void client_free(struct client *cl)
{
    LIST_REMOVE(cl, link);
    bufferevent_free(cl->bev);
    free(cl);
}

static const char nomem_line[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";

/*
 * Queues msg (taken) as one line.  What was made while jansson lost an
 * allocation may lack a part (jsonmem.h): "out of memory" goes instead,
 * as for a NULL msg.  A client that cannot be given even that is
 * dropped: it must never wait for an answer that is not coming.
 */
static void reply(struct client *cl, json_t *msg)
{
    char *s = msg != NULL && !jsonmem_failed() ? json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(msg);
    if (s != NULL && jsonmem_failed()) {
        free(s);
        s = NULL;
    }
    struct evbuf_piece line[2] = {{nomem_line, sizeof(nomem_line) - 1}, {"\n", 1}};
    if (s != NULL)
        line[0] = (struct evbuf_piece){s, strlen(s)};
    if (evbuf_add_all(bufferevent_get_output(cl->bev), line, s != NULL ? 2 : 1) != 0) {
        LOG_WARN("control: out of memory: client dropped");
        cl->drop = true;
    }
    free(s);
}

static void reply_ok(struct client *cl, json_t *result)
{
    reply(cl, result != NULL ? json_pack("{sbso}", "ok", 1, "result", result) : NULL);
}

static void reply_err(struct client *cl, const char *err, json_t *errors)
{
    json_t *m = json_pack("{sbss}", "ok", 0, "error", err);
    if (errors != NULL)
        json_object_set_new(m, "errors", errors);
    reply(cl, m);
}

static json_t *stats_json(struct h2g_process *p)
{
    struct h2g_stats st;
    process_stats(p, &st);
    json_t *c = json_object();
    json_object_set_new(c, "connections_total", json_integer((json_int_t)st.connections_total));
    json_object_set_new(c, "requests_total", json_integer((json_int_t)st.requests_total));
    json_object_set_new(c, "responses",
                        json_pack("{sIsIsIsIsIsI}", "1xx", (json_int_t)st.responses[1], "2xx",
                                  (json_int_t)st.responses[2], "3xx", (json_int_t)st.responses[3], "4xx",
                                  (json_int_t)st.responses[4], "5xx", (json_int_t)st.responses[5], "reset",
                                  (json_int_t)st.responses[0]));
    json_object_set_new(c, "upstream_errors", json_integer((json_int_t)st.upstream_errors));
    json_object_set_new(c, "upstream_connect_errors", json_integer((json_int_t)st.upstream_connect_errors));
    json_object_set_new(c, "upstream_timeouts", json_integer((json_int_t)st.upstream_timeouts));
    json_object_set_new(c, "tunnels_total", json_integer((json_int_t)st.tunnels_total));
    json_object_set_new(c, "tunnel_bytes_up", json_integer((json_int_t)st.tunnel_bytes_up));
    json_object_set_new(c, "tunnel_bytes_down", json_integer((json_int_t)st.tunnel_bytes_down));
    json_object_set_new(c, "bytes_in", json_integer((json_int_t)st.bytes_in));
    json_object_set_new(c, "bytes_out", json_integer((json_int_t)st.bytes_out));
    json_object_set_new(c, "refused_streams", json_integer((json_int_t)st.refused_streams));
    json_object_set_new(c, "goaways", json_integer((json_int_t)st.goaways));
    json_object_set_new(c, "reloads", json_integer(p->reloads));
    process_stat_families_json(c, &st);
    json_t *h = json_pack("{so}", "request_duration_seconds", hist_json(st.hist, st.hist_sum_us));
    return json_pack("{soso}", "counters", c, "histograms", h);
}

static void gathered(json_t *result, void *arg)
{
    struct client *cl = arg;
    cl->busy = false;
    if (cl->gone) {
        json_decref(result);
        client_free(cl);
        return;
    }
    if (result == NULL) {
        reply(cl, NULL);
    } else if (cl->one) {
        json_t *s = json_array_get(result, 0);
        if (s == NULL)
            reply_err(cl, "no such session", NULL);
        else
            reply_ok(cl, json_incref(s));
        json_decref(result);
    } else {
        reply_ok(cl, result);
    }
    if (cl->drop) {
        client_free(cl);
        return;
    }
    /* Lines that arrived meanwhile. */
    client_read_cb(cl->bev, cl);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    process_stop(arg, "h2gatectl drain --exit");
}

/* drain --exit: stop (as SIGTERM) once the answer is on its way; drain:
 * stop accepting and stay up; resume: accept again. */
static void handle_drain(struct client *cl, json_t *req, const char *cmd)
{
    struct h2g_process *p = cl->ctl->p;
    bool drain = strcmp(cmd, "drain") == 0;
    if (drain && json_is_true(json_object_get(req, "exit"))) {
        reply_ok(cl, json_pack("{sbsbss}", "draining", 1, "exit", 1, "state", "stopping"));
        struct timeval tv = {0, 50000};
        event_base_once(p->base, -1, EV_TIMEOUT, stop_cb, p, &tv);
        return;
    }
    json_t *errors = json_array();
    if ((drain ? process_drain(p, errors) : process_resume(p, errors)) == 0) {
        json_decref(errors);
        reply_ok(cl, json_pack("{sbss}", "draining", drain, "state", process_state(p)));
    } else {
        reply_err(cl, drain ? "drain failed" : "resume failed; still drained", errors);
    }
}

static void handle(struct client *cl, const char *line)
{
    struct h2g_process *p = cl->ctl->p;
    json_error_t jerr;
    /* One request, one check of jansson's allocations (jsonmem.h): a
     * request read short, or an answer with a hole, is never used. */
    jsonmem_begin();
    json_t *req = json_loads(line, 0, &jerr);
    if (jsonmem_failed()) {
        json_decref(req);
        reply(cl, NULL);
        return;
    }
    const char *cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
    if (cmd == NULL) {
        reply_err(cl, req ? "missing \"cmd\"" : "invalid JSON", NULL);
        json_decref(req);
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        reply_ok(cl, process_status_json(p));
    } else if (strcmp(cmd, "sessions") == 0 || strcmp(cmd, "session") == 0 || strcmp(cmd, "tunnels") == 0 ||
               strcmp(cmd, "upstreams") == 0) {
        uint64_t id = 0;
        cl->one = strcmp(cmd, "session") == 0;
        if (cl->one) {
            json_t *jid = json_object_get(req, "id");
            id = json_is_integer(jid) ? (uint64_t)json_integer_value(jid)
                 : json_is_string(jid) ? strtoull(json_string_value(jid), NULL, 10)
                                       : 0;
            if (id == 0) {
                reply_err(cl, "session needs a numeric \"id\"", NULL);
                json_decref(req);
                return;
            }
        }
        cl->busy = true;
        int kind = strcmp(cmd, "tunnels") == 0 ? 1 : strcmp(cmd, "upstreams") == 0 ? 2 : 0;
        if (process_gather(p, kind, id, gathered, cl) != 0) {
            cl->busy = false;
            reply_err(cl, p->stopping ? "shutting down" : "out of memory", NULL);
        }
    } else if (strcmp(cmd, "stats") == 0) {
        reply_ok(cl, stats_json(p));
    } else if (strcmp(cmd, "reload") == 0) {
        json_t *errors = json_array();
        if (process_reload(p, errors) == 0) {
            json_decref(errors);
            reply_ok(cl, json_pack("{sb}", "reloaded", 1));
        } else {
            reply_err(cl, "reload failed; the running configuration stays", errors);
        }
    } else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "resume") == 0) {
        handle_drain(cl, req, cmd);
    } else if (strcmp(cmd, "check") == 0) {
        const char *file = json_string_value(json_object_get(req, "file"));
        if (file == NULL) {
            reply_err(cl, "check needs a \"file\"", NULL);
        } else {
            json_t *r = process_check(p, file);
            if (json_is_true(json_object_get(r, "valid"))) {
                reply_ok(cl, r);
            } else {
                reply_err(cl, "invalid configuration", json_incref(json_object_get(r, "errors")));
                json_decref(r);
            }
        }
    } else if (strcmp(cmd, "config") == 0) {
        reply_ok(cl, config_to_json(p->config));
    } else {
        reply_err(cl, "unknown command", NULL);
    }
    json_decref(req);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!cl->busy && !cl->drop) {
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
        if (line == NULL) {
            /* NULL also when the line is there but could not be copied
             * (out of memory): answered, not left waiting. */
            struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
            if (eol.pos < 0)
                break;
            evbuffer_drain(in, (size_t)eol.pos + 1);
            reply(cl, NULL);
            continue;
        }
        if (n > 0)
            handle(cl, line);
        h2g_evmem_free(line); /* libevent's allocation (evmem.h) */
    }
    if (cl->drop && !cl->busy) {
        client_free(cl);
        return;
    }
    if (evbuffer_get_length(in) > MAX_LINE) {
        LOG_WARN("control: request too long, client dropped");
        if (cl->busy)
            cl->gone = true, bufferevent_disable(bev, EV_READ);
        else
            client_free(cl);
    }
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct client *cl = arg;
    if (cl->busy) {
        cl->gone = true;
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        return;
    }
    client_free(cl);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct h2g_control *ctl = arg;
    struct client *cl = calloc(1, sizeof(*cl));
    if (cl == NULL) {
        close(fd);
        return;
    }
    cl->ctl = ctl;
    cl->bev = sockwrite_bufferevent_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    if (cl->bev == NULL) {
        close(fd);
        free(cl);
        return;
    }
    LIST_INSERT_HEAD(&ctl->clients, cl, link);
    bufferevent_setcb(cl->bev, client_read_cb, NULL, client_event_cb, cl);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

/*
 * Makes the socket's directory when it is missing: outside systemd nobody
 * made /run/h2gate (the unit's RuntimeDirectory= does).  Mode 0750 as the
 * unit's; owned by `user` when the daemon runs as root and drops to it,
 * so that it can still remove its socket at exit.  Only the last
 * component is made: a missing parent is more likely a mistyped path than
 * something to create as root.  0, or -1 (logged).
 */
static int make_socket_dir(const char *path, const char *user)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0; /* the current directory, or / */
    *slash = '\0';
    if (mkdir(dir, 0700) != 0) {
        if (errno == EEXIST)
            return 0; /* the operator's: left as it is */
        LOG_ERROR("control.socket %s: cannot create the directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    const struct passwd *pw = NULL;
    if (user != NULL && user[0] != '\0' && geteuid() == 0)
        pw = getpwnam(user); /* none: the privilege drop reports it */
    /* Opened to 0750 only once owned, and by chmod: the umask must not
     * decide the group's access. */
    if ((pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) != 0) || chmod(dir, 0750) != 0) {
        LOG_ERROR("control.socket %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    LOG_INFO("control.socket: created the directory %s (mode 0750%s%s)", dir, pw != NULL ? ", owner " : "",
             pw != NULL ? pw->pw_name : "");
    return 0;
}

struct h2g_control *control_new(struct h2g_process *p, const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        LOG_ERROR("control.socket %s: path too long", path);
        return NULL;
    }
    strcpy(sun.sun_path, path);
    if (make_socket_dir(path, p->config->user) != 0)
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        LOG_ERROR("control.socket: %s", strerror(errno));
        return NULL;
    }
    /* A socket file left by a previous run that nobody answers on is
     * stale; a live one means another h2gate uses it. */
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        LOG_ERROR("control.socket %s: another h2gate is listening there", path);
        close(fd);
        return NULL;
    }
    close(fd);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(077); /* mode 0600 from the start, no window */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || listen(fd, 64) != 0) {
        LOG_ERROR("control.socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    chmod(path, 0600);
    struct h2g_control *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->p = p;
    strcpy(c->path, path);
    LIST_INIT(&c->clients);
    c->l = evconnlistener_new(p->base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (c->l == NULL) {
        close(fd);
        free(c);
        return NULL;
    }
    return c;
}

void control_free(struct h2g_control *c)
{
    if (c == NULL)
        return;
    evconnlistener_free(c->l);
    unlink(c->path);
    struct client *cl;
    while ((cl = LIST_FIRST(&c->clients)) != NULL) {
        if (cl->busy) {
            /* Its gather will never come back (the workers are stopping):
             * let it go with the process. */
            LIST_REMOVE(cl, link);
            bufferevent_free(cl->bev);
            continue;
        }
        client_free(cl);
    }
    free(c);
}
