#include "edge/h1_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge/conn.h"
#include "core/errors.h"
#include "runtime/evbuf.h"
#include "core/h1_parse.h"
#include "core/h1_resp.h"
#include "edge/h2_session.h"
#include "core/hdr.h"
#include "edge/listener.h"
#include "runtime/log.h"
#include "core/path.h"
#include "runtime/services.h"
#include "stream/stream.h"
#include "core/units.h"

/* Output above this stops moving response bytes (the client is slow). */
#define H1_OUT_CAP (64 * 1024)
/* Request body bytes handed on but not yet accepted upstream above this
 * stop reading the client. */
#define H1_IN_CAP (64 * 1024)

struct h2g_h1_session {
    struct h2g_conn *conn;
    struct h1_parser parser;
    struct h2g_stream *s;      /* the request being served, or NULL */
    int32_t n_requests;
    struct event *pump_ev;     /* deferred work, never inside another object's callback */
    size_t unconsumed;         /* request body bytes not yet accepted upstream */
    bool read_paused;
    bool req_complete;         /* the parser finished the current request */
    bool client_keep_alive;
    bool http10;
    bool resp_chunked;
    bool resp_close_delimited;
    bool head_written;
    bool aborted;
    bool draining;
    bool closing;
    bool upgrading;            /* CONNECT or Upgrade: websocket asked for */
    bool head_started;         /* bytes of a request head arrived, the head is not complete */
    bool tunnel;               /* the connection is now a raw byte tunnel */
    bool spliced;              /* and its tunnel moves the socket's bytes itself (client_socket) */
    /* h2c upgrade found in the current head */
    bool upgrade_h2c;
    uint8_t *h2_settings;
    size_t h2_settings_len;
};

static const struct h2g_stream_ops h1_stream_ops;
static int add_closing_answer(struct evbuffer *out, int status);

static void schedule_pump(struct h2g_h1_session *h)
{
    event_active(h->pump_ev, EV_TIMEOUT, 0);
}

/* The connection's timer: while no request is in flight it bounds the
 * wait for a whole request head (the first is part of the handshake, the
 * seeds' unknownProtocolTimeout; later ones keep-alive idleness); while
 * one is, stream_idle (h1_session_on_timer). */
static void arm_timer(struct h2g_h1_session *h, uint64_t ms)
{
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(h->conn->timer, &tv);
}

static void arm_idle(struct h2g_h1_session *h)
{
    const struct h2g_timeouts *t = &h->conn->config->timeouts;
    arm_timer(h, h->n_requests == 0 ? t->handshake : t->idle);
}

/* --- request parsing --- */

/* HTTP2-Settings is base64url without padding (RFC 7540 3.2.1).  OpenSSL
 * decodes only the standard alphabet, padded: the value is checked and
 * translated into a padded copy first.  Accepted as before the decoding
 * moved to OpenSSL: either alphabet ('-' or '+', '_' or '/'), any '='
 * at the end only, and a last lone character (6 bits, no whole byte)
 * ignored.  NULL for any other byte, or out of memory. */
static uint8_t *b64url_decode(const char *in, size_t len, size_t *out_len)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len > (size_t)INT_MAX - 3)
        return NULL;
    char *b64 = malloc(len + 3);
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (b64 == NULL || out == NULL)
        goto fail;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '+' &&
                 c != '/')
            goto fail;
        b64[i] = c;
    }
    if (len % 4 == 1)
        len--;
    size_t pad = (4 - len % 4) % 4;
    memset(b64 + len, '=', pad);
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    int n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)(len + pad));
    if (n < 0)
        goto fail;
    free(b64);
    *out_len = (size_t)n - pad;
    return out;
fail:
    free(b64);
    free(out);
    return NULL;
}

static bool token_listed(const char *v, size_t len, const char *tok)
{
    return h2g_hdr_connection_lists(v, len, tok, strlen(tok));
}

/* The request-target as :path.  The absolute-form of a client that was
 * told h2gate is its proxy (RFC 9112 3.2.2) is split the way an HTTP/2
 * client would send it, so that its path is normalized and routed like
 * any other: its authority becomes :authority (*authority set), and a
 * Host that disagrees is refused at dispatch (RFC 9113 8.3.1).  Other
 * targets go as they are: dispatch refuses what is not origin-form or
 * "*". */
static int add_target(struct h2g_stream *s, const struct h1_head *head, bool *authority)
{
    const char *auth, *rest;
    size_t auth_len, rest_len;
    if (head->target[0] == '/' ||
        h2g_path_absolute_form(head->target, head->target_len, &auth, &auth_len, &rest, &rest_len) != 0)
        return stream_add_field(s, ":path", 5, head->target, head->target_len);
    *authority = true;
    int rc = stream_add_field(s, ":authority", 10, auth, auth_len);
    if (rc != 0 || (rest_len > 0 && rest[0] == '/'))
        return rc != 0 ? rc : stream_add_field(s, ":path", 5, rest, rest_len);
    /* "http://host" or "http://host?q": an empty path is "/" (RFC 9110
     * 4.2.3). */
    char *p = malloc(rest_len + 1);
    if (p == NULL)
        return H2G_ERR_NOMEM;
    p[0] = '/';
    memcpy(p + 1, rest, rest_len);
    rc = stream_add_field(s, ":path", 5, p, rest_len + 1);
    free(p);
    return rc;
}

static void start_request(struct h2g_h1_session *h, struct h2g_stream *s, bool no_body)
{
    if (h->upgrading) {
        stream_dispatch(s); /* what follows the head is tunnel data */
    } else if (no_body) {
        s->req_end = true; /* no body: no framing upstream either */
        stream_dispatch(s);
        if (h->s == s)
            stream_request_end(s);
    } else {
        stream_dispatch(s);
    }
}

/* A new request head: the state of the previous exchange is forgotten. */
static void begin_request(struct h2g_h1_session *h, struct h2g_stream *s, const struct h1_head *head)
{
    h->s = s;
    h->head_started = false;
    arm_timer(h, h->conn->config->timeouts.stream_idle);
    h->req_complete = false;
    h->head_written = false;
    h->resp_chunked = h->resp_close_delimited = false;
    h->http10 = head->version_minor == 0;
    h->client_keep_alive = head->keep_alive;
    h->unconsumed = 0;
    h->upgrading = false;
}

/* The request line as the pseudo-header fields an HTTP/2 client would
 * send; *target_authority set when the target carried :authority. */
static int add_request_line(struct h2g_h1_session *h, struct h2g_stream *s, const struct h1_head *head,
                            bool connect, bool *target_authority)
{
    int rc = stream_add_field(s, ":method", 7, head->method, head->method_len);
    if (connect) {
        /* RFC 9112 3.2.3: the target is the authority. */
        return rc != 0 ? rc : stream_add_field(s, ":authority", 10, head->target, head->target_len);
    }
    const char *scheme = h->conn->tls ? "https" : "http";
    if (rc == 0)
        rc = stream_add_field(s, ":scheme", 7, scheme, strlen(scheme));
    if (rc == 0)
        rc = add_target(s, head, target_authority);
    return rc;
}

/* The fields of a head that decide how it is served. */
struct head_fields {
    const struct h2g_field *host, *upgrade, *settings, *connection;
};

/* 0, or H2G_ERR_MALFORMED for a second Host (RFC 9112 3.2: exactly one). */
static int find_fields(const struct h1_head *head, struct head_fields *hf)
{
    for (size_t i = 0; i < head->n_fields; i++) {
        const struct h2g_field *f = &head->fields[i];
        enum h2g_hdr_token t = h2g_hdr_lookup(f->name, f->name_len);
        if (t == H2G_HDR_HOST) {
            if (hf->host != NULL)
                return H2G_ERR_MALFORMED;
            hf->host = f;
        } else if (t == H2G_HDR_UPGRADE) {
            hf->upgrade = f;
        } else if (t == H2G_HDR_HTTP2_SETTINGS) {
            hf->settings = f;
        } else if (t == H2G_HDR_CONNECTION) {
            hf->connection = f;
        }
    }
    return 0;
}

/* Every field as it came; one beyond the limits is answered 431 at
 * dispatch. */
static int add_fields(struct h2g_stream *s, const struct h1_head *head)
{
    for (size_t i = 0; i < head->n_fields; i++) {
        const struct h2g_field *f = &head->fields[i];
        int rc = stream_add_field(s, f->name, f->name_len, f->value, f->value_len);
        if (rc != 0 && rc != H2G_ERR_TOO_LARGE)
            return rc;
    }
    return 0;
}

/* RFC 7540 3.2: h2c upgrade, only for requests without a body (a body
 * would have to be read before switching; clients then just stay on
 * HTTP/1.1).  true with h->h2_settings decoded. */
static bool wants_h2c(struct h2g_h1_session *h, const struct h1_head *head, const struct head_fields *hf)
{
    struct h2g_conn *c = h->conn;
    if (hf->upgrade == NULL || hf->settings == NULL || hf->connection == NULL || c->tls || !c->listen->lc->h2 ||
        head->body != H1_BODY_NONE || !token_listed(hf->upgrade->value, hf->upgrade->value_len, "h2c") ||
        !token_listed(hf->connection->value, hf->connection->value_len, "http2-settings") || h->draining)
        return false;
    h->h2_settings = b64url_decode(hf->settings->value, hf->settings->value_len, &h->h2_settings_len);
    return h->h2_settings != NULL;
}

static int on_head(void *arg, const struct h1_head *head)
{
    struct h2g_h1_session *h = arg;
    struct h2g_stream *s = stream_new(&h->conn->facts, &h1_stream_ops, h, ++h->n_requests);
    if (s == NULL)
        return H2G_ERR_NOMEM;
    begin_request(h, s, head);
    bool connect = h2g_method_lookup(head->method, head->method_len) == H2G_METHOD_CONNECT;
    h->upgrading = connect;
    bool target_authority = false;
    struct head_fields hf = {NULL, NULL, NULL, NULL};
    int rc = add_request_line(h, s, head, connect, &target_authority);
    if (rc == 0)
        rc = find_fields(head, &hf);
    if (rc == 0 && hf.host != NULL && !connect && !target_authority)
        rc = stream_add_field(s, ":authority", 10, hf.host->value, hf.host->value_len);
    /* Upgrade: websocket becomes the same request an HTTP/2 client makes
     * with extended CONNECT, so routing and checks are shared. */
    if (rc == 0 && !connect && head->upgrade && hf.upgrade != NULL && h2g_method_lookup(head->method, head->method_len) == H2G_METHOD_GET &&
        token_listed(hf.upgrade->value, hf.upgrade->value_len, "websocket")) {
        rc = stream_add_field(s, ":protocol", 9, "websocket", 9);
        h->upgrading = true;
    }
    if (rc == 0)
        rc = add_fields(s, head);
    if (rc == H2G_ERR_NOMEM)
        return rc;
    if (rc != 0 || (hf.host == NULL && !h->http10 && !connect)) {
        h->client_keep_alive = false;
        stream_respond_error(s, 400);
        return 0;
    }
    if (wants_h2c(h, head, &hf)) {
        h->upgrade_h2c = true;
        return 0;
    }
    start_request(h, s, head->body == H1_BODY_NONE);
    return 0;
}

static int on_data(void *arg, const char *p, size_t len)
{
    struct h2g_h1_session *h = arg;
    if (h->s == NULL)
        return 0;
    h->s->last_active_ms = h2g_mono_ms();
    h->unconsumed += len;
    return stream_request_data(h->s, (const uint8_t *)p, len) == 0 ? 0 : H2G_ERR_NOMEM;
}

/* Trailers beyond max_header_list_pairs are dropped; one that cannot be
 * stored fails the request (a request must not go on without them). */
static int on_trailers(void *arg, const struct h2g_field *f, size_t n)
{
    struct h2g_h1_session *h = arg;
    for (size_t i = 0; i < n && h->s != NULL; i++)
        if (stream_add_trailer(h->s, f[i].name, f[i].name_len, f[i].value, f[i].value_len) == H2G_ERR_NOMEM)
            return H2G_ERR_NOMEM;
    return 0;
}

static int on_complete(void *arg)
{
    struct h2g_h1_session *h = arg;
    h->req_complete = true;
    if (h->s != NULL && !h->s->req_end && !h->upgrading)
        stream_request_end(h->s);
    return 0;
}

static const struct h1_parser_cb parser_cb = {on_head, on_data, on_trailers, on_complete};

static bool do_upgrade(struct h2g_h1_session *h);

/* The session ends: the connection closes once its output is flushed. */
static void close_session(struct h2g_h1_session *h)
{
    h->closing = true;
    conn_close(h->conn, true);
}

/* H1_IN_CAP of the client's bytes wait for the upstream: stop reading
 * (ops_consumed resumes). */
static void pause_reading(struct h2g_h1_session *h)
{
    h->read_paused = true;
    conn_read_disable(h->conn);
}

/* Feeds buffered client bytes to the parser while a request may be read. */
static void feed(struct h2g_h1_session *h)
{
    struct h2g_conn *c = h->conn;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (evbuffer_get_length(in) > 0 && !h->closing) {
        if (h->tunnel) {
            if (h->s == NULL || h->unconsumed >= H1_IN_CAP) {
                pause_reading(h);
                return;
            }
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                return;
            h->unconsumed += v.iov_len;
            stream_request_data(h->s, v.iov_base, v.iov_len);
            evbuffer_drain(in, v.iov_len);
            continue;
        }
        if (h->s != NULL && (h->req_complete || h->upgrading))
            return; /* pipelined, or tunnel bytes before the tunnel opens */
        if (h->unconsumed >= H1_IN_CAP) {
            pause_reading(h);
            return;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return;
        size_t used = 0;
        bool between = h->s == NULL;
        int rc = h1_parser_feed(&h->parser, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (between && h->s == NULL && used > 0)
            h->head_started = true;
        if (h->upgrade_h2c && do_upgrade(h))
            return; /* h is retired */
        if (rc == H2G_ERR_PAUSED)
            continue; /* request complete; loop checks req_complete */
        if (rc != 0) {
            /* Out of memory is not the client's mistake: 503, not 400. */
            bool nomem = rc == H2G_ERR_NOMEM;
            if (nomem)
                LOG_WARN("conn=%llu: out of memory reading a request", (unsigned long long)c->id);
            else
                LOG_INFO("conn=%llu: bad HTTP/1.1 request: %s", (unsigned long long)c->id,
                         h->parser.reason ? h->parser.reason : "malformed");
            h->client_keep_alive = false;
            if (h->s == NULL) {
                if (rc == H2G_ERR_TOO_LARGE)
                    STAT_INC(&c->svc->stats, refusals[H2G_REFUSAL_HEADER_LIMITS]);
                add_closing_answer(bufferevent_get_output(c->bev), nomem ? 503 : rc == H2G_ERR_TOO_LARGE ? 431 : 400);
                close_session(h);
            } else if (!h->s->head_sent) {
                stream_respond_error(h->s, nomem ? H2G_STATUS_NOMEM : 400);
                h->req_complete = true;
            } else {
                h->aborted = true;
                schedule_pump(h);
            }
            return;
        }
    }
}

/* --- response writing --- */

static bool keep_alive(const struct h2g_h1_session *h)
{
    return h->client_keep_alive && !h->draining && !h->resp_close_delimited;
}

/* A response head (r), or with r NULL the last chunk and its trailers,
 * goes out whole or not at all (evbuf.h): 0, or -1 out of memory with
 * nothing written. */
static int add_section(struct evbuffer *out, const struct h2g_h1_resp *r, const nghttp2_nv *trailers, size_t n)
{
    size_t len = r != NULL ? h2g_h1_resp_head(NULL, 0, r) : h2g_h1_last_chunk(NULL, 0, trailers, n);
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) != 1 || v.iov_len < len)
        return -1;
    if (r != NULL)
        h2g_h1_resp_head(v.iov_base, len, r);
    else
        h2g_h1_last_chunk(v.iov_base, len, trailers, n);
    v.iov_len = len;
    return evbuffer_commit_space(out, &v, 1);
}

static int add_head(struct evbuffer *out, const struct h2g_h1_resp *r)
{
    return add_section(out, r, NULL, 0);
}

/* An answer of h2gate's own after which the connection ends: no body. */
static int add_closing_answer(struct evbuffer *out, int status)
{
    struct h2g_h1_resp r = {.status = status, .content_length = 0, .connection = H2G_H1_CONN_CLOSE};
    return add_head(out, &r);
}

/* Nothing of the response could be written (out of memory): a bare 503
 * if that much fits, then the connection ends. */
static int head_lost(struct h2g_h1_session *h)
{
    LOG_WARN("conn=%llu: out of memory for a response head", (unsigned long long)h->conn->id);
    add_closing_answer(bufferevent_get_output(h->conn->bev), 503);
    if (h->s != NULL)
        h->s->resp_failed = true;
    h->head_written = true;
    h->aborted = true;
    schedule_pump(h);
    return -1;
}

static int ops_send_head(struct h2g_stream *s, const nghttp2_nv *nva, size_t n, bool no_body)
{
    struct h2g_h1_session *h = s->session;
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (stream_is_tunnel(s) && (s->status == 101 || s->status == 200)) {
        /* The connection becomes a byte tunnel (CONNECT 200, or the
         * upstream's 101 for a WebSocket). */
        struct h2g_h1_resp r = {.status = s->status, .content_length = -1};
        if (s->status == 200) {
            r.reason = "Connection Established"; /* what CONNECT clients are used to */
        } else {
            r.fields = nva + 1; /* nva[0] is :status */
            r.n_fields = n - 1;
            r.connection = H2G_H1_CONN_UPGRADE;
            r.upgrade = "websocket";
        }
        if (add_head(out, &r) != 0)
            return head_lost(h);
        h->tunnel = true;
        h->head_written = true;
        h->client_keep_alive = false;
        evtimer_del(h->conn->timer); /* tunnel_idle from now on */
        conn_carries_tunnel(h->conn);
        schedule_pump(h);
        return 0;
    }
    bool has_length = false;
    for (size_t i = 1; i < n; i++)
        if (h2g_hdr_is((const char *)nva[i].name, nva[i].namelen, H2G_HDR_CONTENT_LENGTH))
            has_length = true;
    if (!no_body && !has_length) {
        if (h->http10)
            h->resp_close_delimited = true;
        else
            h->resp_chunked = true;
    }
    /* A response that comes before the end of its request (an upstream
     * that answered early, a 408) ends the connection once sent: the
     * rest of the body is never read, and skipping it safely would mean
     * reading it all. */
    if (!s->req_end)
        h->client_keep_alive = false;
    s->last_active_ms = h2g_mono_ms();
    struct h2g_h1_resp r = {.status = s->status, .fields = nva + 1, .n_fields = n - 1, .content_length = -1,
                            .chunked = h->resp_chunked};
    r.connection = !keep_alive(h) ? H2G_H1_CONN_CLOSE : h->http10 ? H2G_H1_CONN_KEEP_ALIVE : H2G_H1_CONN_NONE;
    nghttp2_nv altsvc;
    if (s->origin != NULL && s->origin->altsvc != NULL) {
        bool has = false;
        for (size_t i = 1; i < n; i++)
            if (h2g_hdr_is((const char *)nva[i].name, nva[i].namelen, H2G_HDR_ALT_SVC))
                has = true;
        if (!has) {
            altsvc = (nghttp2_nv){(uint8_t *)(uintptr_t)h2g_hdr_name[H2G_HDR_ALT_SVC],
                                  (uint8_t *)(uintptr_t)s->origin->altsvc, h2g_hdr_name_len[H2G_HDR_ALT_SVC],
                                  strlen(s->origin->altsvc), NGHTTP2_NV_FLAG_NONE};
            r.extra = &altsvc;
            r.n_extra = 1;
        }
    }
    if (add_head(out, &r) != 0)
        return head_lost(h);
    h->head_written = true;
    schedule_pump(h);
    return 0;
}

static void ops_resume(struct h2g_stream *s)
{
    schedule_pump(s->session);
}

static void ops_consumed(struct h2g_stream *s, size_t n)
{
    struct h2g_h1_session *h = s->session;
    h->unconsumed = n > h->unconsumed ? 0 : h->unconsumed - n;
    if (h->spliced)
        return;
    if (h->read_paused && h->unconsumed < H1_IN_CAP) {
        h->read_paused = false;
        conn_read_enable(h->conn);
        schedule_pump(h);
    }
}

static void ops_abort(struct h2g_stream *s, uint32_t code)
{
    struct h2g_h1_session *h = s->session;
    h->aborted = true;
    schedule_pump(h);
}

static void ops_send_continue(struct h2g_stream *s)
{
    struct h2g_h1_session *h = s->session;
    struct h2g_h1_resp r = {.status = 100, .content_length = -1};
    if (!h->http10)
        add_head(bufferevent_get_output(h->conn->bev), &r);
}

/* The socket goes to the tunnel only when the connection holds nothing
 * of it: no bytes read and not handed on, none waiting to be written.
 * A tunnel whose head is still to come is busy, not refused: its
 * upstream asks as it opens. */
static int ops_client_socket(struct h2g_stream *s, bool take)
{
    struct h2g_h1_session *h = s->session;
    struct h2g_conn *c = h->conn;
    if (c->tls || h->spliced || h->closing || h->aborted || h->s != s || c->fd < 0 ||
        c->state != H2G_CONN_SESSION || (!h->tunnel && (h->head_written || !stream_is_tunnel(s))))
        return -1;
    if (!h->tunnel || h->unconsumed > 0 || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
        evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return H2G_CLIENT_SOCKET_BUSY;
    if (take) {
        h->spliced = true;
        h->read_paused = false;
        conn_read_disable(c);
        bufferevent_disable(c->bev, EV_WRITE);
    }
    return c->fd;
}

static const struct h2g_stream_ops h1_stream_ops = {
    .h2 = false,
    .client_socket = ops_client_socket,
    .send_head = ops_send_head,
    .resume = ops_resume,
    .consumed = ops_consumed,
    .abort = ops_abort,
    .send_continue = ops_send_continue,
};

static void end_request(struct h2g_h1_session *h)
{
    struct h2g_stream *s = h->s;
    h->s = NULL;
    stream_free(s);
}

/* Truncation is visible to the client: no last chunk, or fewer bytes
 * than Content-Length, then the connection closes. */
static void abort_response(struct h2g_h1_session *h)
{
    end_request(h);
    close_session(h);
}

/* A byte tunnel: the target's bytes to the client, as many as the output
 * cap lets through; the client's read again once the target took enough;
 * the end once the target's side is over and written. */
static void pump_tunnel(struct h2g_h1_session *h, struct h2g_stream *s)
{
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (h->spliced) {
        /* The relay did the half-closes; both directions are over. */
        if (s->resp_complete)
            close_session(h);
        return;
    }
    if (s->resp_body != NULL && evbuffer_get_length(s->resp_body) > 0 && evbuffer_get_length(out) < H1_OUT_CAP) {
        size_t n = evbuffer_get_length(s->resp_body);
        evbuffer_add_buffer(out, s->resp_body);
        s->bytes_out += n;
        stream_response_drained(s);
    }
    if (s->resp_complete && (s->resp_body == NULL || evbuffer_get_length(s->resp_body) == 0)) {
        close_session(h);
        return;
    }
    if (h->read_paused && h->unconsumed < H1_IN_CAP) {
        h->read_paused = false;
        conn_read_enable(h->conn);
    }
    feed(h);
    if (h->s == s && !h->closing && evbuffer_get_length(out) == 0 &&
        evbuffer_get_length(bufferevent_get_input(h->conn->bev)) == 0)
        stream_client_flushed(s);
}

/* Response body to the output while it is under H1_OUT_CAP, in chunks if
 * the response is chunked: 0, or -1 out of memory (the body is then cut
 * short). */
static int write_body(struct h2g_h1_session *h, struct h2g_stream *s)
{
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    while (evbuffer_get_length(s->resp_body) > 0 && evbuffer_get_length(out) < H1_OUT_CAP) {
        size_t n = evbuffer_get_length(s->resp_body);
        if (n > H1_OUT_CAP)
            n = H1_OUT_CAP;
        /* Each step is whole or absent (evbuf.h); one that fails (out of
         * memory) leaves the body visibly cut short. */
        if ((h->resp_chunked && evbuffer_add_printf(out, "%zx\r\n", n) < 0) || evbuf_move(s->resp_body, out, n) != 0 ||
            (h->resp_chunked && evbuffer_add(out, "\r\n", 2) != 0)) {
            LOG_WARN("conn=%llu: out of memory for the response body", (unsigned long long)h->conn->id);
            s->resp_failed = true;
            return -1;
        }
        s->bytes_out += n;
        s->last_active_ms = h2g_mono_ms();
    }
    return 0;
}

/* The whole response is in the output: its last chunk and trailers, and
 * the exchange ends.  true when the connection goes on to the next
 * request; false when it closes. */
static bool end_response(struct h2g_h1_session *h, struct h2g_stream *s)
{
    if (h->resp_chunked && !s->resp_no_body) {
        if (add_section(bufferevent_get_output(h->conn->bev), NULL, s->resp_trailers, s->n_resp_trailers) != 0) {
            LOG_WARN("conn=%llu: out of memory for the last chunk", (unsigned long long)h->conn->id);
            s->resp_failed = true;
            abort_response(h);
            return false;
        }
    }
    bool again = keep_alive(h) && h->req_complete;
    end_request(h);
    if (!again) {
        close_session(h);
        return false;
    }
    h1_parser_next(&h->parser);
    arm_idle(h);
    return true;
}

/* Moves response bytes to the socket; finishes the exchange; starts the
 * next pipelined request.  Runs from its own event, so it may free the
 * stream and its exchange. */
static void pump(struct h2g_h1_session *h)
{
    struct h2g_stream *s = h->s;
    if (h->closing)
        return;
    if (s != NULL && h->aborted) {
        abort_response(h);
        return;
    }
    if (s != NULL && h->tunnel) {
        pump_tunnel(h, s);
        return;
    }
    if (s != NULL && h->head_written) {
        if (!s->resp_no_body && s->resp_body != NULL) {
            if (write_body(h, s) != 0) {
                abort_response(h);
                return;
            }
            stream_response_drained(s);
        }
        bool drained = s->resp_no_body || s->resp_body == NULL || evbuffer_get_length(s->resp_body) == 0;
        if (!s->resp_complete || !drained || !end_response(h, s))
            return;
    }
    if (h->s == NULL || !h->req_complete)
        feed(h);
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    pump(arg);
}

/* After the 101, the connection goes on as HTTP/2 with the current
 * request as stream 1 (RFC 7540 3.2): the connection makes the switch.
 * true once h is retired (the connection speaks HTTP/2 now, or is
 * closing): nothing of h may run any more, the connection frees it;
 * false when the request stays on HTTP/1.1. */
static bool do_upgrade(struct h2g_h1_session *h)
{
    struct h2g_conn *c = h->conn;
    struct h2g_stream *s = h->s;
    bool head_req = h2g_method_lookup(stream_str(s, s->method), s->method.value_len) == H2G_METHOD_HEAD;
    struct h2g_h1_resp r = {.status = 101, .content_length = -1, .connection = H2G_H1_CONN_UPGRADE, .upgrade = "h2c"};
    if (add_head(bufferevent_get_output(c->bev), &r) != 0) {
        /* Out of memory for the 101: served on HTTP/1.1, as for any
         * client whose upgrade is not taken (RFC 9110 7.8). */
        h->upgrade_h2c = false;
        free(h->h2_settings);
        h->h2_settings = NULL;
        start_request(h, s, true);
        return false;
    }
    h->s = NULL;
    /* Our pending pump, and the HTTP/2 session reading what followed the
     * request (inside the switch), must find us inert. */
    h->closing = true;
    const struct h2g_upgrade up = {h->h2_settings, h->h2_settings_len, s, head_req};
    if (conn_switch_session(c, &h2_session_ops, &up) != 0) {
        /* The 101 is out: nothing but HTTP/2 may follow it. */
        stream_free(s);
        conn_close(c, true);
    }
    return true;
}

/* An h2c upgrade goes the other way only: up is always NULL. */
static void *h1_session_new(struct h2g_conn *c, const struct h2g_upgrade *up)
{
    struct h2g_h1_session *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->conn = c;
    h->pump_ev = event_new(c->svc->base, -1, 0, pump_cb, h);
    if (h->pump_ev == NULL) {
        free(h);
        return NULL;
    }
    h1_parser_init(&h->parser, false, c->config->limits.max_header_list_size, &parser_cb, h);
    /* Bound what one client can make us hold: the socket input buffer. */
    conn_read_cap(c, H1_IN_CAP);
    bufferevent_setwatermark(c->bev, EV_WRITE, H1_OUT_CAP / 2, 0);
    arm_idle(h);
    return h;
}

static void h1_session_free(void *arg)
{
    struct h2g_h1_session *h = arg;
    if (h == NULL)
        return;
    if (h->s != NULL)
        end_request(h);
    h1_parser_clear(&h->parser);
    event_free(h->pump_ev);
    free(h->h2_settings);
    free(h);
}

static void h1_session_on_read(void *arg)
{
    struct h2g_h1_session *h = arg;
    if (h->spliced)
        return;
    if (h->tunnel || h->s == NULL || !h->req_complete)
        feed(h);
}

static void h1_session_on_write(void *arg)
{
    pump(arg);
}

/* While no request is in flight the connection's timer bounds the wait
 * for a request head (arm_idle): closed quietly if none began, 408 for a
 * partial one; while one is, stream_idle. */
static bool h1_session_on_timer(void *arg)
{
    struct h2g_h1_session *h = arg;
    struct h2g_conn *c = h->conn;
    struct h2g_stream *s = h->s;
    if (h->closing)
        return false;
    if (s == NULL) {
        if (!h->head_started) {
            /* idle: closed without a word (RFC 9112 9.6) */
            STAT_INC(&c->svc->stats, timeouts[h->n_requests == 0 ? H2G_TIMEOUT_HANDSHAKE : H2G_TIMEOUT_IDLE]);
            return false;
        }
        LOG_INFO("conn=%llu: request head not complete in time: 408", (unsigned long long)c->id);
        STAT_INC(&c->svc->stats, timeouts[H2G_TIMEOUT_REQUEST_HEAD]);
        add_closing_answer(bufferevent_get_output(c->bev), 408);
        close_session(h);
        return true;
    }
    uint64_t now = h2g_mono_ms(), limit = c->config->timeouts.stream_idle;
    if (stream_tunnel_live(s)) {
        arm_timer(h, limit); /* resolving or connecting: its own timeouts */
        return true;
    }
    if (now - s->last_active_ms < limit) {
        arm_timer(h, s->last_active_ms + limit - now);
        return true;
    }
    stream_timed_out(s);
    arm_timer(h, limit);
    return true;
}

/* A half-closed tunnel still carries the target's answer: END_STREAM to
 * it, keep writing. */
static bool h1_session_on_eof(void *arg)
{
    struct h2g_h1_session *h = arg;
    if (!h->tunnel || h->s == NULL || h->closing)
        return false;
    if (h->spliced)
        return true; /* the relay reads the socket, not us */
    /* Bytes still buffered go first, then the half-close. */
    feed(h);
    conn_read_disable(h->conn);
    if (!h->s->req_end)
        stream_request_end(h->s);
    return true;
}

struct h2g_stream *h1_session_stream(const struct h2g_h1_session *h)
{
    return h->s;
}

uint64_t h1_session_requests(const struct h2g_h1_session *h)
{
    return (uint64_t)h->n_requests;
}

/* Finishes the current response with Connection: close. */
static void h1_session_drain(void *arg)
{
    struct h2g_h1_session *h = arg;
    h->draining = true;
    if (h->s != NULL)
        return; /* its response says Connection: close */
    if (evbuffer_get_length(bufferevent_get_input(h->conn->bev)) > 0) {
        /* A request already here is answered (with Connection: close)
         * rather than dropped. */
        feed(h);
        if (h->s != NULL || h->closing)
            return;
    }
    /* A connection that has not sent its first request yet (accepted just
     * before the drain) sends it within the time a first request head has
     * (the connection's timer) and is answered with Connection: close. */
    if (h->n_requests == 0)
        return;
    close_session(h);
}

const struct h2g_session_ops h1_session_ops = {
    .name = {"http/1.1", "http/1.1"},
    .stats_slot = {2, 2},
    .new = h1_session_new,
    .free = h1_session_free,
    .on_read = h1_session_on_read,
    .on_write = h1_session_on_write,
    .on_eof = h1_session_on_eof,
    .on_timer = h1_session_on_timer,
    .drain = h1_session_drain,
};
