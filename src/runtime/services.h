/*
 * services.h: what a worker lends everything that runs on its loop.
 *
 * Embedded in struct h2g_worker (worker.c fills it in worker_new and
 * empties it in worker_free).  Connections, sessions, streams, exchanges
 * and tunnels keep a borrowed pointer to it and reach their worker only
 * through it, so that nothing below the worker includes worker.h or calls
 * into worker.c: what they may ask of the worker goes through `ops`,
 * which worker.c fills.
 *
 * Per-layer state lives here because the worker keeps it for the objects
 * of that layer (caches, pools) and frees it last; each layer's own file
 * is the only one to read or write its part.
 */
#ifndef H2G_SERVICES_H
#define H2G_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "runtime/slab.h"
#include "runtime/stats.h"

struct event;
struct event_base;
struct evdns_base;
struct h2g_balance;
struct h2g_config;
struct h2g_conn;
struct h2g_exchange;
struct h2g_route_config;
struct h2g_stream;
struct h2g_tunnel;
struct h2g_upstream_dns;
struct h2g_upstream_pool;

/*
 * A worker's use of one config snapshot.  Requests take the worker's
 * current snapshot when they start (routes, upstreams, ACLs, limits,
 * timeouts) and keep it to their end; a reload makes a new one current
 * and retires the old, freed once its last request is done.  Counted
 * without atomics: only the worker touches it.
 */
struct h2g_snapshot {
    LIST_ENTRY(h2g_snapshot) link;  /* in the worker's retired list when retired */
    struct h2g_config *config;      /* owned reference */
    unsigned users;
    bool retired;
};

struct h2g_services;

/* The worker's answers (worker.c). */
struct h2g_services_ops {
    /* A connection was freed: the worker may finish a drain, or accept
     * again (max_connections). */
    void (*conn_closed)(struct h2g_services *svc);
    /* The snapshot a new request uses, and its release. */
    struct h2g_snapshot *(*snapshot_acquire)(struct h2g_services *svc);
    void (*snapshot_release)(struct h2g_services *svc, struct h2g_snapshot *snap);
    /* Round-robin state of a route of the worker's current snapshot
     * (NULL for routes of older snapshots or single-upstream routes, and
     * when out of memory: the route then takes its first upstream). */
    struct h2g_balance *(*balance)(struct h2g_services *svc, const struct h2g_route_config *r);
    /* Is the access log on?  And appends a line to it (formatted, with
     * '\n'), written once per loop turn. */
    bool (*access_log_on)(const struct h2g_services *svc);
    void (*access_log)(struct h2g_services *svc, const char *line, size_t len);
};

struct h2g_services {
    const struct h2g_services_ops *ops;
    struct event_base *base;
    struct evdns_base *dns;
    struct h2g_stats stats;
    struct h2g_route_table routes;   /* per-route counters, by stats_slot (chunks: the main thread's) */
    bool draining;                   /* stopping: nothing is kept for later (idle upstreams) */
    bool stop_forced;                /* timeouts.shutdown ran out: what is left is being closed */
    /* conn.c: the connections of this worker, and their ids (config.h
     * h2g_conn_id: unique across workers). */
    struct h2g_config *config;       /* owned reference: the snapshot new connections get */
    unsigned worker_id;
    uint64_t next_conn_id;
    LIST_HEAD(, h2g_conn) conns;     /* every live client connection */
    unsigned n_conns;
    /* conn.c: connections with deferred work, run at this loop turn's
     * end (conn_work_ev, active) or on the next (conn_later_ev, a timer
     * of 0), and the events that run them (conn_worker_init). */
    TAILQ_HEAD(, h2g_conn) conn_work, conn_later;
    struct event *conn_work_ev, *conn_later_ev;
    /* upstream_pool.c: one pool per upstream id, singly linked. */
    struct h2g_upstream_pool *pools;
    /* upstream_dns.c: the address sets of upstream host names, singly linked. */
    struct h2g_upstream_dns *dns_names;
    /* tunnel.c: tunnels delivering their last bytes after their stream. */
    LIST_HEAD(, h2g_tunnel) orphans;
    /* Finished streams and exchanges kept with their buffers for the next
     * request (stream.c, upstream_http1.c): a request then costs no
     * allocation of its own.  At most H2G_OBJ_CACHE_MAX of each, and only
     * objects whose buffers stayed small (2 KiB of head storage, 32 field
     * slots): at most some 6 MiB per worker (2 MiB typical), about the
     * memory of as many requests in flight.  None in builds with
     * AddressSanitizer (recycle.h). */
    struct h2g_stream *stream_cache;
    unsigned n_stream_cache;
    struct h2g_exchange *ex_cache;
    unsigned n_ex_cache;
    /* heap_trim.c: bytes freed since the last trim, and its timer. */
    size_t trim_freed;
    struct event *trim_ev;
    /* What an idle connection keeps, packed (slab.h): connections
     * (conn.c), their libevent events (conn.c), h2 sessions
     * (h2_session.c). */
    struct h2g_slab conn_slab;
    struct h2g_slab event_slab;
    struct h2g_slab h2_slab;
};

#define H2G_OBJ_CACHE_MAX 512

static inline void services_conn_closed(struct h2g_services *svc)
{
    svc->ops->conn_closed(svc);
}

static inline struct h2g_snapshot *services_snapshot_acquire(struct h2g_services *svc)
{
    return svc->ops->snapshot_acquire(svc);
}

static inline void services_snapshot_release(struct h2g_services *svc, struct h2g_snapshot *snap)
{
    svc->ops->snapshot_release(svc, snap);
}

static inline struct h2g_balance *services_balance(struct h2g_services *svc, const struct h2g_route_config *r)
{
    return svc->ops->balance(svc, r);
}

static inline bool services_access_log_on(const struct h2g_services *svc)
{
    return svc->ops->access_log_on(svc);
}

static inline void services_access_log(struct h2g_services *svc, const char *line, size_t len)
{
    svc->ops->access_log(svc, line, len);
}

#endif
