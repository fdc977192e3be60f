/*
 * conn.h: one accepted client connection, and the session it runs.
 *
 * Lifecycle.  The worker's accept callback creates the connection
 * (conn_new); its worker owns it (on the services' conns list).  It owns the bufferevent
 * (socket or TLS), a config reference taken at accept (the connection
 * lives on that snapshot even across reloads) and, once the protocol is
 * known, exactly one protocol session behind a session ops table (the
 * way Redis's ConnectionType or HAProxy's muxes sit under their
 * connections).  conn_close() marks it closing and frees it on a later
 * loop turn, never inside a callback of its own.
 *
 * Sessions.  Every protocol choice is the connection's: it creates the
 * session (ALPN after the TLS handshake, or the HTTP/2 preface sniffed
 * on cleartext), holds it as `session` + `sops`, calls it only through
 * the ops, and frees it (conn_free).  A session that changes protocol
 * (HTTP/1.1 "Upgrade: h2c") asks the connection (conn_switch_session):
 * the connection makes the new session and installs it at once, and
 * frees the old one on a later loop turn, as the old session's callback
 * may still be on the stack.
 */
#ifndef H2G_CONN_H
#define H2G_CONN_H

#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "core/config.h"
#include "runtime/request_ctx.h"
#include "runtime/sockread.h"

struct h2g_conn;
struct h2g_services;
struct h2g_listen_ctx;
struct h2g_stream;

/* States only move down this list (sessions check `>= CLOSING`). */
enum h2g_conn_state {
    H2G_CONN_HANDSHAKE, /* TLS handshake or waiting for the first bytes: no session yet */
    H2G_CONN_SESSION,   /* a protocol session runs (sops->name says which) */
    H2G_CONN_CLOSING,   /* flushing output, then freed */
    H2G_CONN_CLOSED,    /* freed on the next loop turn */
};

/* What an HTTP/1.1 "Upgrade: h2c" request hands to the HTTP/2 session
 * that replaces its own (RFC 7540 3.2). */
struct h2g_upgrade {
    const uint8_t *settings;    /* HTTP2-Settings, decoded (borrowed) */
    size_t settings_len;
    struct h2g_stream *stream;  /* the request, which becomes stream 1: the new session's once made */
    bool head_request;          /* it is a HEAD (nghttp2 must expect no body) */
};

/*
 * A protocol session, as the connection sees it.  The connection calls
 * these from its own callbacks, with the session it holds; a session
 * never frees itself.  All but new take the pointer new returned.
 */
struct h2g_session_ops {
    /* Protocol names (metrics' alpn label, h2gatectl, the access log's
     * proto) and h2g_stats.sessions_* slots: [0] cleartext, [1] TLS. */
    const char *name[2];
    unsigned stats_slot[2];
    /* Starts a session on c: a fresh one (up NULL), or one taking over
     * an upgraded request (up->stream is then the session's).  NULL when
     * it cannot (out of memory, a refused upgrade), up->stream still the
     * caller's. */
    void *(*new)(struct h2g_conn *c, const struct h2g_upgrade *up);
    void (*free)(void *session);
    /* Bytes arrived in the connection's input buffer. */
    void (*on_read)(void *session);
    /* The connection's output drained below its low watermark. */
    void (*on_write)(void *session);
    /* The client closed its side: true if the session goes on.  NULL:
     * the connection closes. */
    bool (*on_eof)(void *session);
    /* The connection's timer (c->timer, which the session may arm) fired:
     * true if the session dealt with it.  NULL: the connection closes. */
    bool (*on_timer)(void *session);
    /* Graceful stop (GOAWAY, Connection: close): finish what is in
     * flight, then close the connection. */
    void (*drain)(void *session);
};

struct h2g_conn {
    LIST_ENTRY(h2g_conn) link;
    uint64_t id;
    enum h2g_conn_state state;
    uint8_t work;               /* conn.c's CONN_WORK_*: on which deferred-work list, if any (work_link) */
    struct h2g_services *svc;   /* the worker's */
    const struct h2g_listen_ctx *listen;
    struct h2g_config *config;  /* owned reference */
    struct bufferevent *bev;    /* the socket's, or the TLS filter over it */
    int fd;                     /* the socket (owned by the bufferevent; asleep, by the connection) */
    struct bufferevent *sock;   /* TLS: the socket's bufferevent under the filter (owned by it) */
    struct evbuffer_cb_entry *sock_out_cb; /* TLS, closing: watches the last records leave */
    struct evbuffer_cb_entry *sock_added_cb; /* TLS: records added to c->sock: written at the turn's end */
    /* Reads (sockread.h): the socket; TLS: into c->sock for the filter.
     * Owned; NULL before the first read and while asleep (160 bytes an
     * idle connection does without). */
    struct h2g_sockread *rd;
    /* TLS proxy_protocol listeners: the PROXY header's bytes so far, kept
     * out of c->sock's input, where the filter's handshake would read
     * them; owned, freed once the header is read. */
    struct evbuffer *pp_held;
    bool tls;
    /* The client's address, textual (no brackets), which the facts point
     * to; its port and family are the facts' (peer_port, peer_ipv6). */
    char peer_ip[48];
    struct h2g_client_facts facts; /* what its requests carry (request_ctx.h) */
    void *session;              /* owned, NULL before the protocol is known */
    const struct h2g_session_ops *sops;
    void *retired;              /* a session switched away from, freed by its deferred work */
    const struct h2g_session_ops *retired_ops;
    uint64_t start_ms;          /* accepted at (h2g_mono_ms) */
    bool lingering;             /* CLOSING: output done, discarding input */
    bool draining;              /* drained before its session started: the session is told at once */
    bool releasing;             /* freed but for the TLS filter, which waits for its last reference */
    bool sleep_wanted;          /* TLS: conn_sleep asked, its deferred work does it (out of the filter's callbacks) */
    bool records_wanted;        /* TLS: handshake over, its deferred work takes the records over (records_after_handshake) */
    bool rec_ended;             /* TLS, handed off: the records ended the connection (close_notify, error) */
    /* Deferred work (conn_defer): out of the callbacks that asked for it,
     * at the end of the loop turn or on the next: it frees a retired
     * session, the connection itself once CLOSED, and does what TLS put
     * off (a sleep, the records' hand-off).  Queued on the worker's list
     * (services.h), not an event of its own: 128 bytes less a connection. */
    TAILQ_ENTRY(h2g_conn) work_link;
    /* The handshake timeout, then the session's.  Asleep (conn_sleep):
     * bev and the reader are gone (TLS: the filter and c->sock too), and
     * this same event watches the socket until the client speaks, its
     * timeout kept: an idle connection holds one event, not two. */
    struct event *timer;
    bool asleep;
    /* Asleep: when the timer's timeout falls due (h2g_mono_ms; 0: none).
     * A read event fired is no longer pending, its timeout gone with it:
     * the woken timer is given what is left of it. */
    uint64_t asleep_until_ms;
    /* TLS, asleep: the connection's TLS state, its BIO detached (owned:
     * given to the filter conn_wake makes around it). */
    struct ssl_st *ssl;
    /* TLS: a filter freed by conn_sleep or conn_free whose last
     * reference is still ours, dropped by its deferred work (release_filter). */
    struct bufferevent *dying;
    /* TLS: the secrets and record counts OpenSSL reports (owned; NULL if
     * it could not be made: never handed off), and once the SSL is let
     * go at a sleep, the connection's record layer (tls_record.h). */
    struct h2g_tls_record *rec;
};

/* Takes the accepted socket `fd`: NULL when out of memory, with fd
 * closed (the client sees its connection end). */
struct h2g_conn *conn_new(struct h2g_services *svc, const struct h2g_listen_ctx *lc, int fd,
                          const struct sockaddr *sa, int salen);
/* Ends the connection: after flushing pending output if `flush`, else
 * at once.  Safe to call from any callback, more than once. */
void conn_close(struct h2g_conn *c, bool flush);
/* Frees immediately (worker teardown only). */
void conn_free(struct h2g_conn *c);
/* The worker's deferred-work queue and its two events: made before its
 * first connection (0, or -1 out of memory, nothing then to release),
 * released at its teardown, after conn_free of every connection. */
int conn_worker_init(struct h2g_services *svc);
void conn_worker_release(struct h2g_services *svc);
/* Graceful stop: GOAWAY / Connection: close, finish in-flight. */
void conn_drain(struct h2g_conn *c);

/* Reading from the client on/off, and a cap on what the input buffer may
 * hold (0: none) -- whichever of the bufferevent (TLS) or our reader
 * (cleartext) does the reading. */
void conn_read_enable(struct h2g_conn *c);
void conn_read_disable(struct h2g_conn *c);
void conn_read_cap(struct h2g_conn *c, size_t high);
/* A tunnel opened on this connection: a client may go without reading
 * for tunnel_idle, not only stream_idle, before the connection's write
 * timeout closes it. */
void conn_carries_tunnel(struct h2g_conn *c);
/* An idle connection whose session put itself away gives back its
 * bufferevent and reader too (about 1 KB), keeping the socket and its
 * timer, which watches it (watch_asleep): true if it did (no output
 * pending, no input held).  TLS keeps
 * its SSL (no record in it either way), its BIO detached, and gives back
 * the filter and the socket's bufferevent under it; it does so on a later
 * loop turn (true: asked for), as the filter's callbacks may be running.
 * Until conn_wake, c->bev is NULL; the session is woken first (on_read)
 * when the client speaks, and wakes the connection itself before any
 * other use (timer, drain).  Closing an asleep connection wakes it or
 * frees it. */
bool conn_sleep(struct h2g_conn *c);
/* The bufferevent and reader back, reading on: 0 (also when awake), or
 * -1 out of memory, the connection then being closed. */
int conn_wake(struct h2g_conn *c);
/* The connection's OpenSSL state, asleep or awake: NULL for cleartext,
 * while a TLS connection's filter is being made, and once its records
 * are ours (tls_record.h). */
struct ssl_st *conn_ssl(const struct h2g_conn *c);
/* "TLSv1.3" and the like; NULL for cleartext. */
const char *conn_tls_version(const struct h2g_conn *c);
/* The server name of its TLS handshake; NULL: none, or cleartext. */
const char *conn_tls_sni(const struct h2g_conn *c);
/* True while OpenSSL's filter seals the output, a record per evbuffer
 * chain: the output is worth packing into few chains.  Our records
 * (tls_record.h) seal across chains. */
bool conn_seals_each_chain(const struct h2g_conn *c);
/* Whose records: "openssl", "h2gate" (handed off), NULL for cleartext. */
const char *conn_tls_layer(const struct h2g_conn *c);
/* Does the TLS certificate this connection presented cover `host`? */
bool conn_cert_covers(struct h2g_conn *c, const char *host, size_t len);
/* The session's protocol name ("h2", "h2c", "http/1.1"); "http/1.1"
 * while there is none. */
const char *conn_proto_name(const struct h2g_conn *c);
/* The session if it is one of `ops` (h2_session_ops...), else NULL:
 * introspection looks at a session's own state through this. */
void *conn_session_as(const struct h2g_conn *c, const struct h2g_session_ops *ops);
/* Called by the running session, from any of its callbacks: replaces it
 * with a session of `ops` made with `up`, which reads what is already
 * in the input buffer at once.  The caller is retired: it must return
 * without touching the connection, and is freed on a later loop turn.
 * 0; or -1 when the new session could not be made (up->stream is still
 * the caller's, the caller still the connection's session). */
int conn_switch_session(struct h2g_conn *c, const struct h2g_session_ops *ops, const struct h2g_upgrade *up);

#endif
