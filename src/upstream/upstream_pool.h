/*
 * upstream_pool.h: per-worker keep-alive connections to one upstream.
 *
 * A pool is created on first use by upstream_pool_get() and owned by its
 * worker (freed with the worker).  An upstream connection is either idle
 * in its pool (owned by the pool, watched for EOF and an idle timeout) or
 * lent to one exchange, which gives it back with upstream_conn_release().
 * Names are resolved with evdns; IP literals are connected directly.
 */
#ifndef H2G_UPSTREAM_POOL_H
#define H2G_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "runtime/sockread.h"
#include "core/units.h"

struct bufferevent;
struct evbuffer;
struct h2g_services;

/* Idle connections kept per upstream and worker: at least as many as
 * requests a busy worker has in flight, or connections get closed after
 * each response and reopened for the next. */
#define H2G_POOL_MAX_IDLE 4096
#define H2G_POOL_IDLE_TIMEOUT_MS 30000

struct h2g_upstream_pool;

struct h2g_upstream_conn {
    LIST_ENTRY(h2g_upstream_conn) link;  /* in pool->idle while idle */
    struct h2g_upstream_pool *pool;
    struct bufferevent *bev;       /* connects, buffers, writes */
    struct evbuffer *in, *out;     /* bev's buffers (fixed for its life; saves a call on a cold bev) */
    struct h2g_sockread rd;        /* reads (sockread.h) */
    bool idle;
    bool reused;        /* served an earlier exchange: may be stale */
};

struct h2g_upstream_pool {
    struct h2g_upstream_pool *next;
    struct h2g_services *svc;       /* the worker's (borrowed) */
    char id[280];       /* "host:port" */
    struct h2g_hostport addr;
    LIST_HEAD(, h2g_upstream_conn) idle;
    unsigned n_idle;
};

/* The worker's pool for an upstream, created on first use; NULL on OOM. */
struct h2g_upstream_pool *upstream_pool_get(struct h2g_services *svc, const char *id,
                                            const struct h2g_hostport *addr);
/* An idle connection (reused = true), or NULL. */
struct h2g_upstream_conn *upstream_pool_take(struct h2g_upstream_pool *p);
/* Starts a new connection; the caller sets the bufferevent callbacks
 * before returning to the loop.  NULL on immediate failure, with errno
 * set (ENOMEM: out of memory). */
struct h2g_upstream_conn *upstream_conn_connect(struct h2g_upstream_pool *p, uint64_t timeout_ms);
/* Gives a connection back: kept idle if `reusable` and the pool has room,
 * else closed. */
void upstream_conn_release(struct h2g_upstream_conn *uc, bool reusable);
/* Closes the connection of an exchange cut short.  With bytes of the
 * request still unsent (ours or the kernel's) the close is abortive
 * (RST): they cannot be delivered any more, and behind them the FIN would
 * never reach an upstream that stopped reading, which would keep its end
 * open, half a request in hand.  NULL is fine. */
void upstream_conn_abort(struct h2g_upstream_conn *uc);
void upstream_pool_free_all(struct h2g_upstream_pool *p);
/* Closes every idle connection of the pool (its upstream was removed). */
void upstream_pool_drain(struct h2g_upstream_pool *p);
/* Takes the bufferevent out of a lent connection (it switched protocols
 * and becomes a tunnel) and frees the rest (its reader included). */
struct bufferevent *upstream_conn_detach(struct h2g_upstream_conn *uc);

#endif
