/*
 * upstream_h2.h: HTTP/2 upstreams (h2c://): connections that carry many
 * exchanges at once, one upstream stream each.
 *
 * A connection (struct h2g_h2_conn) is an nghttp2 client session over a
 * transport.  It is created by an exchange that found every connection of
 * its address pool full (upstream_pool.h, p->h2_conns), and owned by that
 * pool from then on: listed there until it is freed, which happens once
 * it is closed (error, EOF, the upstream's GOAWAY, a drain, the idle
 * timeout) and carries no exchange any more, on a later loop turn (never
 * inside its own callbacks), or with the pool (worker teardown).  It owns
 * its socket (an upstream_conn of the pool, for connecting and counting)
 * and its nghttp2 session; its exchanges are borrowed.
 *
 * The transport: `bev` is the bufferevent the session reads and writes.
 * For h2c it is the socket's own (uc->bev); a TLS upstream (h2://) puts a
 * bufferevent_openssl filter over the socket there, and nothing above the
 * transport changes (conn_transport_start is the one place that knows).
 *
 * An exchange (struct h2g_h2_exchange, upstream_h2.c) is created by
 * stream_dispatch (h2_exchange_start), owned by its stream as its upstream
 * end (upstream.h) and freed through that end's ops; it holds a place on
 * one connection (c->n_ex) from its start to its free, and the nghttp2
 * stream's user data points back to it while both live.  It sees its
 * stream only through upstream.h.
 *
 * Connection states (enum h2c_state): CONNECTING -> OPEN -> DRAINING (no
 * new exchange: GOAWAY received, pool drained, idle close) -> CLOSED
 * (socket gone, waiting for its free); CONNECTING or OPEN -> CLOSED on an
 * error.
 *
 * Exchange states (enum hx_state): QUEUED (its connection is connecting;
 * an extended CONNECT also until the upstream's SETTINGS)
 * -> SENT (request submitted; no final response head) -> RECEIVING (head
 * passed to the stream, body flowing) -> DONE, or FAILED from any; SENT
 * goes back to QUEUED or SENT on another connection when the upstream
 * refused the stream unprocessed (REFUSED_STREAM, or above a GOAWAY's
 * last-stream-id) and no request body byte was given to it yet.
 */
#ifndef H2G_UPSTREAM_H2_H
#define H2G_UPSTREAM_H2_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct bufferevent;
struct event;
struct h2g_stream;
struct h2g_upstream_conn;
struct h2g_upstream_pool;
struct h2g_h2_exchange;
struct nghttp2_session;

/* Connections per address pool and worker: past this, new exchanges
 * queue on the least loaded connection (nghttp2 holds a stream beyond
 * the upstream's SETTINGS_MAX_CONCURRENT_STREAMS until one closes), so a
 * burst cannot open sockets without bound. */
#define H2G_H2_MAX_CONNS 16
/* An idle connection (no exchange) sends a PING this often; one not
 * answered by the next is dead.  After H2G_POOL_IDLE_TIMEOUT_MS idle it
 * is closed (GOAWAY), as an idle HTTP/1.1 connection is. */
#define H2G_H2_PING_MS 10000

enum h2c_state {
    H2C_CONNECTING, /* TCP connect (and the transport's handshake) */
    H2C_OPEN,       /* takes exchanges while below the upstream's limit */
    H2C_DRAINING,   /* takes none; closed when its last exchange leaves */
    H2C_CLOSED,     /* socket closed; freed on the next loop turn */
};

struct h2g_h2_conn {
    LIST_ENTRY(h2g_h2_conn) link;   /* in pool->h2_conns */
    struct h2g_upstream_pool *pool; /* the address pool (owner) */
    struct h2g_upstream_conn *uc;   /* the socket (owned) */
    struct bufferevent *bev;        /* the transport (see above) */
    struct nghttp2_session *ngh;    /* owned */
    enum h2c_state state;
    uint64_t id;                    /* for logs and h2gatectl */
    LIST_HEAD(, h2g_h2_exchange) exchanges; /* every exchange placed here */
    unsigned n_ex;                  /* their count */
    uint64_t streams_total;         /* upstream streams opened */
    struct event *flush_ev;         /* deferred send (and free once CLOSED) */
    struct event *timer;            /* PING and idle close while idle */
    uint64_t idle_since_ms;         /* 0: busy */
    bool got_settings;              /* the upstream's first SETTINGS came */
    bool ping_out;                  /* a PING waits for its ACK */
    uint64_t pings_acked;           /* for h2gatectl and tests */
    int in_recv;                    /* inside nghttp2_session_mem_recv */
};

/* Starts proxying s (routed to stream_route(s), an h2c:// route): the
 * exchange attaches itself as the stream's upstream end.  0, or a status
 * to answer: 400 (not expressible), 502 (no connection), 503 (out of
 * memory). */
int h2_exchange_start(struct h2g_stream *s);
/* The pool's upstream left the configuration (or its address the name's
 * set): its connections take no new exchange, idle ones close now. */
void upstream_h2_pool_drain(struct h2g_upstream_pool *p);
/* Frees the pool's connections (worker teardown: no stream is left). */
void upstream_h2_pool_free(struct h2g_upstream_pool *p);
/* For views: the upstream's SETTINGS_MAX_CONCURRENT_STREAMS as in use. */
uint32_t upstream_h2_conn_max_streams(const struct h2g_h2_conn *c);
const char *upstream_h2_conn_state_str(const struct h2g_h2_conn *c);

#endif
