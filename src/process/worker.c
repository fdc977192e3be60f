#include "process/worker.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/blockcache.h"
#include "runtime/heap_trim.h"
#include "runtime/slab.h"
#include "edge/conn.h"
#include "runtime/log.h"
#include "runtime/sockread.h"
#include "stream/stream.h"
#include "upstream/tunnel.h"
#include "core/units.h"
#include "upstream/upstream_http1.h"
#include "upstream/upstream_dns.h"
#include "upstream/upstream_pool.h"

unsigned h2g_total_conns;

/* While max_connections is reached, accepting pauses; this often we look
 * again in case another worker freed a slot. */
#define ACCEPT_RECHECK_MS 100

/* The worker a services struct is embedded in. */
static struct h2g_worker *worker_of(struct h2g_services *svc)
{
    return (struct h2g_worker *)((char *)svc - offsetof(struct h2g_worker, svc));
}

static void set_accepting(struct h2g_worker *w, bool on)
{
    w->accept_paused = !on;
    if (on)
        w->limit_counted = false;
    for (size_t i = 0; i < w->n_listen; i++) {
        if (w->listeners[i] == NULL || w->listeners[i]->ev == NULL)
            continue;
        if (on)
            event_add(w->listeners[i]->ev, NULL);
        else
            event_del(w->listeners[i]->ev);
    }
    if (!on) {
        struct timeval tv = h2g_ms_timeval(ACCEPT_RECHECK_MS);
        evtimer_add(w->recheck_ev, &tv);
    }
}

static bool below_max(const struct h2g_worker *w)
{
    return __atomic_load_n(&h2g_total_conns, __ATOMIC_RELAXED) < w->svc.config->limits.max_connections;
}

/*
 * refusals{reason="max_connections"}: nobody is refused at the limit, a
 * client waits in the kernel's queue; counted is each pause of this
 * worker in which one did (its listening socket readable), once, however
 * long the pause and however many wait.  poll(2) with no timeout: the
 * loop does not wait.
 */
static void count_left_waiting(struct h2g_worker *w)
{
    if (w->limit_counted)
        return;
    struct pollfd pf[16];
    nfds_t n = 0;
    for (size_t i = 0; i < w->n_listen && n < 16; i++)
        if (w->listeners[i] != NULL)
            pf[n++] = (struct pollfd){.fd = w->listeners[i]->fd, .events = POLLIN};
    if (n == 0 || poll(pf, n, 0) <= 0)
        return;
    w->limit_counted = true;
    STAT_INC(&w->svc.stats, refusals[H2G_REFUSAL_MAX_CONNECTIONS]);
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_worker *w = arg;
    if (w->svc.draining)
        return;
    bool below = below_max(w);
    if (!below)
        count_left_waiting(w);
    set_accepting(w, below);
}

/* Connections accepted per readiness event at most: a burst on one
 * listener does not keep the worker from its other connections. */
#define ACCEPTS_PER_EVENT 64

/*
 * limits.max_connections holds across workers: a slot of the global
 * count is taken before accept(2), not after, so a worker at the limit
 * leaves the connection in the kernel's queue (where it waits, as
 * behind any full server) instead of serving one more.  Every worker's
 * listening socket is its own (SO_REUSEPORT), so each worker finds the
 * limit reached by itself, pauses, and looks again every
 * ACCEPT_RECHECK_MS, or at once when one of its own connections closes.
 */
static bool accept_some(struct h2g_worker_listener *wl);

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    accept_some(arg);
}

/* Accepts up to ACCEPTS_PER_EVENT connections: true when it stopped at
 * that count (more may be queued), false when the queue is empty or
 * accepting paused. */
static bool accept_some(struct h2g_worker_listener *wl)
{
    struct h2g_worker *w = wl->w;
    int lfd = wl->fd;
    unsigned max = w->svc.config->limits.max_connections;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        if (__atomic_add_fetch(&h2g_total_conns, 1, __ATOMIC_RELAXED) > max) {
            __atomic_sub_fetch(&h2g_total_conns, 1, __ATOMIC_RELAXED);
            if (!w->accept_paused)
                LOG_WARN("worker %u: max_connections (%u) reached: accepting paused", w->id, max);
            count_left_waiting(w);
            set_accepting(w, false);
            return false;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            __atomic_sub_fetch(&h2g_total_conns, 1, __ATOMIC_RELAXED);
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
                return false;
            if (err == ECONNABORTED || err == EPROTO)
                continue; /* gone before we took it */
            LOG_WARN("accept on %s: %s", wl->ctx->lc->text, strerror(err));
            /* Out of descriptors or memory: back off instead of spinning. */
            set_accepting(w, false);
            return false;
        }
        if (conn_new(&w->svc, wl->ctx, fd, (struct sockaddr *)&ss, (int)sl) == NULL) {
            __atomic_sub_fetch(&h2g_total_conns, 1, __ATOMIC_RELAXED);
            LOG_WARN("cannot set up a connection (out of memory?)");
        }
    }
    return true;
}

static void svc_conn_closed(struct h2g_services *svc)
{
    struct h2g_worker *w = worker_of(svc);
    __atomic_sub_fetch(&h2g_total_conns, 1, __ATOMIC_RELAXED);
    if (w->svc.draining) {
        if (w->svc.n_conns == 0)
            event_base_loopexit(w->svc.base, NULL);
        return;
    }
    if (w->accept_paused && below_max(w))
        set_accepting(w, true);
}

static void listener_free(struct h2g_worker_listener *wl)
{
    if (wl == NULL)
        return;
    if (wl->ev != NULL)
        event_free(wl->ev);
    if (wl->fd >= 0)
        close(wl->fd);
    free(wl);
}

static struct h2g_worker_listener *listener_new(struct h2g_worker *w, const struct h2g_listen_ctx *ctx, int fd)
{
    struct h2g_worker_listener *wl = calloc(1, sizeof(*wl));
    if (wl == NULL) {
        close(fd);
        return NULL;
    }
    wl->w = w;
    wl->ctx = ctx;
    wl->fd = fd;
    wl->ev = event_new(w->svc.base, fd, EV_READ | EV_PERSIST, accept_cb, wl);
    if (wl->ev == NULL || evutil_make_socket_nonblocking(fd) != 0 || (!w->accept_paused && event_add(wl->ev, NULL) != 0)) {
        listener_free(wl);
        return NULL;
    }
    return wl;
}

/* Before a drain closes the listeners: the connections the kernel has
 * already completed in their queues are taken and served (they drain
 * like the others), not reset by the close -- behind a balancer, those
 * are clients it sent here before its health check saw the drain. */
static void take_queued(struct h2g_worker *w)
{
    for (size_t i = 0; i < w->n_listen; i++) {
        struct h2g_worker_listener *wl = w->listeners[i];
        for (int round = 0; wl != NULL && round < 16 && accept_some(wl); round++)
            ;
    }
}

static void close_listeners(struct h2g_worker *w)
{
    for (size_t i = 0; i < w->n_listen; i++) {
        listener_free(w->listeners[i]);
        w->listeners[i] = NULL;
    }
}

static void stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_worker *w = arg;
    LOG_WARN("worker %u: shutdown timeout with %u connection(s) open: closing them", w->id, w->svc.n_conns);
    STAT_ADD(&w->svc.stats, timeouts[H2G_TIMEOUT_SHUTDOWN], w->svc.n_conns);
    w->svc.stop_forced = true;
    event_base_loopbreak(w->svc.base);
}

/* GOAWAY / Connection: close on every connection; they finish what
 * they were sent. */
static void drain_conns(struct h2g_worker *w)
{
    struct h2g_conn *c, *next;
    for (c = LIST_FIRST(&w->svc.conns); c != NULL; c = next) {
        next = LIST_NEXT(c, link);
        conn_drain(c);
    }
}

static void stop_cb(void *arg)
{
    struct h2g_worker *w = arg;
    if (w->svc.draining)
        return;
    take_queued(w);
    w->svc.draining = true;
    close_listeners(w);
    drain_conns(w);
    if (w->svc.n_conns == 0) {
        event_base_loopexit(w->svc.base, NULL);
        return;
    }
    uint64_t ms = w->svc.config->timeouts.shutdown;
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(w->stop_timer, &tv);
}

/* h2gatectl drain: as stop_cb, but the loop goes on with no listener. */
struct drain_job {
    struct h2g_mail mail;
    struct h2g_worker *w;
};

static void drain_cb(void *arg)
{
    struct drain_job *j = arg;
    struct h2g_worker *w = j->w;
    free(j);
    if (w->svc.draining || w->held)
        return;
    take_queued(w);
    w->held = true;
    close_listeners(w);
    drain_conns(w);
    LOG_INFO("worker %u: drained: listeners closed, %u connection(s) finishing", w->id, w->svc.n_conns);
}

int worker_request_drain(struct h2g_worker *w)
{
    struct drain_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->w = w;
    mailbox_post(&w->mailbox, &j->mail, drain_cb, j);
    return 0;
}

static void access_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_worker *w = arg;
    while (evbuffer_get_length(w->access_buf) > 0) {
        if (evbuffer_write(w->access_buf, w->access_fd) < 0 && errno != EINTR) {
            evbuffer_drain(w->access_buf, evbuffer_get_length(w->access_buf));
            break;
        }
    }
}

static bool svc_access_log_on(const struct h2g_services *svc)
{
    return worker_of((struct h2g_services *)svc)->access_fd >= 0;
}

static void svc_access_log(struct h2g_services *svc, const char *line, size_t len)
{
    struct h2g_worker *w = worker_of(svc);
    if (w->access_fd < 0)
        return;
    bool was_empty = evbuffer_get_length(w->access_buf) == 0;
    evbuffer_add(w->access_buf, line, len);
    if (was_empty)
        event_active(w->access_flush_ev, EV_TIMEOUT, 0);
}

/* Without its state a route takes its first upstream, as the routes of
 * older snapshots do: requests are still served.  Said once a snapshot. */
static struct h2g_balance *balance_lost(struct h2g_worker *w)
{
    if (!w->balance_lost) {
        w->balance_lost = true;
        LOG_WARN("worker %u: out of memory for round-robin state: routes use their first upstream", w->id);
    }
    return NULL;
}

static struct h2g_balance *svc_balance(struct h2g_services *svc, const struct h2g_route_config *r)
{
    struct h2g_worker *w = worker_of(svc);
    const struct h2g_config *c = w->svc.config;
    for (size_t oi = 0; oi < c->n_origins; oi++) {
        const struct h2g_origin_config *o = &c->origins[oi];
        if (r < o->routes || r >= o->routes + o->n_routes)
            continue;
        if (r->n_upstreams < 2)
            return NULL;
        size_t ri = (size_t)(r - o->routes);
        if (w->balance == NULL && (w->balance = calloc(c->n_origins, sizeof(*w->balance))) == NULL)
            return balance_lost(w);
        if (w->balance[oi] == NULL && (w->balance[oi] = calloc(o->n_routes, sizeof(struct h2g_balance))) == NULL)
            return balance_lost(w);
        struct h2g_balance *b = &w->balance[oi][ri];
        if (b->n == 0 && h2g_balance_init(b, r->n_upstreams) != 0)
            return balance_lost(w);
        return b;
    }
    return NULL; /* a route of an older snapshot: plain first choice */
}

struct h2g_listen_ctx *worker_listen_ctxs(const struct h2g_config *c)
{
    const struct h2g_snapshot_attachment *a = c->attachment;
    return a->listen;
}

static void balance_free(struct h2g_worker *w)
{
    if (w->balance == NULL)
        return;
    for (size_t oi = 0; oi < w->svc.config->n_origins; oi++) {
        if (w->balance[oi] == NULL)
            continue;
        for (size_t ri = 0; ri < w->svc.config->origins[oi].n_routes; ri++)
            h2g_balance_clear(&w->balance[oi][ri]);
        free(w->balance[oi]);
    }
    free(w->balance);
    w->balance = NULL;
}

static bool same_addr(const struct h2g_hostport *a, const struct h2g_hostport *b)
{
    return a->port == b->port && a->wildcard == b->wildcard && strcmp(a->host, b->host) == 0;
}

/* Is the pool's upstream still configured (with the same TLS settings)? */
static bool upstream_configured(const struct h2g_config *c, const struct h2g_upstream_pool *p)
{
    for (size_t oi = 0; oi < c->n_origins; oi++)
        for (size_t ri = 0; ri < c->origins[oi].n_routes; ri++) {
            const struct h2g_route_config *r = &c->origins[oi].routes[ri];
            for (size_t ui = 0; ui < r->n_upstreams; ui++) {
                const struct h2g_upstream_config *u = &r->upstreams[ui];
                const char *key = u->tls && r->upstream_tls != NULL ? r->upstream_tls->pool_key : NULL;
                if (strcmp(u->id, p->id) == 0 && (u->proto == H2G_UPSTREAM_H2C) == p->h2 &&
                    (key == NULL ? p->tls_key == NULL : p->tls_key != NULL && strcmp(key, p->tls_key) == 0))
                    return true;
            }
        }
    return false;
}

static struct h2g_snapshot *snapshot_new(struct h2g_config *c)
{
    struct h2g_snapshot *s = calloc(1, sizeof(*s));
    if (s != NULL)
        s->config = h2g_config_ref(c);
    return s;
}

static void snapshot_free(struct h2g_snapshot *s)
{
    if (s->retired)
        LIST_REMOVE(s, link);
    h2g_config_unref(s->config);
    free(s);
}

static struct h2g_snapshot *svc_snapshot_acquire(struct h2g_services *svc)
{
    struct h2g_worker *w = worker_of(svc);
    w->snap->users++;
    return w->snap;
}

static void svc_snapshot_release(struct h2g_services *svc, struct h2g_snapshot *s)
{
    (void)svc;
    if (--s->users == 0 && s->retired)
        snapshot_free(s);
}

/* What the objects below the worker may ask of it (services.h). */
static const struct h2g_services_ops services_ops = {
    .conn_closed = svc_conn_closed,
    .snapshot_acquire = svc_snapshot_acquire,
    .snapshot_release = svc_snapshot_release,
    .balance = svc_balance,
    .access_log_on = svc_access_log_on,
    .access_log = svc_access_log,
};

struct h2g_worker_apply {
    struct h2g_mail mail;
    struct h2g_worker *w;
    struct h2g_config *config;            /* one reference */
    int *fds;                             /* owned */
    struct h2g_snapshot *snap;            /* the new current snapshot */
    struct h2g_worker_listener **listeners; /* the new listener array, filled on the worker */
};

struct h2g_worker_apply *worker_apply_new(struct h2g_worker *w, struct h2g_config *config, int *fds)
{
    struct h2g_worker_apply *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->snap = snapshot_new(config);
    a->listeners = calloc(config->n_listen ? config->n_listen : 1, sizeof(*a->listeners));
    if (a->snap == NULL || a->listeners == NULL) {
        if (a->snap != NULL)
            snapshot_free(a->snap);
        free(a->listeners);
        free(a);
        return NULL;
    }
    a->w = w;
    a->config = h2g_config_ref(config);
    a->fds = fds;
    return a;
}

void worker_apply_cancel(struct h2g_worker_apply *a)
{
    for (size_t i = 0; i < a->config->n_listen; i++)
        if (a->fds[i] >= 0)
            close(a->fds[i]);
    free(a->fds);
    snapshot_free(a->snap);
    free(a->listeners);
    h2g_config_unref(a->config);
    free(a);
}

static void apply_cb(void *arg)
{
    struct h2g_worker_apply *a = arg;
    struct h2g_worker *w = a->w;
    struct h2g_config *config = a->config;
    int *fds = a->fds;
    struct h2g_snapshot *ns = a->snap;
    struct h2g_listen_ctx *ctx = worker_listen_ctxs(config);
    struct h2g_worker_listener **nl = a->listeners;
    for (size_t i = 0; i < config->n_listen; i++) {
        if (fds[i] >= 0 && w->held) {
            close(fds[i]); /* a reload while drained stays drained */
            fds[i] = -1;
            continue;
        }
        if (fds[i] >= 0) {
            nl[i] = listener_new(w, &ctx[i], fds[i]);
            if (nl[i] == NULL)
                LOG_ERROR("worker %u: out of memory: not listening on %s", w->id, config->listen[i].text);
            continue;
        }
        for (size_t j = 0; j < w->n_listen; j++) {
            if (w->listeners[j] != NULL && same_addr(&w->listeners[j]->ctx->lc->addr, &config->listen[i].addr)) {
                nl[i] = w->listeners[j];
                w->listeners[j] = NULL;
                nl[i]->ctx = &ctx[i]; /* new TLS settings for new connections */
                break;
            }
        }
    }
    close_listeners(w); /* what was not carried over */
    free(w->listeners);
    w->listeners = nl;
    w->n_listen = config->n_listen;

    balance_free(w);
    struct h2g_config *old = w->svc.config;
    w->svc.config = h2g_config_ref(config);
    h2g_config_unref(old);
    w->balance_lost = false;
    struct h2g_snapshot *os = w->snap;
    w->snap = ns;
    os->retired = true;
    LIST_INSERT_HEAD(&w->retired, os, link);
    if (os->users == 0)
        snapshot_free(os);

    /* No new request goes to a removed upstream; exchanges in flight
     * finish on their connection, which is then closed, not pooled. */
    for (struct h2g_upstream_pool *p = w->svc.pools; p != NULL; p = p->next)
        if (!upstream_configured(config, p))
            upstream_pool_drain(p);

    /* Open sessions stay (no GOAWAY: nothing a client sent is refused);
     * their requests in flight finish on their snapshot, the next ones
     * take the new snapshot.  Connection-level settings (TLS, limits)
     * stay those the connection was accepted with. */
    free(fds);
    h2g_config_unref(config);
    free(a);
}

void worker_apply_post(struct h2g_worker_apply *a)
{
    mailbox_post(&a->w->mailbox, &a->mail, apply_cb, a);
}

static void resume_cb(void *arg)
{
    struct h2g_worker_apply *a = arg;
    struct h2g_worker *w = a->w;
    if (w->held && !w->svc.draining) {
        w->held = false;
        LOG_INFO("worker %u: resumed: accepting again", w->id);
    }
    apply_cb(a);
}

void worker_resume_post(struct h2g_worker_apply *a)
{
    mailbox_post(&a->w->mailbox, &a->mail, resume_cb, a);
}

struct h2g_worker *worker_new(unsigned id, struct h2g_config *config, int *fds, int access_fd)
{
    struct h2g_worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->id = id;
    w->svc.worker_id = id;
    w->svc.ops = &services_ops;
    w->mailbox.efd = -1;
    w->svc.config = h2g_config_ref(config);
    w->snap = snapshot_new(config);
    LIST_INIT(&w->retired);
    w->access_fd = access_fd;
    LIST_INIT(&w->svc.conns);
    LIST_INIT(&w->svc.orphans);
    w->svc.base = event_base_new();
    if (w->svc.base == NULL)
        goto fail;
    /* Resolver config read once here, before the loop runs. */
    w->svc.dns = evdns_base_new(w->svc.base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (w->svc.dns == NULL)
        w->svc.dns = evdns_base_new(w->svc.base, 0);
    w->n_listen = config->n_listen;
    w->listeners = calloc(w->n_listen, sizeof(*w->listeners));
    w->access_buf = evbuffer_new();
    w->access_flush_ev = event_new(w->svc.base, -1, 0, access_flush_cb, w);
    if (mailbox_init(&w->mailbox, w->svc.base) != 0 || conn_worker_init(&w->svc) != 0)
        goto fail;
    w->stop_timer = evtimer_new(w->svc.base, stop_timer_cb, w);
    w->recheck_ev = evtimer_new(w->svc.base, recheck_cb, w);
    if (w->snap == NULL || w->svc.dns == NULL || w->listeners == NULL || w->access_buf == NULL || w->access_flush_ev == NULL ||
        w->stop_timer == NULL || w->recheck_ev == NULL)
        goto fail;
    struct h2g_listen_ctx *ctx = worker_listen_ctxs(config);
    for (size_t i = 0; i < w->n_listen; i++) {
        w->listeners[i] = listener_new(w, &ctx[i], fds[i]);
        fds[i] = -1;
        if (w->listeners[i] == NULL)
            goto fail;
    }
    return w;
fail:
    worker_free(w);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct h2g_worker *w = arg;
    event_base_dispatch(w->svc.base);
    sockread_thread_release();
    h2g_block_thread_release();
    return NULL;
}

int worker_start(struct h2g_worker *w)
{
    return pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_request_stop(struct h2g_worker *w)
{
    mailbox_post(&w->mailbox, &w->stop_mail, stop_cb, w);
}

void worker_join(struct h2g_worker *w)
{
    pthread_join(w->thread, NULL);
}

void worker_free(struct h2g_worker *w)
{
    if (w == NULL)
        return;
    w->svc.draining = true;
    struct h2g_conn *c;
    while ((c = LIST_FIRST(&w->svc.conns)) != NULL)
        conn_free(c);
    conn_worker_release(&w->svc);
    if (w->listeners != NULL)
        close_listeners(w);
    free(w->listeners);
    upstream_pool_free_all(w->svc.pools);
    upstream_dns_free_all(w->svc.dns_names); /* lookups in flight: dropped by evdns_base_free below */
    tunnel_free_orphans(&w->svc);
    stream_cache_free(&w->svc);
    exchange_cache_free(&w->svc);
    h2g_heap_trim_free(&w->svc);
    h2g_slab_release(&w->svc.conn_slab);
    h2g_slab_release(&w->svc.event_slab);
    h2g_slab_release(&w->svc.h2_slab);
    balance_free(w);
    struct h2g_snapshot *snap;
    while ((snap = LIST_FIRST(&w->retired)) != NULL)
        snapshot_free(snap);
    if (w->snap != NULL)
        snapshot_free(w->snap);
    if (w->access_buf != NULL) {
        if (w->access_fd >= 0)
            access_flush_cb(-1, 0, w);
        evbuffer_free(w->access_buf);
    }
    if (w->access_flush_ev)
        event_free(w->access_flush_ev);
    mailbox_clear(&w->mailbox);
    if (w->stop_timer)
        event_free(w->stop_timer);
    if (w->recheck_ev)
        event_free(w->recheck_ev);
    if (w->svc.dns)
        evdns_base_free(w->svc.dns, 0);
    if (w->svc.base)
        event_base_free(w->svc.base);
    h2g_config_unref(w->svc.config);
    h2g_route_table_free(&w->svc.routes);
    free(w);
}
