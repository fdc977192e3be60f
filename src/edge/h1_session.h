/*
 * h1_session.h: an HTTP/1.1 client connection (the "allowHTTP1" of the
 * Node http2 API, and cleartext HTTP/1.1 with "Upgrade: h2c").
 *
 * Lifecycle: made by the connection through h1_session_ops (ALPN
 * http/1.1 or none, or cleartext bytes that are not the h2 preface),
 * owned by it, called only through the ops and freed by it.  It serves
 * one request at a time (pipelined requests wait in the input buffer,
 * read no further than one head), each through an h2g_stream it owns
 * until the response is done, so routing and upstreams are the same as
 * for HTTP/2.  An h2c upgrade hands the request to the HTTP/2 session
 * that conn_switch_session puts in its place; the connection frees this
 * one afterwards.
 */
#ifndef H2G_H1_SESSION_H
#define H2G_H1_SESSION_H

#include <stdint.h>

struct h2g_h1_session;
struct h2g_session_ops;
struct h2g_stream;

extern const struct h2g_session_ops h1_session_ops;

/* The request being served, or NULL (introspection). */
struct h2g_stream *h1_session_stream(const struct h2g_h1_session *h);
uint64_t h1_session_requests(const struct h2g_h1_session *h);

#endif
