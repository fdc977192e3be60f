/*
 * stream.h: one client request and its response, whatever the client
 * protocol (an HTTP/2 stream, or one HTTP/1.1 request).
 *
 * Created by the client session (h2_session or h1_session), which owns it
 * and frees it (stream_free) when the client side is done with it.  It has
 * two ends, each behind an ops table: its client end (`ops`, implemented
 * by the session) and its upstream end (`up_ops`, upstream.h: an exchange
 * or a tunnel, which the stream owns).  Neither end knows the other's
 * protocol, and neither touches the stream's fields: the session through
 * the functions below, the upstream end through upstream.h.  The stream
 * ends both ends (stream_clear, and the early endings in stream.c).
 *
 * Its request context (ctx: ids, peer, TLS facts, its configuration
 * snapshot, the worker's services) is filled once by stream_new.
 *
 * Buffers and their caps (back-pressure, never growth):
 *   req_body   client -> upstream bytes not yet accepted by the upstream
 *              socket; bounded by the client's flow-control window (h2:
 *              consumed only once written upstream; h1: reading stops).
 *   resp_body  upstream -> client bytes; above H2G_STREAM_RESP_CAP the
 *              exchange stops reading the upstream until the client drains.
 */
#ifndef H2G_STREAM_H
#define H2G_STREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/h2_to_h1.h"
#include "core/hdr.h"
#include "runtime/request_ctx.h"
#include "upstream/upstream.h"

struct evbuffer;
struct h2g_services;
struct h2g_stream;
struct h2g_tunnel;

/* The client side of a stream, implemented by h2_session and h1_session. */
struct h2g_stream_ops {
    /* An HTTP/2 session (extended CONNECT is answered 200, not 101), with
     * this name in the access log: "h2" over TLS, "h2c" in cleartext. */
    bool h2;
    /* Response head ready (nva[0] is :status).  no_body: the response has
     * no body (HEAD, 204, 304, or an empty local response). */
    int (*send_head)(struct h2g_stream *s, const nghttp2_nv *nva, size_t n, bool no_body);
    /* resp_body grew or the response completed: resume sending. */
    void (*resume)(struct h2g_stream *s);
    /* Request body bytes were accepted by the upstream: let the client
     * send more (WINDOW_UPDATE / resume reading). */
    void (*consumed)(struct h2g_stream *s, size_t n);
    /* The response cannot be completed (head already sent): reset. */
    void (*abort)(struct h2g_stream *s, uint32_t h2_error);
    /* The request asked for "Expect: 100-continue" and is being proxied:
     * tell the client to send its body (interim 100). */
    void (*send_continue)(struct h2g_stream *s);
    /* stream_client_socket (upstream.h): the client's socket fd, or -1;
     * with take, the session lets go of it.  NULL: never (HTTP/2). */
    int (*client_socket)(struct h2g_stream *s, bool take);
};

struct h2g_stream {
    LIST_ENTRY(h2g_stream) link;   /* in the client session's list */
    struct h2g_stream *cache_next; /* in the worker's stream cache */
    struct h2g_request_ctx ctx;    /* filled by stream_new */
    const struct h2g_config *cfg;  /* ctx.cfg: routes, upstreams, ACL, limits */
    const struct h2g_stream_ops *ops;
    void *session;                 /* the client session (borrowed) */
    int32_t id;                    /* ctx.stream_id */

    /* Request head, copied as it arrives. */
    struct h2g_buf store;
    struct h2g_field_ref *fields;
    size_t n_fields, cap_fields;
    struct h2g_field_ref method, scheme, authority, path, protocol; /* len 0 = absent */
    bool has_method, has_scheme, has_authority, has_path, has_protocol;
    int64_t req_content_length;    /* -1: none */
    uint32_t header_bytes;
    bool too_many_fields;          /* max_header_list_pairs / _size: answered 431 */
    bool rejected;                 /* refused at creation (RST sent): ignored */
    bool reset;                    /* h2: RST_STREAM submitted */
    bool client_reset;             /* h2: RST_STREAM received (tunnel_closes) */
    uint32_t stop_ping;            /* h2: response complete before the request: reset once the
                                      stop PING of this number is acknowledged (0: none) */
    bool window_starved;           /* DATA held back: the client's window is too small */
    bool frame_whole;              /* h2: the DATA frame data_read_cb cut is whole chains of
                                      resp_body (send_data_cb relinks them, no copy) */
    bool dispatched;               /* the request head is complete and was routed */
    uint64_t last_active_ms;       /* h2g_mono_ms of the last byte either way (stream_idle) */

    /* Request body. */
    struct evbuffer *req_body;     /* pending for the upstream; lazily allocated */
    bool req_end;                  /* the client finished the request */
    bool req_has_trailers;
    struct h2g_buf req_trailers_store;
    struct h2g_field_ref *req_trailers;
    size_t n_req_trailers;
    uint64_t bytes_in;             /* request body bytes received */
    uint64_t bytes_acked;          /* of which the client was given window back (h2) */

    /* Routing result. */
    const struct h2g_origin_config *origin;
    const struct h2g_route_config *route;
    void *up;                      /* the upstream end (owned), behind up_ops; NULL: none */
    const struct h2g_upstream_ops *up_ops;
    void *up_done;                 /* an end that handed over or failed inside its own */
    const struct h2g_upstream_ops *up_done_ops; /* callback: freed by stream_clear */
    bool tunnel;                   /* a tunnel end was attached: CONNECT / WebSocket bytes */

    /* Response. */
    int status;
    bool head_sent;
    bool resp_no_body;
    bool resp_complete;            /* all body bytes are in resp_body */
    bool resp_failed;
    struct evbuffer *resp_body;    /* lazily allocated */
    struct h2g_buf resp_trailers_store;
    nghttp2_nv *resp_trailers;     /* into resp_trailers_store / exchange */
    size_t n_resp_trailers;
    uint64_t bytes_out;            /* response body bytes sent */

    /* Bookkeeping for the access log and the metrics. */
    uint64_t start_us;
    uint64_t dispatch_us;          /* the request head was complete and routed */
    uint64_t upstream_latency_us;  /* dispatch to the upstream's response head; 0: none */
    uint64_t end_us;               /* closed, as the session saw it; 0: stream_clear reads the clock */
    char upstream_id[96];
    bool logged;
};

/* A new stream, from the worker's cache when it has one (its buffers
 * come along, emptied), with its context filled from the connection's
 * facts and the worker's current snapshot.  NULL when out of memory. */
struct h2g_stream *stream_new(const struct h2g_client_facts *client, const struct h2g_stream_ops *ops,
                              void *session, int32_t id);
/* The stream moves to another client session (h2c upgrade: the HTTP/1.1
 * request becomes HTTP/2 stream `id`). */
void stream_move(struct h2g_stream *s, const struct h2g_stream_ops *ops, void *session, int32_t id);
/* stream_clear, then back to the worker's cache (or freed). */
void stream_free(struct h2g_stream *s);
/* Ends the request (frees the upstream end, logs the access line once);
 * keeps the reusable buffers, emptied. */
void stream_clear(struct h2g_stream *s);
/* Frees the worker's cached streams (worker teardown). */
void stream_cache_free(struct h2g_services *svc);

/* Adds one request field (pseudo or regular; name lowercase).  Returns
 * 0, H2G_ERR_NOMEM, or H2G_ERR_TOO_LARGE past max_header_list_pairs. */
int stream_add_field(struct h2g_stream *s, const char *name, size_t nlen, const char *value,
                     size_t vlen);
int stream_add_trailer(struct h2g_stream *s, const char *name, size_t nlen, const char *value,
                       size_t vlen);

/* The request head is complete: route it and start the upstream end, or
 * answer locally (404/421/502/...). */
void stream_dispatch(struct h2g_stream *s);
/* Client request body bytes arrived.  0: bytes that cannot be buffered
 * fail this stream alone (503, or a reset once the head is out). */
int stream_request_data(struct h2g_stream *s, const uint8_t *p, size_t n);
/* The client finished its request (END_STREAM / last chunk). */
void stream_request_end(struct h2g_stream *s);

/* Answers locally with a small text body. */
void stream_respond_error(struct h2g_stream *s, int status);

/*
 * timeouts.stream_idle passed with no byte moving either way (the client
 * session measures it; tunnels are timed by tunnel_idle instead).  The
 * upstream end is freed first, so its connection is closed and nothing
 * half-sent stays pinned.  With no response started the client is
 * answered 504 when h2gate waits for the upstream (the request is
 * complete, or the upstream is not taking the body) and 408 when the
 * client stopped sending its body; the session then ends the stream as
 * after any response that comes before the end of its request.  A
 * response under way is cut (ops->abort, CANCEL).
 */
void stream_timed_out(struct h2g_stream *s);
/* The response is complete and nobody will read the rest of the request
 * (an early answer): the upstream end is freed, its connection closed. */
void stream_drop_upstream(struct h2g_stream *s);

/* The client side drained resp_body: let the upstream end read on. */
void stream_response_drained(struct h2g_stream *s);
/* A tunnel's client side has written everything and holds no byte of
 * it (upstream ops client_flushed). */
void stream_client_flushed(struct h2g_stream *s);

/* The request body buffer, allocated at first use: NULL when out of memory. */
struct evbuffer *stream_req_body(struct h2g_stream *s);
const char *stream_str(const struct h2g_stream *s, struct h2g_field_ref r);
/* "h2", "h2c" or "http/1.1". */
const char *stream_client_proto(const struct h2g_stream *s);
/* Did the stream become a tunnel (CONNECT, a tunnel: route, a WebSocket)?
 * Is that tunnel still working (stream_idle does not time it then)?  And
 * the tunnel itself, for the control socket (NULL when not one). */
bool stream_is_tunnel(const struct h2g_stream *s);
bool stream_tunnel_live(const struct h2g_stream *s);
const struct h2g_tunnel *stream_tunnel(const struct h2g_stream *s);

#endif
