/*
 * conn.h: one accepted client connection.
 *
 * Created by the listener callback (conn_new), owned by its worker (on
 * worker->conns).  It owns the bufferevent (socket or TLS), a config
 * reference taken at accept (the connection lives on that snapshot even
 * across reloads) and exactly one protocol session once the protocol is
 * known (TLS ALPN, or the h2 preface sniffed on cleartext).  conn_close()
 * marks it closing and frees it on a later loop turn, never inside a
 * callback of its own.
 */
#ifndef H2G_CONN_H
#define H2G_CONN_H

#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "config.h"
#include "request_ctx.h"
#include "sockread.h"

struct h2g_worker;
struct h2g_listen_ctx;
struct h2g_h2_session;
struct h2g_h1_session;

enum h2g_conn_state {
    H2G_CONN_HANDSHAKE, /* TLS handshake or waiting for the first bytes */
    H2G_CONN_H2,        /* an HTTP/2 session runs */
    H2G_CONN_H1,        /* an HTTP/1.1 session runs */
    H2G_CONN_CLOSING,   /* flushing output, then freed */
    H2G_CONN_CLOSED,    /* freed on the next loop turn */
};

struct h2g_conn {
    LIST_ENTRY(h2g_conn) link;
    uint64_t id;
    enum h2g_conn_state state;
    struct h2g_worker *worker;
    const struct h2g_listen_ctx *listen;
    struct h2g_config *config;  /* owned reference */
    struct bufferevent *bev;    /* the socket's, or the TLS filter over it */
    int fd;                     /* the socket (owned by the bufferevent) */
    struct bufferevent *sock;   /* TLS: the socket's bufferevent under the filter (owned by it) */
    struct evbuffer_cb_entry *sock_out_cb; /* TLS, closing: watches the last records leave */
    struct h2g_sockread rd;     /* reads (sockread.h): the socket; TLS: into c->sock for the filter */
    bool tls;
    struct sockaddr_storage peer;
    char peer_ip[48];           /* textual, no brackets */
    uint16_t peer_port;
    char sni[256];              /* TLS server name, "" if none */
    struct h2g_client_facts facts; /* what its requests carry (request_ctx.h) */
    struct h2g_h2_session *h2;
    struct h2g_h1_session *h1;
    uint64_t start_ms;          /* accepted at (h2g_mono_ms) */
    bool lingering;             /* CLOSING: output done, discarding input */
    bool releasing;             /* freed but for the TLS filter, which waits for its last reference */
    struct event *free_ev;
    struct event *timer;        /* handshake timeout */
};

/* Takes the accepted socket `fd`: NULL when out of memory, with fd
 * closed (the client sees its connection end). */
struct h2g_conn *conn_new(struct h2g_worker *w, const struct h2g_listen_ctx *lc, int fd,
                          const struct sockaddr *sa, int salen);
/* Ends the connection: after flushing pending output if `flush`, else
 * at once.  Safe to call from any callback, more than once. */
void conn_close(struct h2g_conn *c, bool flush);
/* Frees immediately (worker teardown only). */
void conn_free(struct h2g_conn *c);
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
/* Does the TLS certificate this connection presented cover `host`? */
bool conn_cert_covers(struct h2g_conn *c, const char *host, size_t len);
const char *conn_proto_name(const struct h2g_conn *c);

#endif
