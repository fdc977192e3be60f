/*
 * upstream.h: a stream's upstream end, and the stream as that end sees it.
 *
 * A stream (stream.c) has at most one upstream end at a time: an exchange
 * with an HTTP/1.1 upstream (upstream_http1.c) or a tunnel (tunnel.c).
 * The end attaches itself when it starts (stream_upstream_attach) and is
 * owned by the stream from then on.  The stream drives it only through
 * struct h2g_upstream_ops; the end reads the request and reports back
 * only through the stream_* functions below (defined in stream.c), never
 * through stream fields: what the client sees is the stream's decision.
 *
 * Ending: the stream alone ends its upstream end.  An end that fails
 * reports it (stream_upstream_fail), having closed its own connection;
 * the stream then answers the client and keeps the end, inert, until
 * stream_clear frees it (the end's callback is still running).  Anything
 * else that ends a stream early (timeouts, limits, out of memory, the
 * client going away) goes through the stream, which closes both ends.
 */
#ifndef H2G_UPSTREAM_H
#define H2G_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/h2_to_h1.h"
#include "core/hdr.h"
#include "runtime/request_ctx.h"

struct evbuffer;
struct h2g_route_config;
struct h2g_stream;

struct h2g_upstream_ops {
    /* A byte stream (CONNECT, a tunnel: route, a WebSocket after its 101):
     * the client's bytes always flow, whatever the response did. */
    bool tunnel;
    /* The stream has more request body (stream_request_body) or the
     * client finished its request. */
    void (*request_progress)(void *end);
    /* Is the end not reading its upstream because the client's response
     * buffer is full?  And: the client drained it, read on. */
    bool (*reading_paused)(const void *end);
    void (*resume_reading)(void *end);
    /* Is h2gate waiting for the upstream (connecting, or request bytes
     * the upstream has not taken)?  Tells a 504 from a 408. */
    bool (*waiting)(const void *end);
    /* Still working (resolving, connecting, open, or closed by the
     * upstream only), bounded by its own timeouts: false once failed. */
    bool (*live)(const void *end);
    /* The client side holds nothing more of this stream's bytes (its
     * socket's buffers are empty): a tunnel may take the sockets over.
     * NULL: not interested. */
    void (*client_flushed)(void *end);
    void (*free)(void *end);
};

/* --- what the end reads --- */

const struct h2g_request_ctx *stream_ctx(const struct h2g_stream *s);
const struct h2g_route_config *stream_route(const struct h2g_stream *s);
/* Fills a request-head view for h2_to_h1.  The fields go into `stack`
 * (n_stack entries) when they fit, else into an array allocated into
 * *tmp, which the caller frees (free(NULL) when not). */
int stream_request_head(struct h2g_stream *s, struct h2g_request_head *req, struct h2g_field *stack,
                        size_t n_stack, struct h2g_field **tmp);
/* Is the client on an HTTP/2 session (else HTTP/1.1)?  A WebSocket is
 * answered 200 there (RFC 8441 5), 101 on HTTP/1.1. */
bool stream_client_is_h2(const struct h2g_stream *s);
/* Content-Length of the request, -1 when it had none. */
int64_t stream_request_content_length(const struct h2g_stream *s);
/* Request body bytes waiting for the end to take them (move them out:
 * evbuffer_add_buffer), or NULL when none ever came. */
struct evbuffer *stream_request_body(struct h2g_stream *s);
/* Has the client finished its request (END_STREAM / last chunk)? */
bool stream_request_ended(const struct h2g_stream *s);
/* The client reset the stream (h2 RST_STREAM). */
bool stream_client_reset(const struct h2g_stream *s);
/* The request's trailers as fields, in an array allocated into *fields
 * (the caller frees it); *n = 0 and *fields = NULL when there are none.
 * 0 or H2G_ERR_NOMEM. */
int stream_request_trailers(const struct h2g_stream *s, struct h2g_field **fields, size_t *n);
/* The upstream's name for logs and the access log ("host:port"). */
void stream_set_upstream_id(struct h2g_stream *s, const char *id, size_t len);
const char *stream_upstream_id(const struct h2g_stream *s);
/* Body bytes so far, in each direction (a tunnel's counters at its end). */
void stream_byte_counts(const struct h2g_stream *s, uint64_t *in, uint64_t *out);
/* The response body buffer, allocated at first use: NULL when out of
 * memory.  Above H2G_STREAM_RESP_CAP the end stops reading its upstream
 * until resume_reading. */
struct evbuffer *stream_resp_body(struct h2g_stream *s);
/* The client's socket, for a tunnel that moves bytes between sockets
 * itself (splice_relay.h): its fd when the client end is a cleartext
 * HTTP/1.1 connection that carries this tunnel, with nothing buffered
 * either way and the client still sending.  Else
 * H2G_CLIENT_SOCKET_BUSY when only bytes in flight (or the tunnel's head,
 * not yet written) are in the way, so that asking again once they have
 * left may succeed; or -1 when it never will (TLS, HTTP/2, the client
 * ended its side, the connection closing).  With `take`, the client end
 * stops reading and writing that socket for good (it still closes it
 * when the stream ends). */
#define H2G_CLIENT_SOCKET_BUSY (-2)
int stream_client_socket(struct h2g_stream *s, bool take);

/* Upstream -> client bytes buffered per stream before the end stops
 * reading (back-pressure, never growth). */
#define H2G_STREAM_RESP_CAP (64 * 1024)
/* A tunnel's: bulk bytes with nobody waiting on a single response.  At
 * 64 KiB, a download cycled every 64 KiB through reading off and on (two
 * epoll_ctl) and a sleep; at 256 KiB (resuming below half the
 * H2G_STREAM_RESP_CAP, stream_response_drained) per 2 GiB down an h2c
 * CONNECT: recv 33,053 -> 16,658, epoll_ctl 65,682 -> 518, context
 * switches 21,950 -> 5,099, and 0.54 -> 0.52 CPU s/GiB (median of 10
 * alternating runs of bench/tunnel's "down h2gate CONNECT", 2 GiB). */
#define H2G_TUNNEL_RESP_CAP (4 * H2G_STREAM_RESP_CAP)
/* A tunnel to a cleartext HTTP/2 client reads its target in batches of
 * H2G_TUNNEL_BATCH (frame-sized chains: each becomes one DATA frame
 * without a copy) and stops reading at H2G_TUNNEL_BULK_CAP; the session then
 * writes it in rounds of up to H2_OUT_BULK (h2_session.h).  A 1 GiB
 * CONNECT download (h2gate pinned to one core, the C client and a python
 * source on the other; medians of 12 alternating runs, CPU s/GiB): 0.48
 * with 128 KiB reads and writes and a 256 KiB cap; 0.285 with 512 KiB
 * batches and cap, and 1 MiB writes; 0.28 -> 0.26 from 512 KiB to 1 MiB
 * batches and cap (the bare relay of bench/relay-floor: 0.30 and 0.24).
 * A stalled client's tunnel stops reading once it holds this cap: it
 * holds at most the cap and one batch (1,320 KiB of RSS in 108). */
#define H2G_TUNNEL_BATCH (1024 * 1024)
#define H2G_TUNNEL_BULK_CAP (16 * H2G_STREAM_RESP_CAP)

/* --- what the end reports --- */

/* The end is the stream's from now on (stream_clear frees it).  A
 * WebSocket's exchange that hands its connection to a tunnel stays until
 * stream_clear too, done. */
void stream_upstream_attach(struct h2g_stream *s, const struct h2g_upstream_ops *ops, void *end);
/* The end could not start after all and gives itself back (the caller
 * frees it and answers with a status). */
void stream_upstream_detach(struct h2g_stream *s);
/* Request body bytes were taken by the upstream: the client may send
 * more (WINDOW_UPDATE / resume reading). */
void stream_upstream_consumed(struct h2g_stream *s, size_t n);
/* The response head (status and HTTP/1.1 fields, translated here), its
 * body (in stream_resp_body), trailers, and its end.  _head and _trailers
 * return 0, or H2G_ERR_NOMEM with the stream untouched: the end then
 * fails (stream_upstream_fail). */
int stream_upstream_head(struct h2g_stream *s, int status, const struct h2g_field *fields, size_t n,
                         bool no_body);
void stream_upstream_data_ready(struct h2g_stream *s);
/* Bytes the end moved between the two sockets itself (after
 * stream_client_socket took the client's): counted as body bytes each
 * way, and the stream's idle clock restarts. */
void stream_tunnel_moved(struct h2g_stream *s, size_t up, size_t down);
int stream_upstream_trailers(struct h2g_stream *s, const struct h2g_field *fields, size_t n);
void stream_upstream_done(struct h2g_stream *s);
/* The end failed and closed its connection: the client is answered
 * `status` (502/504/503/403...) when no response head went out yet and
 * status != 0, else the response is cut with the HTTP/2 error `h2_error`
 * (INTERNAL_ERROR, CANCEL, CONNECT_ERROR). */
void stream_upstream_fail(struct h2g_stream *s, int status, uint32_t h2_error);

/* The status h2gate answers with itself when it runs out of memory for a
 * request: 503 Service Unavailable, a temporary condition the client may
 * retry (RFC 9110 15.6.4), not 500, which says something is broken. */
#define H2G_STATUS_NOMEM 503

#endif
