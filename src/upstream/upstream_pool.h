/*
 * upstream_pool.h: per-worker keep-alive connections to one upstream.
 *
 * A pool is created on first use by upstream_pool_get() and owned by its
 * worker (freed with the worker).  An upstream connection is either idle
 * in its pool (owned by the pool, watched for EOF and an idle timeout) or
 * lent to one exchange, which gives it back with upstream_conn_release().
 * IP literals are connected directly.  An upstream named by a host name
 * has the worker's address set of that name (upstream_dns.h) and one
 * pool per address ever in the set (p->by_addr, owned by the name's
 * pool): each request takes the next address round robin and that
 * address's idle connections, so connections are balanced across the
 * addresses and one to an address that left the set is never reused.
 * Until the name's first lookup answers, its own pool connects by name.
 *
 * An HTTP/2 upstream (h2c://) has pools of its own (h2, apart from an
 * http:// upstream at the same address): their connections are not lent
 * to one exchange but carry many (upstream_h2.h); each address pool keeps
 * them in h2_conns, and closes them with itself.
 */
#ifndef H2G_UPSTREAM_POOL_H
#define H2G_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "runtime/sockread.h"
#include "core/addrset.h"
#include "core/units.h"

struct bufferevent;
struct evbuffer;
struct h2g_services;
struct h2g_stream;
struct h2g_route_config;
struct h2g_upstream_dns;
struct h2g_h2_conn;
struct h2g_upstream_tls;
struct ssl_session_st;

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
    bool nodelay;       /* TCP_NODELAY set (at connect, when the socket existed then) */
    uint64_t id;        /* for logs and h2gatectl upstreams */
    bool tls;           /* https:// or h2:// (bev is a TLS bufferevent) */
    bool tls_resumed;   /* its handshake resumed a session */
};

struct h2g_upstream_pool {
    struct h2g_upstream_pool *next;
    struct h2g_services *svc;       /* the worker's (borrowed) */
    char id[280];       /* "host:port" */
    struct h2g_hostport addr;
    LIST_HEAD(, h2g_upstream_conn) idle;
    unsigned n_idle;
    /* A name's pool: its address set (NULL for IP literals, and when out
     * of memory: then connected by name, per connection), and the pools
     * of its addresses, owned, linked through their `next`. */
    struct h2g_upstream_dns *dns;
    struct h2g_upstream_pool *by_addr;
    /* An address's pool: connects to ip, port addr.port; `set` is the
     * name's address set (borrowed), told how the address fares. */
    struct h2g_upstream_dns *set;
    bool has_ip;
    bool stale;         /* ip left the name's set: nothing is kept idle */
    struct h2g_ipaddr ip;
    /* HTTP/2 (upstream_h2.c): the connections of this pool, each carrying
     * streams; n_h2 counts them (H2G_H2_MAX_CONNS). */
    bool h2;
    LIST_HEAD(, h2g_h2_conn) h2_conns;
    unsigned n_h2;
    /* TLS (https://, h2://): tls_key is the route's upstream_tls in one
     * string (h2g_upstream_tls_config.pool_key; a name's pool owns it,
     * its address pools borrow it), apart from cleartext pools and from
     * other settings.  The last session the upstream gave, and the
     * context it came from (upstream_tls.h). */
    char *tls_key;
    struct ssl_session_st *tls_session;
    uint64_t tls_gen;
};

/* The worker's pool for an upstream (an HTTP/2 one's with h2; a TLS
 * one's with tls_key, else NULL), created on first use; NULL on OOM. */
struct h2g_upstream_pool *upstream_pool_get(struct h2g_services *svc, const char *id,
                                            const struct h2g_hostport *addr, bool h2, const char *tls_key);
/* An exchange's upstream for route r (round robin with passive health
 * when it has several): its index into r->upstreams (*up_idx), its TLS
 * context (*tls, NULL for cleartext), the stream's upstream id set, and
 * the pool its connection comes from (the address's, for a name): NULL
 * when out of memory, or for a TLS upstream whose context was not built
 * (a snapshot not the daemon's). */
struct h2g_upstream_pool *upstream_pool_for_route(struct h2g_services *svc, struct h2g_stream *s,
                                                  const struct h2g_route_config *r, bool h2, size_t *up_idx,
                                                  const struct h2g_upstream_tls **tls);
/* The pool a new request of upstream p uses: p itself for an IP literal
 * (callers test p->dns first, so that costs them nothing) or while the
 * name has no address yet (or out of memory); else the pool of the next
 * address of the name's set, round robin. */
struct h2g_upstream_pool *upstream_pool_pick_address(struct h2g_upstream_pool *p);
/* The set of d changed: the pools of addresses that left it close their
 * idle connections and keep none from now on (stale); addresses back in
 * the set are used again. */
void upstream_pool_addresses_changed(struct h2g_services *svc, const struct h2g_upstream_dns *d);
/* The upstream of an exchange on p answered (ok) or failed before a
 * response: an address pool's address is skipped for a while (passive
 * health per address, upstream_dns.h); nothing for other pools. */
void upstream_pool_health(struct h2g_upstream_pool *p, bool ok);
/* An idle connection (reused = true), or NULL. */
struct h2g_upstream_conn *upstream_pool_take(struct h2g_upstream_pool *p);
/* Starts a new connection (over TLS with tls, a TLS pool's route's
 * context; BEV_EVENT_CONNECTED then comes after the handshake); the
 * caller sets the bufferevent callbacks before returning to the loop.
 * NULL on immediate failure, with errno set (ENOMEM: out of memory). */
struct h2g_upstream_conn *upstream_conn_connect(struct h2g_upstream_pool *p, uint64_t timeout_ms,
                                               const struct h2g_upstream_tls *tls);
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
/* Closes every idle connection of the pool and of its address pools (its
 * upstream was removed). */
void upstream_pool_drain(struct h2g_upstream_pool *p);
/* Takes the bufferevent out of a lent connection (it switched protocols
 * and becomes a tunnel) and frees the rest (its reader included). */
struct bufferevent *upstream_conn_detach(struct h2g_upstream_conn *uc);

#endif
