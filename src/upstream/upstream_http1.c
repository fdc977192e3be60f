#include "upstream/upstream_http1.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/balance.h"
#include "core/config.h"
#include "core/errors.h"
#include "runtime/evbuf.h"
#include "core/h1_parse.h"
#include "core/h2_to_h1.h"
#include "runtime/log.h"
#include "runtime/recycle.h"
#include "runtime/services.h"
#include "upstream/tunnel.h"
#include "upstream/upstream.h"
#include "upstream/upstream_pool.h"
#include "upstream/upstream_tls.h"

/* Request body bytes are acknowledged to the client only while less than
 * this much waits in the upstream socket's output buffer. */
#define REQ_OUT_CAP (64 * 1024)

enum ex_state {
    EX_CONNECTING, /* waiting for a connection */
    EX_SENDING,    /* head written; body may still flow; no response yet */
    EX_RECEIVING,  /* final response head received; body flowing */
    EX_DONE,       /* response complete, connection given back */
    EX_FAILED,     /* reported to the stream; nothing more happens */
};

struct h2g_exchange {
    struct h2g_exchange *cache_next; /* in the worker's exchange cache */
    struct h2g_stream *s;                /* owns the exchange (upstream.h) */
    const struct h2g_request_ctx *ctx;   /* the stream's */
    struct h2g_services *svc;
    enum ex_state state;
    struct h2g_upstream_pool *pool;
    size_t up_idx;
    const struct h2g_upstream_tls *tls; /* https://: the route's context */
    struct h2g_upstream_conn *uc;
    struct h1_parser parser;
    struct h2g_buf head;        /* request head, kept for one retry */
    enum h2g_body_framing framing;
    bool req_done_written;
    bool body_sent;             /* body bytes left for the upstream: no replay */
    bool got_bytes;             /* the upstream answered something */
    bool retried;
    size_t unacked;             /* body bytes written upstream, not yet acked to the client */
    const char *feed_base;      /* the input slice being parsed (ex_read_cb): the first chain */
    size_t feed_len;            /* its length */
    size_t feed_taken;          /* how much of it on_data already removed from the input */
    size_t delivered;           /* body bytes on_data moved to the stream in this ex_read_cb */
    bool head_direct;           /* the head waits for send_head_now, not in the output buffer */
    bool ws;                    /* WebSocket upgrade: body bytes wait for the 101 */
    bool upgraded;              /* the 101 arrived and checked out */
    char ws_accept[32];         /* the Sec-WebSocket-Accept we expect */
};

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* RFC 6455 4.2.2: base64(SHA-1(key + GUID)).  false when OpenSSL could
 * not digest (its context is allocated: out of memory). */
static bool ws_accept_for(const char *key, size_t len, char out[32])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char buf[128];
    if (len > sizeof(buf) - sizeof(WS_GUID))
        len = sizeof(buf) - sizeof(WS_GUID);
    memcpy(buf, key, len);
    memcpy(buf + len, WS_GUID, sizeof(WS_GUID) - 1);
    if (SHA1((const unsigned char *)buf, len + sizeof(WS_GUID) - 1, md) == NULL)
        return false;
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    return true;
}

static void ex_read_cb(struct bufferevent *bev, void *arg);
static void exchange_free(struct h2g_exchange *ex);
static const struct h2g_upstream_ops exchange_ops;

/* Looked up each time, never kept: a reload frees the worker's balance
 * state while exchanges of the old snapshot are still in flight (they
 * then get NULL: their route is not in the worker's snapshot any more). */
static struct h2g_balance *balance_of(struct h2g_exchange *ex)
{
    return services_balance(ex->svc, stream_route(ex->s));
}

/* The upstream answered: healthy again, as the route's upstream and (a
 * host name's) as an address. */
static void ex_upstream_ok(struct h2g_exchange *ex)
{
    struct h2g_balance *b = balance_of(ex);
    if (b != NULL)
        h2g_balance_ok(b, ex->up_idx);
    if (ex->pool->has_ip)
        upstream_pool_health(ex->pool, true);
}

/* The upstream failed before a response: skipped for a while. */
static void ex_upstream_failed(struct h2g_exchange *ex)
{
    struct h2g_balance *b = balance_of(ex);
    if (b != NULL)
        h2g_balance_fail(b, ex->up_idx, h2g_mono_ms(), H2G_BALANCE_RETRY_AFTER_MS);
    if (ex->pool->has_ip)
        upstream_pool_health(ex->pool, false);
}

static void ex_write_cb(struct bufferevent *bev, void *arg);
static void ex_event_cb(struct bufferevent *bev, short what, void *arg);

static void set_read_timeout(struct h2g_exchange *ex, uint64_t ms)
{
    sockread_set_timeout(&ex->uc->rd, ms);
}

/* The exchange is over without a response: its connection is closed (a
 * request cut short leaves it in an unknown state) and the stream fails. */
static void ex_end(struct h2g_exchange *ex, int status)
{
    ex->state = EX_FAILED;
    upstream_conn_abort(ex->uc);
    ex->uc = NULL;
    stream_upstream_fail(ex->s, status, NGHTTP2_INTERNAL_ERROR);
}

static void ex_fail(struct h2g_exchange *ex, int status, const char *why)
{
    LOG_WARN("conn=%llu stream=%d: upstream %s: %s", (unsigned long long)ex->ctx->client->conn_id,
             ex->ctx->stream_id, ex->pool->id, why);
    STAT_INC(&ex->svc->stats, upstream_errors);
    if (ex->state == EX_CONNECTING)
        STAT_INC(&ex->svc->stats, upstream_connect_errors);
    if (status == 504)
        STAT_INC(&ex->svc->stats, upstream_timeouts);
    ex_end(ex, status);
}

/* Out of memory for what the exchange had to buffer or write: not the
 * upstream's fault (no upstream error counted).  A request that could
 * not be written whole must not be finished later, so the connection
 * goes with it; the client gets 503, or a reset once the head is out. */
static void ex_nomem(struct h2g_exchange *ex)
{
    LOG_WARN("conn=%llu stream=%d: upstream %s: out of memory", (unsigned long long)ex->ctx->client->conn_id,
             ex->ctx->stream_id, ex->pool->id);
    ex_end(ex, H2G_STATUS_NOMEM);
}

static void ack_body(struct h2g_exchange *ex)
{
    if (ex->unacked == 0 || ex->uc == NULL)
        return;
    if (evbuffer_get_length(ex->uc->out) >= REQ_OUT_CAP)
        return;
    size_t n = ex->unacked;
    ex->unacked = 0;
    stream_upstream_consumed(ex->s, n);
}

/* The last chunk with the request's trailers.  0 or H2G_ERR_NOMEM. */
static int write_trailers(struct h2g_exchange *ex, struct evbuffer *out)
{
    struct h2g_field *tf;
    size_t n;
    if (stream_request_trailers(ex->s, &tf, &n) != 0)
        return H2G_ERR_NOMEM;
    if (n == 0)
        return evbuffer_add(out, "0\r\n\r\n", 5) == 0 ? 0 : H2G_ERR_NOMEM;
    struct h2g_buf tb = {0};
    int rc = H2G_ERR_NOMEM;
    if (h2_to_h1_trailers(tf, n, &tb) == 0 && evbuffer_add(out, tb.data, tb.len) == 0)
        rc = 0;
    h2g_buf_clear(&tb);
    free(tf);
    return rc;
}

/* Writes what the stream has of the request body (and its end) to the
 * upstream.  false when it failed the exchange (out of memory). */
static bool request_progress(struct h2g_exchange *ex)
{
    struct h2g_stream *s = ex->s;
    struct evbuffer *out = ex->uc->out;
    struct evbuffer *body = stream_request_body(s);
    size_t n = body != NULL ? evbuffer_get_length(body) : 0;
    if (n > 0) {
        /* Linking the body's chains allocates nothing; a chunk's size
         * line and CRLF can fail, and then the chunk is never finished. */
        if (ex->framing == H2G_BODY_CHUNKED) {
            if (evbuffer_add_printf(out, "%zx\r\n", n) < 0 || evbuffer_add_buffer(out, body) != 0 ||
                evbuffer_add(out, "\r\n", 2) != 0) {
                ex_nomem(ex);
                return false;
            }
        } else if (evbuffer_add_buffer(out, body) != 0) {
            ex_nomem(ex);
            return false;
        }
        ex->unacked += n;
        ex->body_sent = true;
    }
    if (stream_request_ended(s) && !ex->req_done_written) {
        ex->req_done_written = true;
        if (ex->framing == H2G_BODY_CHUNKED && write_trailers(ex, out) != 0) {
            ex_nomem(ex);
            return false;
        }
        /* upstream_response: from the request sent to the response
         * head, however its bytes trickle in (h2gate.yaml(5)). */
        if (ex->state == EX_SENDING)
            sockread_set_deadline(&ex->uc->rd, ex->ctx->cfg->timeouts.upstream_response);
    }
    sockread_flush_soon(&ex->uc->rd);
    ack_body(ex);
    return true;
}

static void exchange_request_progress(void *end)
{
    struct h2g_exchange *ex = end;
    if (ex->uc == NULL || ex->state == EX_CONNECTING || ex->state >= EX_DONE || ex->ws)
        return;
    request_progress(ex);
}

static void write_head(struct h2g_exchange *ex)
{
    ex->state = EX_SENDING;
    bufferevent_setcb(ex->uc->bev, NULL, ex_write_cb, ex_event_cb, ex);
    if (!ex->uc->reused)
        bufferevent_set_timeouts(ex->uc->bev, NULL, NULL); /* the connect timeout */
    sockread_setcb(&ex->uc->rd, ex_read_cb, ex_write_cb, ex_event_cb, ex);
    /* A frame above the stream's cap: a response of exactly the cap (64
     * KiB) plus its head is then read in one event, not in two (the
     * stream's buffer, not this, is what pauses reading). */
    sockread_set_high(&ex->uc->rd, H2G_STREAM_RESP_CAP + SOCKREAD_FRAME_CHUNK);
    /* Writes go out directly (sockwrite_flush): EV_WRITE only while a
     * write is pending. */
    if (bufferevent_get_enabled(ex->uc->bev) & EV_WRITE)
        bufferevent_disable(ex->uc->bev, EV_WRITE);
    /* A request without a body whose head is all there is to send goes
     * out with one send(2) from the head buffer at the end of the loop
     * turn (ex_write_cb), not through the output buffer. */
    if (ex->framing == H2G_BODY_NONE && stream_request_ended(ex->s) && !ex->ws && !ex->uc->tls &&
        evbuffer_get_length(ex->uc->out) == 0) {
        ex->head_direct = true;
    } else if (evbuffer_add(ex->uc->out, ex->head.data, ex->head.len) != 0) {
        /* Without its head, the body would reach the upstream as a
         * request of its own. */
        ex_nomem(ex);
        return;
    }
    if (sockread_enable(&ex->uc->rd) != 0) {
        ex_nomem(ex); /* its event could not be made */
        return;
    }
    if (!ex->ws && !request_progress(ex))
        return;
    sockread_flush_soon(&ex->uc->rd);
}

static int connect_upstream(struct h2g_exchange *ex, bool allow_idle)
{
    ex->uc = allow_idle ? upstream_pool_take(ex->pool) : NULL;
    if (ex->uc != NULL) {
        write_head(ex);
        return 0;
    }
    ex->state = EX_CONNECTING;
    ex->uc = upstream_conn_connect(ex->pool, ex->ctx->cfg->timeouts.upstream_connect, ex->tls);
    if (ex->uc == NULL)
        return -1;
    /* Until connected, the bufferevent watches the connect (and its
     * timeout, as a write timeout). */
    bufferevent_setcb(ex->uc->bev, NULL, ex_write_cb, ex_event_cb, ex);
    bufferevent_enable(ex->uc->bev, EV_WRITE);
    return 0;
}

/* --- response parsing --- */

static int on_head(void *arg, const struct h1_head *h)
{
    struct h2g_exchange *ex = arg;
    if (h->status == 101 && ex->ws) {
        const struct h2g_field *acc = NULL;
        for (size_t i = 0; i < h->n_fields; i++)
            if (h2g_hdr_lookup(h->fields[i].name, h->fields[i].name_len) == H2G_HDR_SEC_WEBSOCKET_ACCEPT)
                acc = &h->fields[i];
        size_t want = strlen(ex->ws_accept);
        if (acc == NULL || acc->value_len != want || memcmp(acc->value, ex->ws_accept, want) != 0) {
            ex->parser.reason = "101 without the right Sec-WebSocket-Accept";
            return H2G_ERR_MALFORMED;
        }
        ex->upgraded = true;
        return 0;
    }
    if (h->status < 200) {
        /* 100 Continue and other interim answers are not forwarded: the
         * client's body already flows under HTTP/2 flow control. */
        if (h->status == 101)
            return H2G_ERR_MALFORMED; /* no upgrade was asked for */
        return 0;
    }
    int rc = stream_upstream_head(ex->s, h->status, h->fields, h->n_fields, h->body == H1_BODY_NONE);
    if (rc != 0)
        return rc;
    ex->state = EX_RECEIVING;
    set_read_timeout(ex, ex->ctx->cfg->timeouts.stream_idle);
    return 0;
}

/*
 * Body bytes are slices of the first chain of the connection's input,
 * which ex_read_cb is feeding.  They leave that buffer here, in order:
 * the bytes before the slice (framing) are drained, and the slice moves
 * to the stream's buffer -- a whole chain is relinked, not copied, when
 * the slice runs to its end (a large Content-Length body).  Neither frees
 * memory the parser has yet to read: a drained gap ends inside the chain
 * the slice is in, and a moved chain stays alive in resp_body.
 */
static int on_data(void *arg, const char *p, size_t len)
{
    struct h2g_exchange *ex = arg;
    size_t off = (size_t)(p - ex->feed_base);
    struct evbuffer *in = ex->uc->in;
    if (off > ex->feed_taken)
        evbuffer_drain(in, off - ex->feed_taken);
    struct evbuffer *body = stream_resp_body(ex->s);
    if (body == NULL)
        return H2G_ERR_NOMEM;
    if (off + len == ex->feed_len) {
        /* To the chain's end: relinked, nothing to allocate. */
        evbuffer_remove_buffer(in, body, len);
    } else {
        struct evbuf_piece piece = {p, len};
        if (evbuf_add_all(body, &piece, 1) != 0)
            return H2G_ERR_NOMEM;
        evbuffer_drain(in, len);
    }
    ex->feed_taken = off + len;
    ex->delivered += len;
    return 0;
}

static int on_trailers(void *arg, const struct h2g_field *f, size_t n)
{
    struct h2g_exchange *ex = arg;
    return stream_upstream_trailers(ex->s, f, n);
}

static int on_complete(void *arg)
{
    return 0;
}

static const struct h1_parser_cb parser_cb = {on_head, on_data, on_trailers, on_complete};

/* The upstream switched to WebSocket: its connection becomes the tunnel,
 * and the client hears 200 (HTTP/2, RFC 8441 5) or the 101 (HTTP/1.1). */
static void finish_upgrade(struct h2g_exchange *ex)
{
    struct h2g_stream *s = ex->s;
    const struct h1_head *h = &ex->parser.head;
    ex->state = EX_DONE;
    ex_upstream_ok(ex);
    struct bufferevent *bev = upstream_conn_detach(ex->uc);
    ex->uc = NULL;
    struct h2g_tunnel *t = tunnel_adopt(s, bev);
    if (t == NULL) {
        bufferevent_free(bev);
        stream_upstream_fail(s, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (!tunnel_is_live(t))
        return; /* bytes that came with the 101 could not be handed on: answered */
    if (stream_client_is_h2(s)) {
        struct h2g_field keep[2];
        size_t n = 0;
        for (size_t i = 0; i < h->n_fields && n < 2; i++) {
            enum h2g_hdr_token tok = h2g_hdr_lookup(h->fields[i].name, h->fields[i].name_len);
            if (tok == H2G_HDR_SEC_WEBSOCKET_PROTOCOL || tok == H2G_HDR_SEC_WEBSOCKET_EXTENSIONS)
                keep[n++] = h->fields[i];
        }
        if (stream_upstream_head(s, 200, keep, n, false) != 0)
            stream_upstream_fail(s, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR);
    } else if (stream_upstream_head(s, 101, h->fields, h->n_fields, false) != 0) {
        stream_upstream_fail(s, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR);
    }
}

static void finish(struct h2g_exchange *ex, bool reusable)
{
    ex->state = EX_DONE;
    ex_upstream_ok(ex);
    upstream_conn_release(ex->uc, reusable);
    ex->uc = NULL;
    stream_upstream_done(ex->s);
}

static void ex_read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_exchange *ex = arg;
    struct evbuffer *in = ex->uc->in;
    if (ex->state != EX_SENDING && ex->state != EX_RECEIVING)
        return;
    ex->delivered = 0;
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ex->got_bytes = true;
        size_t used = 0;
        ex->feed_base = v.iov_base;
        ex->feed_len = v.iov_len;
        ex->feed_taken = 0; /* on_data takes body bytes out as it goes */
        int rc = h1_parser_feed(&ex->parser, v.iov_base, v.iov_len, &used);
        if (used > ex->feed_taken)
            evbuffer_drain(in, used - ex->feed_taken);
        if (ex->upgraded) {
            finish_upgrade(ex);
            return;
        }
        if (rc == H2G_ERR_PAUSED) {
            /* Complete.  Extra bytes after the response mean the upstream
             * is out of step with us: never reuse that connection. */
            bool reusable = llhttp_should_keep_alive(&ex->parser.ll) && ex->req_done_written &&
                            evbuffer_get_length(in) == 0;
            finish(ex, reusable);
            return;
        }
        if (rc == H2G_ERR_NOMEM) {
            ex_nomem(ex);
            return;
        }
        if (rc != 0) {
            if (ex->state == EX_SENDING)
                ex_fail(ex, 502, ex->parser.reason ? ex->parser.reason : "invalid response");
            else
                ex_fail(ex, 0, ex->parser.reason ? ex->parser.reason : "invalid response body");
            return;
        }
    }
    if (ex->delivered == 0)
        return;
    if (evbuffer_get_length(stream_resp_body(ex->s)) >= H2G_STREAM_RESP_CAP)
        sockread_disable(&ex->uc->rd);
    stream_upstream_data_ready(ex->s);
}

/* The head of a bodiless request (write_head): what the socket does not
 * take, and any error, is left to the bufferevent, as for any write. */
static void send_head_now(struct h2g_exchange *ex)
{
    ex->head_direct = false;
    ssize_t n = send(bufferevent_getfd(ex->uc->bev), ex->head.data, ex->head.len, MSG_NOSIGNAL);
    if (n < 0)
        n = 0;
    if ((size_t)n < ex->head.len) {
        if (evbuffer_add(ex->uc->out, ex->head.data + n, ex->head.len - (size_t)n) != 0) {
            ex_nomem(ex); /* the rest of the head is lost */
            return;
        }
        bufferevent_enable(ex->uc->bev, EV_WRITE);
    }
}

static void ex_write_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_exchange *ex = arg;
    if (ex->head_direct && ex->uc != NULL) {
        send_head_now(ex);
        return;
    }
    /* Drained: back to direct writes. */
    if (ex->state != EX_CONNECTING && (bufferevent_get_enabled(bev) & EV_WRITE) &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
    ack_body(ex);
}

static void ex_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2g_exchange *ex = arg;
    if (what & BEV_EVENT_CONNECTED) {
        /* A connection by name has its socket only now. */
        int one = 1;
        if (!ex->uc->nodelay)
            setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (ex->uc->tls)
            upstream_tls_ready(bev, ex->pool, false, &ex->uc->tls_resumed);
        write_head(ex);
        return;
    }
    if (ex->state == EX_CONNECTING) {
        ex_upstream_failed(ex);
        char why[256];
        if (what & BEV_EVENT_TIMEOUT) {
            STAT_INC(&ex->svc->stats, timeouts[H2G_TIMEOUT_UPSTREAM_CONNECT]);
            ex_fail(ex, 504, "connect timed out");
        } else if (ex->uc->tls) {
            ex_fail(ex, 502, upstream_tls_failure(bev, why, sizeof(why)));
        } else if (what & BEV_EVENT_ERROR) {
            int dns = bufferevent_socket_get_dns_error(bev);
            ex_fail(ex, 502, dns ? evutil_gai_strerror(dns) : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        } else
            ex_fail(ex, 502, "connect failed");
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        STAT_INC(&ex->svc->stats,
                 timeouts[ex->state == EX_SENDING ? H2G_TIMEOUT_UPSTREAM_RESPONSE : H2G_TIMEOUT_RESPONSE_BODY]);
        ex_fail(ex, ex->state == EX_SENDING ? 504 : 0,
                ex->state == EX_SENDING ? "response timed out" : "response body stalled");
        return;
    }
    if ((what & BEV_EVENT_READING) && (what & BEV_EVENT_ERROR) && errno == ENOMEM) {
        ex_nomem(ex); /* no buffer to read into (sockread.h): the upstream did nothing wrong */
        return;
    }
    /* EOF or error. */
    if (ex->state == EX_SENDING && !ex->got_bytes && ex->uc->reused && !ex->retried && !ex->body_sent) {
        /* A kept-alive connection the upstream closed meanwhile: try once
         * more on a fresh connection, nothing was lost. */
        ex->retried = true;
        upstream_conn_release(ex->uc, false);
        ex->uc = NULL;
        if (connect_upstream(ex, false) != 0) {
            if (errno == ENOMEM)
                ex_nomem(ex);
            else
                ex_fail(ex, 502, "cannot connect");
        }
        return;
    }
    if (ex->state == EX_RECEIVING && (what & BEV_EVENT_EOF)) {
        struct evbuffer *in = bufferevent_get_input(bev);
        if (evbuffer_get_length(in) > 0)
            ex_read_cb(bev, ex);
        if (ex->state != EX_RECEIVING)
            return;
        if (h1_parser_finish(&ex->parser) == 0) {
            stream_upstream_data_ready(ex->s);
            finish(ex, false);
            return;
        }
    }
    if (ex->state == EX_SENDING && !ex->got_bytes)
        ex_upstream_failed(ex);
    ex_fail(ex, ex->state == EX_SENDING ? 502 : 0,
            ex->state == EX_SENDING ? "connection closed before a response"
                                    : "connection closed mid-response");
}

/* Buffers a cached exchange keeps only up to these sizes. */
#define CACHE_HEAD_MAX 2048
#define CACHE_FIELDS_MAX 32

static void release_buffers(struct h2g_exchange *ex)
{
    h1_parser_clear(&ex->parser);
    h2g_buf_clear(&ex->head);
}

/* From the worker's cache when it has one: the parser's storage and the
 * head buffer come along, emptied. */
static struct h2g_exchange *exchange_new(struct h2g_services *svc)
{
    struct h2g_exchange *ex = svc->ex_cache;
    if (ex != NULL) {
        svc->ex_cache = ex->cache_next;
        svc->n_ex_cache--;
        struct h1_parser parser = ex->parser;
        struct h2g_buf head = ex->head;
        memset(ex, 0, sizeof(*ex));
        ex->parser = parser; /* h1_parser_reinit'ed by exchange_start */
        ex->head = head;
        h2g_buf_reset(&ex->head);
    } else if ((ex = calloc(1, sizeof(*ex))) == NULL) {
        return NULL;
    }
    ex->svc = svc;
    return ex;
}

/* The route's upstream for this exchange and its pool
 * (upstream_pool_for_route).  false when there is none. */
static bool choose_upstream(struct h2g_exchange *ex, const struct h2g_route_config *r)
{
    ex->pool = upstream_pool_for_route(ex->svc, ex->s, r, false, &ex->up_idx, &ex->tls);
    return ex->pool != NULL;
}

/* How the request body goes upstream.  A WebSocket request has none:
 * what the client sends is tunnel data, held until the upstream agrees
 * (101).  A request that ended without a body is sent without framing,
 * but POST, PUT and PATCH get Content-Length: 0 (RFC 9110 8.6: their
 * methods give content a meaning).  A body of unknown length is chunked. */
static void choose_framing(struct h2g_exchange *ex, const struct h2g_request_head *req)
{
    uint64_t body_in, body_out;
    stream_byte_counts(ex->s, &body_in, &body_out);
    if (req->protocol != NULL) {
        ex->ws = true;
        ex->framing = H2G_BODY_NONE;
        ex->req_done_written = true;
    } else if (stream_request_ended(ex->s) && body_in == 0) {
        enum h2g_method method = h2g_method_lookup(req->method, req->method_len);
        bool needs_length = method == H2G_METHOD_POST || method == H2G_METHOD_PUT || method == H2G_METHOD_PATCH;
        ex->framing = needs_length ? H2G_BODY_LENGTH : H2G_BODY_NONE;
    } else if (stream_request_content_length(ex->s) >= 0) {
        ex->framing = H2G_BODY_LENGTH;
    } else {
        ex->framing = H2G_BODY_CHUNKED;
    }
}

/* Completes a WebSocket request head (RFC 6455 4.1): an HTTP/1.1 client
 * brought its own Sec-WebSocket-Key; for HTTP/2 (no key in RFC 8441)
 * h2gate makes one, and remembers the Sec-WebSocket-Accept the upstream
 * must answer.  0, or the status to answer: 500 (no random bytes), 503. */
static int add_websocket_head(struct h2g_exchange *ex, const struct h2g_request_head *req)
{
    const char *key = NULL;
    size_t key_len = 0;
    bool has_version = false;
    for (size_t i = 0; i < req->n_fields; i++) {
        enum h2g_hdr_token t = h2g_hdr_lookup(req->fields[i].name, req->fields[i].name_len);
        if (t == H2G_HDR_SEC_WEBSOCKET_KEY)
            key = req->fields[i].value, key_len = req->fields[i].value_len;
        else if (t == H2G_HDR_SEC_WEBSOCKET_VERSION)
            has_version = true;
    }
    char made[32];
    ex->head.len -= 2; /* reopen the head before its blank line */
    unsigned char raw[16];
    if (key == NULL && RAND_bytes(raw, sizeof(raw)) != 1) {
        char why[128] = "RAND_bytes failed";
        unsigned long e = ERR_get_error();
        if (e != 0)
            ERR_error_string_n(e, why, sizeof(why));
        LOG_WARN("conn=%llu stream=%d: no random bytes for a Sec-WebSocket-Key: %s",
                 (unsigned long long)ex->ctx->client->conn_id, ex->ctx->stream_id, why);
        return 500;
    }
    if (key == NULL) {
        EVP_EncodeBlock((unsigned char *)made, raw, sizeof(raw));
        key = made;
        key_len = strlen(made);
        if (h2g_buf_printf(&ex->head, "Sec-WebSocket-Key: %s\r\n", made) != 0)
            return H2G_STATUS_NOMEM;
    }
    if ((!has_version && h2g_buf_puts(&ex->head, "Sec-WebSocket-Version: 13\r\n") != 0) ||
        h2g_buf_puts(&ex->head, "\r\n") != 0 || !ws_accept_for(key, key_len, ex->ws_accept))
        return H2G_STATUS_NOMEM;
    return 0;
}

/* The HTTP/1.1 request head into ex->head.  0, or the status to answer:
 * 400 (not expressible in HTTP/1.1), 500, 503. */
static int build_head(struct h2g_exchange *ex, bool *is_head)
{
    const struct h2g_request_ctx *ctx = ex->ctx;
    struct h2g_request_head req;
    struct h2g_field stack[32];
    struct h2g_field *tmp = NULL;
    if (stream_request_head(ex->s, &req, stack, 32, &tmp) != 0)
        return H2G_STATUS_NOMEM;
    *is_head = h2g_method_lookup(req.method, req.method_len) == H2G_METHOD_HEAD;
    choose_framing(ex, &req);
    struct h2g_forward_info fwd = {
        .client_addr = ctx->client->peer_ip,
        .client_is_ipv6 = ctx->client->peer_ipv6,
        .proto = ctx->client->tls ? "https" : "http",
    };
    int64_t content_length = stream_request_content_length(ex->s);
    uint64_t clen = content_length >= 0 ? (uint64_t)content_length : 0;
    const char *err = h2_to_h1_request(&req, &fwd, ex->framing, clen, &ex->head);
    int status = 0;
    if (err == NULL && ex->ws)
        status = add_websocket_head(ex, &req);
    free(tmp);
    if (status != 0)
        return status;
    if (err != NULL) {
        LOG_INFO("conn=%llu stream=%d: request refused: %s", (unsigned long long)ctx->client->conn_id,
                 ctx->stream_id, err);
        return err == h2g_msg_nomem ? H2G_STATUS_NOMEM : 400;
    }
    return 0;
}

int exchange_start(struct h2g_stream *s)
{
    const struct h2g_request_ctx *ctx = stream_ctx(s);
    struct h2g_exchange *ex = exchange_new(ctx->svc);
    if (ex == NULL)
        return H2G_STATUS_NOMEM;
    ex->s = s;
    ex->ctx = ctx;
    if (!choose_upstream(ex, stream_route(s))) {
        exchange_free(ex);
        return H2G_STATUS_NOMEM;
    }
    bool is_head = false;
    int status = build_head(ex, &is_head);
    if (status != 0) {
        exchange_free(ex);
        return status;
    }
    h1_parser_reinit(&ex->parser, true, ctx->cfg->limits.max_header_list_size, &parser_cb, ex);
    h1_parser_expect_head(&ex->parser, is_head);
    stream_upstream_attach(s, &exchange_ops, ex);
    if (connect_upstream(ex, true) != 0) {
        int e = errno;
        stream_upstream_detach(s);
        exchange_free(ex);
        return e == ENOMEM ? H2G_STATUS_NOMEM : 502;
    }
    return 0;
}

static bool exchange_waiting(const void *end)
{
    const struct h2g_exchange *ex = end;
    return ex->state == EX_CONNECTING ||
           (ex->state == EX_SENDING && ex->uc != NULL && evbuffer_get_length(ex->uc->out) > 0);
}

static bool exchange_reading_paused(const void *end)
{
    const struct h2g_exchange *ex = end;
    return ex->uc != NULL && ex->state == EX_RECEIVING && !ex->uc->rd.enabled;
}

static void exchange_resume_reading(void *end)
{
    struct h2g_exchange *ex = end;
    if (ex->uc != NULL && ex->state == EX_RECEIVING)
        sockread_enable(&ex->uc->rd);
}

static void exchange_free(struct h2g_exchange *ex)
{
    if (ex == NULL)
        return;
    /* An exchange cut short leaves the upstream connection in an unknown
     * state: close it. */
    upstream_conn_abort(ex->uc);
    ex->uc = NULL;
    struct h2g_services *svc = ex->svc;
    if (!H2G_RECYCLE || svc->n_ex_cache >= H2G_OBJ_CACHE_MAX || ex->head.cap > CACHE_HEAD_MAX ||
        ex->parser.store.cap > CACHE_HEAD_MAX || ex->parser.tstore.cap > CACHE_HEAD_MAX ||
        ex->parser.f_cap > CACHE_FIELDS_MAX) {
        release_buffers(ex);
        free(ex);
        return;
    }
    ex->cache_next = svc->ex_cache;
    svc->ex_cache = ex;
    svc->n_ex_cache++;
}

static bool exchange_live(const void *end)
{
    const struct h2g_exchange *ex = end;
    return ex->state != EX_FAILED;
}

static void exchange_free_end(void *end)
{
    exchange_free(end);
}

static const struct h2g_upstream_ops exchange_ops = {
    .tunnel = false,
    .request_progress = exchange_request_progress,
    .reading_paused = exchange_reading_paused,
    .resume_reading = exchange_resume_reading,
    .waiting = exchange_waiting,
    .live = exchange_live,
    .free = exchange_free_end,
};

void exchange_cache_free(struct h2g_services *svc)
{
    struct h2g_exchange *ex;
    while ((ex = svc->ex_cache) != NULL) {
        svc->ex_cache = ex->cache_next;
        release_buffers(ex);
        free(ex);
    }
    svc->n_ex_cache = 0;
}
