/*
 * h1_session.h: an HTTP/1.1 client connection (the "allowHTTP1" of the
 * Node http2 API, and cleartext HTTP/1.1 with "Upgrade: h2c").
 *
 * Created by conn when ALPN picks http/1.1 (or on cleartext when the
 * bytes are not the h2 preface), owned by the conn and freed by it.  It
 * serves one request at a time (pipelined requests wait in the input
 * buffer, read no further than one head), each through an h2g_stream, so
 * routing and upstreams are the same as for HTTP/2.
 */
#ifndef H2G_H1_SESSION_H
#define H2G_H1_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct h2g_conn;
struct h2g_h1_session;

struct h2g_h1_session *h1_session_new(struct h2g_conn *c);
void h1_session_free(struct h2g_h1_session *h);
void h1_session_on_read(struct h2g_h1_session *h);
void h1_session_on_write(struct h2g_h1_session *h);
/* Graceful stop: finish the current response with Connection: close. */
void h1_session_drain(struct h2g_h1_session *h);
/* The connection's timer fired (conn.c) while this session runs: true if
 * the session dealt with it (a request in flight: stream_idle; a partial
 * request head: 408 and close), false to close the connection quietly
 * (no request begun within handshake / idle). */
bool h1_session_on_timer(struct h2g_h1_session *h);
/* The client closed its side.  true if the session goes on (a tunnel
 * whose target may still answer: END_STREAM to it, keep writing). */
bool h1_session_on_eof(struct h2g_h1_session *h);
/* The request being served, or NULL (introspection). */
struct h2g_stream *h1_session_stream(const struct h2g_h1_session *h);
uint64_t h1_session_requests(const struct h2g_h1_session *h);

#endif
