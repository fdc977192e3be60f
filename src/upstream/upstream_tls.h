/*
 * upstream_tls.h: TLS to upstreams (https://, h2://).
 *
 * One struct h2g_upstream_tls per route that has TLS upstreams, built by
 * the daemon (process.c) on the main thread when a configuration is
 * loaded, before any worker sees the snapshot, from the route's
 * upstream_tls; kept in route->tls and freed with the snapshot.  Workers
 * only read it: SSL_new on a shared SSL_CTX is thread-safe, and the
 * session callback writes nothing but the connection's own pool.
 *
 * Session resumption: each address pool (per worker, upstream_pool.h)
 * keeps the last session its upstream gave (TLS 1.3 tickets arrive after
 * the handshake: the context's new-session callback catches them) and
 * offers it on the next connection, if it came from the same context
 * (a reload with another CA must verify afresh).
 */
#ifndef H2G_UPSTREAM_TLS_H
#define H2G_UPSTREAM_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct bufferevent;
struct h2g_upstream_pool;

struct h2g_upstream_tls {
    SSL_CTX *ctx;
    bool verify;
    bool h2;             /* ALPN h2 (h2://), else http/1.1 (https://) */
    char *server_name;   /* NULL: each upstream's host */
    uint64_t gen;        /* tells contexts apart for the sessions kept */
};

/* Main thread: the context of a route's TLS upstreams (h2: they are
 * h2://).  NULL with err set (OpenSSL's reason, naming the file). */
struct h2g_upstream_tls *upstream_tls_new(const struct h2g_upstream_tls_config *cfg, bool h2, char *err,
                                          size_t errlen);
void upstream_tls_free(struct h2g_upstream_tls *t); /* NULL: no-op */

/* A TLS bufferevent, not connected yet, for a connection of pool p:
 * SNI, the name to check, ALPN, the pool's last session.  NULL when out
 * of memory. */
struct bufferevent *upstream_tls_bev(const struct h2g_upstream_tls *t, struct h2g_upstream_pool *p);
/* Why a TLS connection failed to come up: the certificate check's
 * reason, else OpenSSL's, else the socket's (buf holds it). */
const char *upstream_tls_failure(struct bufferevent *bev, char *buf, size_t len);
/* The handshake is done: counted (resumed or not); NULL if fine, else why
 * the connection must not be used (an h2:// upstream that did not select
 * h2).  *resumed says whether it resumed a session. */
const char *upstream_tls_ready(struct bufferevent *bev, struct h2g_upstream_pool *p, bool h2, bool *resumed);
/* Frees the session a pool keeps. */
void upstream_tls_pool_clear(struct h2g_upstream_pool *p);

#endif
