#include "upstream/upstream_h2.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/balance.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/h1_to_h2.h"
#include "core/h2_to_h2.h"
#include "runtime/log.h"
#include "runtime/services.h"
#include "runtime/sockread.h"
#include "upstream/upstream.h"
#include "upstream/upstream_pool.h"
#include "upstream/upstream_tls.h"

/* Bytes queued for the upstream socket before nghttp2 is asked for more:
 * the session's frames wait in nghttp2 (and its DATA in the streams'
 * buffers, under flow control), not in an unbounded output buffer. */
#define OUT_CAP (256 * 1024)
/* The connection-level receive window we give an upstream: every stream
 * is bounded by its own window (H2G_STREAM_RESP_CAP), so this only must
 * not be what slows a connection down. */
#define CONN_WINDOW (16 * 1024 * 1024)
/* Retries of a request the upstream refused unprocessed. */
#define MAX_RETRIES 2

enum hx_state {
    HX_QUEUED,    /* placed on a connection still connecting */
    HX_SENT,      /* request submitted; no final response head yet */
    HX_RECEIVING, /* final head passed on; body flowing */
    HX_DONE,      /* response complete */
    HX_FAILED,    /* reported to the stream; nothing more happens */
};

/* A received field, as offsets into the exchange's store (which grows). */
struct h2g_h2_exchange {
    LIST_ENTRY(h2g_h2_exchange) link;   /* in c->exchanges */
    struct h2g_stream *s;                /* owns the exchange (upstream.h) */
    const struct h2g_request_ctx *ctx;   /* the stream's */
    struct h2g_services *svc;
    enum hx_state state;
    struct h2g_upstream_pool *pool;      /* the address pool */
    size_t up_idx;                       /* the route's upstream (balance) */
    const struct h2g_upstream_tls *tls;  /* h2://: the route's context */
    struct h2g_h2_conn *c;               /* the connection it is placed on, or NULL */
    int32_t sid;                         /* upstream stream id; 0 before submit */
    struct h2g_h2_request req;           /* the header list, kept for a retry */
    bool with_body;                      /* submitted with a data provider */
    bool body_given;                     /* request body bytes went to nghttp2: no retry */
    bool deferred;                       /* the data provider waits for request_progress */
    bool req_sent;                       /* END_STREAM submitted */
    bool got_head;                       /* final response head passed on */
    bool ws;                             /* extended CONNECT (RFC 8441): waits for the upstream's SETTINGS */
    bool end_stream;                     /* the upstream ended its side */
    unsigned retries;
    int status;                          /* of the head being received */
    struct h2g_buf fstore;               /* fields being received (head, then trailers) */
    struct h2g_field_ref *fields;
    size_t n_fields, cap_fields;
    bool fields_bad;                     /* over the limits: the exchange fails */
    size_t unconsumed;                   /* DATA bytes passed on, window not yet given back */
    int64_t resp_length;                 /* the final head's content-length; -1: none */
    uint64_t resp_got;                   /* DATA bytes of the response passed on */
    struct event *timer;                 /* upstream_response */
};

static const struct h2g_upstream_ops h2_exchange_ops;
static void conn_schedule(struct h2g_h2_conn *c);
static void conn_close(struct h2g_h2_conn *c, const char *why);
static void hx_fail(struct h2g_h2_exchange *ex, int status, uint32_t code, const char *why);
static void hx_submit(struct h2g_h2_exchange *ex);
static void hx_submit_queued(struct h2g_h2_conn *c);
static int hx_place(struct h2g_h2_exchange *ex, struct h2g_h2_conn *avoid);

static const char *const h2c_state_names[] = {"connecting", "open", "draining", "closed"};

const char *upstream_h2_conn_state_str(const struct h2g_h2_conn *c)
{
    return h2c_state_names[c->state];
}

uint32_t upstream_h2_conn_max_streams(const struct h2g_h2_conn *c)
{
    if (c->ngh == NULL || c->state == H2C_CONNECTING)
        return 0;
    return nghttp2_session_get_remote_settings(c->ngh, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

static void conn_set_state(struct h2g_h2_conn *c, enum h2c_state st)
{
    LOG_DEBUG("upstream %s h2 conn=%llu: %s -> %s", c->pool->id, (unsigned long long)c->id,
              h2c_state_names[c->state], h2c_state_names[st]);
    c->state = st;
}

/* --- the connection: idle accounting, PING, close --- */

static void conn_busy(struct h2g_h2_conn *c)
{
    if (c->idle_since_ms == 0)
        return;
    c->idle_since_ms = 0;
    STAT_DEC(&c->pool->svc->stats, upstream_idle);
}

/* No exchange left: a draining connection closes, an open one idles
 * (PING keepalive, closed after the pool's idle timeout). */
static void conn_maybe_idle(struct h2g_h2_conn *c)
{
    if (c->n_ex > 0)
        return;
    struct h2g_upstream_pool *p = c->pool;
    if (c->state == H2C_OPEN && (p->stale || p->svc->draining))
        conn_set_state(c, H2C_DRAINING);
    if (c->state == H2C_DRAINING) {
        conn_schedule(c); /* closed there: this may run inside the session's callbacks */
        return;
    }
    if (c->state != H2C_OPEN || c->idle_since_ms != 0)
        return;
    c->idle_since_ms = h2g_mono_ms();
    c->ping_out = false;
    STAT_INC(&c->pool->svc->stats, upstream_idle);
    struct timeval tv = h2g_ms_timeval(H2G_H2_PING_MS);
    evtimer_add(c->timer, &tv);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_h2_conn *c = arg;
    if (c->state != H2C_OPEN || c->idle_since_ms == 0)
        return;
    if (c->ping_out) {
        conn_close(c, "PING not answered");
        return;
    }
    if (h2g_mono_ms() - c->idle_since_ms >= H2G_POOL_IDLE_TIMEOUT_MS) {
        nghttp2_submit_goaway(c->ngh, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        conn_set_state(c, H2C_DRAINING);
        conn_close(c, NULL);
        return;
    }
    if (nghttp2_submit_ping(c->ngh, NGHTTP2_FLAG_NONE, NULL) == 0)
        c->ping_out = true;
    struct timeval tv = h2g_ms_timeval(H2G_H2_PING_MS);
    evtimer_add(c->timer, &tv);
    conn_schedule(c);
}

/* Moves what nghttp2 has to send into the output (up to OUT_CAP
 * queued).  0, or a negative nghttp2 error (out of memory). */
static int conn_send_raw(struct h2g_h2_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < OUT_CAP) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->ngh, &data);
        if (n <= 0)
            return (int)n;
        if (evbuffer_add(out, data, (size_t)n) != 0)
            return NGHTTP2_ERR_NOMEM;
    }
    return 0;
}

/* conn_send_raw; false when it failed and closed the connection. */
static bool conn_send(struct h2g_h2_conn *c)
{
    int rc = conn_send_raw(c);
    if (rc != 0) {
        conn_close(c, nghttp2_strerror(rc));
        return false;
    }
    return true;
}

static void conn_free(struct h2g_h2_conn *c)
{
    LIST_REMOVE(c, link);
    c->pool->n_h2--;
    if (c->idle_since_ms != 0)
        STAT_DEC(&c->pool->svc->stats, upstream_idle);
    event_free(c->flush_ev);
    event_free(c->timer);
    nghttp2_session_del(c->ngh);
    if (c->bev != c->uc->bev)
        bufferevent_free(c->bev);
    upstream_conn_abort(c->uc);
    free(c);
}

/* Cleartext output goes out now, as the client side's does
 * (h2_session.c flush): the bufferevent's EV_WRITE, an epoll_ctl on and
 * one off per flush, only while the socket does not take it all.  TLS
 * records are the bufferevent's to write. */
static void conn_write_now(struct h2g_h2_conn *c)
{
    if (c->uc->tls)
        return;
    /* conn_send stopped at the cap: nghttp2 may hold more */
    bool capped = evbuffer_get_length(bufferevent_get_output(c->bev)) >= OUT_CAP;
    if (!sockwrite_now(c->bev, -1))
        return; /* EV_WRITE is on: conn_write_cb once the socket took it */
    if (bufferevent_get_enabled(c->bev) & EV_WRITE)
        bufferevent_disable(c->bev, EV_WRITE);
    if (capped)
        conn_schedule(c);
}

static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_h2_conn *c = arg;
    if (c->state == H2C_CLOSED) {
        conn_free(c);
        return;
    }
    if (c->state == H2C_DRAINING && c->n_ex == 0) {
        conn_close(c, NULL);
        return;
    }
    if (c->state == H2C_CONNECTING || !conn_send(c))
        return;
    conn_write_now(c);
    if (nghttp2_session_want_read(c->ngh) || nghttp2_session_want_write(c->ngh) ||
        evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
        return;
    /* The session is over (a GOAWAY both ways, a fatal error nghttp2
     * answered): news only if an exchange still waited for it. */
    bool waiting = false;
    struct h2g_h2_exchange *ex;
    LIST_FOREACH(ex, &c->exchanges, link) waiting |= ex->state < HX_DONE;
    conn_close(c, waiting ? "session over" : NULL);
}

static void conn_schedule(struct h2g_h2_conn *c)
{
    event_active(c->flush_ev, EV_TIMEOUT, 0);
}

/*
 * Closes the connection (why: logged, NULL for an orderly close, which
 * only comes when no exchange is left): the exchanges still waiting fail
 * with `status` before a response head (502, 504 for a connect timeout)
 * or are reset after it, and the connection is freed on the next loop
 * turn, never inside its own callbacks.
 */
static void conn_close_status(struct h2g_h2_conn *c, const char *why, int status)
{
    if (c->state == H2C_CLOSED)
        return;
    if (why != NULL)
        LOG_WARN("upstream %s h2 conn=%llu: closed: %s", c->pool->id, (unsigned long long)c->id, why);
    if (c->state != H2C_CONNECTING && c->in_recv == 0) {
        /* What is queued (a GOAWAY) goes out if the socket takes it now. */
        conn_send_raw(c);
        sockwrite_now(c->bev, -1);
    }
    conn_set_state(c, H2C_CLOSED);
    evtimer_del(c->timer);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    sockread_setcb(&c->uc->rd, NULL, NULL, NULL, NULL);
    sockread_disable(&c->uc->rd);
    struct h2g_stats *st = &c->pool->svc->stats;
    struct h2g_h2_exchange *ex;
    while ((ex = LIST_FIRST(&c->exchanges)) != NULL) {
        LIST_REMOVE(ex, link);
        ex->c = NULL;
        c->n_ex--;
        if (ex->state >= HX_DONE)
            continue;
        if (ex->state == HX_QUEUED) {
            STAT_INC(st, upstream_connect_errors);
            if (status == 504)
                STAT_INC(st, timeouts[H2G_TIMEOUT_UPSTREAM_CONNECT]);
        }
        hx_fail(ex, status, NGHTTP2_INTERNAL_ERROR, why != NULL ? why : "connection closed");
    }
    conn_schedule(c);
}

static void conn_close(struct h2g_h2_conn *c, const char *why)
{
    conn_close_status(c, why, 502);
}

/* --- the transport --- */

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_h2_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->in_recv++;
    while (evbuffer_get_length(in) > 0 && c->state != H2C_CLOSED) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(c->ngh, v.iov_base, v.iov_len);
        if (n < 0) {
            c->in_recv--;
            conn_close(c, nghttp2_strerror((int)n));
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    c->in_recv--;
    if (c->state != H2C_CLOSED)
        conn_schedule(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    conn_schedule(arg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* The transport is up: our preface and SETTINGS go out, reading starts,
 * and the exchanges that waited are submitted. */
static void conn_transport_start(struct h2g_h2_conn *c)
{
    bufferevent_set_timeouts(c->bev, NULL, NULL); /* the connect timeout */
    bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    /* The socket's reader (sockread.h), not libevent's own reads, which
     * stop at 4 KiB: a 64 KiB response was 16 reads, each passed on to
     * the client as a write of its own. */
    struct h2g_sockread *rd = &c->uc->rd;
    sockread_setcb(rd, conn_read_cb, NULL, conn_event_cb, c);
    sockread_set_high(rd, 0);
    sockread_set_timeout(rd, 0);
    if (sockread_enable(rd) != 0) {
        conn_close(c, "out of memory");
        return;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2G_STREAM_RESP_CAP},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->pool->svc->config->limits.max_header_list_size},
    };
    if (nghttp2_submit_settings(c->ngh, NGHTTP2_FLAG_NONE, iv, 3) != 0 ||
        nghttp2_session_set_local_window_size(c->ngh, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0) {
        conn_close(c, "out of memory");
        return;
    }
    conn_set_state(c, H2C_OPEN);
    hx_submit_queued(c);
    conn_maybe_idle(c); /* its exchanges may have gone while it connected */
    conn_schedule(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2g_h2_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        const char *bad = c->uc->tls ? upstream_tls_ready(bev, c->pool, true, &c->uc->tls_resumed) : NULL;
        if (bad != NULL)
            conn_close(c, bad);
        else
            conn_transport_start(c);
        return;
    }
    if (c->state == H2C_CONNECTING) {
        char why[256];
        if (what & BEV_EVENT_TIMEOUT) {
            conn_close_status(c, "connect timed out", 504);
        } else if (c->uc->tls) {
            conn_close(c, upstream_tls_failure(bev, why, sizeof(why)));
        } else {
            conn_close(c, (what & BEV_EVENT_ERROR) ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                                   : "connect failed");
        }
        return;
    }
    /* An idle connection the upstream closes (its keep-alive timeout) is
     * no news. */
    const char *why = what & BEV_EVENT_EOF ? "closed by the upstream" : "socket error";
    if (c->n_ex == 0)
        LOG_DEBUG("upstream %s h2 conn=%llu: idle, %s", c->pool->id, (unsigned long long)c->id, why);
    conn_close(c, c->n_ex == 0 ? NULL : why);
}

/* --- nghttp2 callbacks (user_data: the connection) --- */

static struct h2g_h2_exchange *exchange_of(struct h2g_h2_conn *c, int32_t sid)
{
    return nghttp2_session_get_stream_user_data(c->ngh, sid);
}

static int on_begin_headers(nghttp2_session *ngh, const nghttp2_frame *f, void *arg)
{
    struct h2g_h2_exchange *ex = exchange_of(arg, f->hd.stream_id);
    if (ex != NULL) {
        h2g_buf_reset(&ex->fstore);
        ex->n_fields = 0;
        ex->status = 0;
        ex->fields_bad = false;
    }
    return 0;
}

/* Keeps one field of the head or the trailers being received. */
static int hx_keep_field(struct h2g_h2_exchange *ex, const uint8_t *name, size_t nlen, const uint8_t *value,
                         size_t vlen)
{
    const struct h2g_config *cfg = ex->ctx->cfg;
    if (ex->n_fields >= cfg->limits.max_header_list_pairs) {
        ex->fields_bad = true;
        return 0;
    }
    if (h2g_field_refs_grow(&ex->fields, ex->n_fields, &ex->cap_fields) != 0 ||
        h2g_field_ref_add(&ex->fstore, &ex->fields[ex->n_fields], (const char *)name, nlen, (const char *)value,
                          vlen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    ex->n_fields++;
    return 0;
}

static int on_header(nghttp2_session *ngh, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
    struct h2g_h2_exchange *ex = exchange_of(arg, f->hd.stream_id);
    if (ex == NULL || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        int st = 0;
        for (size_t i = 0; i < vlen && i < 3; i++)
            st = st * 10 + (value[i] - '0');
        ex->status = st; /* nghttp2 checked it: three digits */
        return 0;
    }
    uint64_t n;
    /* nghttp2 checked it too, and holds DATA to it */
    if (ex->status >= 200 && !ex->got_head && h2g_hdr_is((const char *)name, nlen, H2G_HDR_CONTENT_LENGTH) &&
        h2g_parse_content_length((const char *)value, vlen, &n) && n <= INT64_MAX)
        ex->resp_length = (int64_t)n;
    return hx_keep_field(ex, name, nlen, value, vlen);
}

/* The received fields as h2g_field (into an array the caller frees), or
 * NULL when out of memory. */
static struct h2g_field *hx_fields(const struct h2g_h2_exchange *ex)
{
    struct h2g_field *f = calloc(ex->n_fields ? ex->n_fields : 1, sizeof(*f));
    if (f == NULL)
        return NULL;
    h2g_field_refs_view(ex->fstore.data, ex->fields, ex->n_fields, f);
    return f;
}

static void hx_upstream_health(struct h2g_h2_exchange *ex, bool ok)
{
    struct h2g_balance *b = services_balance(ex->svc, stream_route(ex->s));
    if (b != NULL) {
        if (ok)
            h2g_balance_ok(b, ex->up_idx);
        else
            h2g_balance_fail(b, ex->up_idx, h2g_mono_ms(), H2G_BALANCE_RETRY_AFTER_MS);
    }
    if (ex->pool->has_ip)
        upstream_pool_health(ex->pool, ok);
}

/* The response is complete: the stream hears it; the exchange keeps
 * its place until the stream frees it. */
static void hx_done(struct h2g_h2_exchange *ex)
{
    ex->state = HX_DONE;
    if (ex->timer != NULL)
        evtimer_del(ex->timer);
    stream_upstream_done(ex->s);
}

/* A HEADERS frame ended: the final head (interim 1xx ones are dropped:
 * the client's body flows under flow control already) or the trailers. */
static int hx_headers_end(struct h2g_h2_exchange *ex, bool end_stream)
{
    if (ex->fields_bad) {
        hx_fail(ex, 502, NGHTTP2_INTERNAL_ERROR, "response header fields over max_header_list_pairs");
        return 0;
    }
    if (!ex->got_head && ex->status < 200)
        return 0;
    struct h2g_field *f = hx_fields(ex);
    int rc = H2G_ERR_NOMEM;
    if (f != NULL && !ex->got_head) {
        ex->got_head = true;
        ex->state = HX_RECEIVING;
        if (ex->timer != NULL)
            evtimer_del(ex->timer);
        hx_upstream_health(ex, true);
        rc = stream_upstream_head(ex->s, ex->status, f, ex->n_fields, end_stream);
    } else if (f != NULL) {
        rc = stream_upstream_trailers(ex->s, f, ex->n_fields);
    }
    free(f);
    if (rc != 0)
        hx_fail(ex, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR, "out of memory");
    return 0;
}

static int on_frame_recv(nghttp2_session *ngh, const nghttp2_frame *f, void *arg)
{
    struct h2g_h2_conn *c = arg;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        LOG_INFO("upstream %s h2 conn=%llu: GOAWAY (last stream %d, %s)", c->pool->id, (unsigned long long)c->id,
                 f->goaway.last_stream_id, nghttp2_http2_strerror(f->goaway.error_code));
        if (c->state == H2C_OPEN)
            conn_set_state(c, H2C_DRAINING);
        return 0;
    }
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) && !c->got_settings) {
        c->got_settings = true;
        hx_submit_queued(c); /* extended CONNECTs waited for them */
        return 0;
    }
    if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) {
        c->ping_out = false;
        c->pings_acked++;
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct h2g_h2_exchange *ex = exchange_of(c, f->hd.stream_id);
    if (ex == NULL || ex->state >= HX_DONE)
        return 0;
    bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (f->hd.type == NGHTTP2_HEADERS)
        hx_headers_end(ex, end);
    if (!end || ex->state != HX_RECEIVING)
        return 0;
    ex->end_stream = true;
    hx_done(ex);
    return 0;
}

static int on_data_chunk(nghttp2_session *ngh, uint8_t flags, int32_t sid, const uint8_t *data, size_t len,
                         void *arg)
{
    struct h2g_h2_conn *c = arg;
    struct h2g_h2_exchange *ex = exchange_of(c, sid);
    if (ex == NULL || ex->state != HX_RECEIVING) {
        /* Nobody takes it: its window comes back at once. */
        nghttp2_session_consume(ngh, sid, len);
        return 0;
    }
    struct evbuffer *body = stream_resp_body(ex->s);
    if (body == NULL || evbuffer_add(body, data, len) != 0) {
        nghttp2_session_consume(ngh, sid, len);
        hx_fail(ex, 0, NGHTTP2_INTERNAL_ERROR, "out of memory");
        return 0;
    }
    ex->unconsumed += len;
    ex->resp_got += len;
    stream_upstream_data_ready(ex->s);
    return 0;
}

static int on_stream_close(nghttp2_session *ngh, int32_t sid, uint32_t code, void *arg)
{
    struct h2g_h2_conn *c = arg;
    struct h2g_h2_exchange *ex = exchange_of(c, sid);
    if (ex == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(ngh, sid, NULL);
    ex->sid = 0; /* gone: nothing to reset any more */
    if (ex->state >= HX_DONE)
        return 0;
    /* A reset without error once all of content-length came: the
     * response is whole.  Node's http2 server ends so when the last
     * bytes close the window: its stream is destroyed, and the
     * RST_STREAM (NO_ERROR) overtakes the END_STREAM it had queued (RFC
     * 9113 8.1 lets a server stop a request that way after a complete
     * response).  Without content-length it is a cut response. */
    if (code == NGHTTP2_NO_ERROR && ex->state == HX_RECEIVING && ex->resp_length >= 0 &&
        ex->resp_got == (uint64_t)ex->resp_length) {
        ex->end_stream = true;
        hx_done(ex);
        return 0;
    }
    /* REFUSED_STREAM, sent or implied by a GOAWAY's last-stream-id (RFC
     * 9113 8.7): the upstream did not process the request, which may go
     * to another connection if none of its body is lost. */
    if (!ex->got_head && code == NGHTTP2_REFUSED_STREAM) {
        if (!ex->body_given && ex->retries < MAX_RETRIES) {
            ex->retries++;
            LIST_REMOVE(ex, link);
            c->n_ex--;
            ex->c = NULL;
            conn_maybe_idle(c);
            if (hx_place(ex, c) == 0)
                return 0;
        }
        /* An HTTP/2 client hears REFUSED_STREAM too: it may retry. */
        hx_fail(ex, stream_client_is_h2(ex->s) ? 0 : 502, NGHTTP2_REFUSED_STREAM, "stream refused");
        return 0;
    }
    char why[96];
    snprintf(why, sizeof(why), "stream reset by the upstream (%s)", nghttp2_http2_strerror(code));
    /* The code passes through, but a NO_ERROR reset of an unfinished
     * response is a cut one to the client. */
    hx_fail(ex, ex->got_head ? 0 : 502, code == NGHTTP2_NO_ERROR ? NGHTTP2_INTERNAL_ERROR : code, why);
    return 0;
}

/* --- the exchange --- */

/* n bytes delivered to the stream were taken by the client: their window
 * goes back to the upstream (the stream's, while it is open, and the
 * connection's). */
static void hx_give_back(struct h2g_h2_exchange *ex, size_t n)
{
    if (n == 0 || ex->c == NULL)
        return;
    ex->unconsumed -= n;
    if (ex->sid > 0)
        nghttp2_session_consume(ex->c->ngh, ex->sid, n);
    else
        nghttp2_session_consume_connection(ex->c->ngh, n);
}

/* Leaves the connection: the upstream stream, if still open, is reset
 * with `code`, the window of what it delivered comes back, and the
 * connection may idle or close. */
static void hx_leave(struct h2g_h2_exchange *ex, uint32_t code)
{
    struct h2g_h2_conn *c = ex->c;
    if (c == NULL)
        return;
    hx_give_back(ex, ex->unconsumed);
    if (ex->sid > 0) {
        nghttp2_session_set_stream_user_data(c->ngh, ex->sid, NULL);
        nghttp2_submit_rst_stream(c->ngh, NGHTTP2_FLAG_NONE, ex->sid, code);
    }
    ex->sid = 0;
    LIST_REMOVE(ex, link);
    c->n_ex--;
    ex->c = NULL;
    conn_maybe_idle(c);
    conn_schedule(c);
}

static void hx_fail(struct h2g_h2_exchange *ex, int status, uint32_t code, const char *why)
{
    LOG_WARN("conn=%llu stream=%d: upstream %s (h2): %s", (unsigned long long)ex->ctx->client->conn_id,
             ex->ctx->stream_id, ex->pool->id, why);
    if (status != H2G_STATUS_NOMEM)
        STAT_INC(&ex->svc->stats, upstream_errors);
    if (status == 504)
        STAT_INC(&ex->svc->stats, upstream_timeouts);
    if (!ex->got_head && (status == 502 || status == 504) && code != NGHTTP2_REFUSED_STREAM)
        hx_upstream_health(ex, false);
    ex->state = HX_FAILED;
    if (ex->timer != NULL)
        evtimer_del(ex->timer);
    hx_leave(ex, NGHTTP2_CANCEL);
    stream_upstream_fail(ex->s, status, code);
}

static void hx_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_h2_exchange *ex = arg;
    if (ex->state != HX_SENT)
        return;
    STAT_INC(&ex->svc->stats, timeouts[H2G_TIMEOUT_UPSTREAM_RESPONSE]);
    hx_fail(ex, 504, NGHTTP2_CANCEL, "response timed out");
}

/* upstream_response runs from here to the response head. */
static void hx_response_timer(struct h2g_h2_exchange *ex)
{
    if (ex->got_head)
        return;
    if (ex->timer == NULL && (ex->timer = evtimer_new(ex->svc->base, hx_timer_cb, ex)) == NULL)
        return; /* out of memory: stream_idle still bounds it */
    struct timeval tv = h2g_ms_timeval(ex->ctx->cfg->timeouts.upstream_response);
    evtimer_add(ex->timer, &tv);
}

/* The request is all submitted: the wait for the response starts, as for
 * HTTP/1.1 (h2gate.yaml(5)). */
static void hx_request_sent(struct h2g_h2_exchange *ex)
{
    ex->req_sent = true;
    hx_response_timer(ex);
}

/* The request's trailers as a trailing HEADERS.  0, or an nghttp2 error. */
static int hx_submit_trailers(struct h2g_h2_exchange *ex, nghttp2_session *ngh, int32_t sid, uint32_t *flags)
{
    struct h2g_field *tf;
    size_t n;
    if (stream_request_trailers(ex->s, &tf, &n) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (n == 0)
        return 0;
    int rc = NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_nv *nva = calloc(n, sizeof(*nva));
    if (nva != NULL) {
        size_t cnt = h1_to_h2_trailers(tf, n, nva);
        if (cnt > 0) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            rc = nghttp2_submit_trailer(ngh, sid, nva, cnt);
        } else {
            rc = 0;
        }
    }
    free(nva);
    free(tf);
    return rc;
}

/* The request body, as the stream has it: what is there, the end (with
 * trailers), or deferred until request_progress. */
static ssize_t req_read(nghttp2_session *ngh, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
                        nghttp2_data_source *src, void *arg)
{
    struct h2g_h2_exchange *ex = exchange_of(arg, sid);
    if (ex == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    struct evbuffer *body = stream_request_body(ex->s);
    size_t n = body != NULL ? evbuffer_get_length(body) : 0;
    if (n > length)
        n = length;
    if (n > 0) {
        evbuffer_remove(body, buf, n);
        ex->body_given = true;
        stream_upstream_consumed(ex->s, n);
    }
    if ((body == NULL || evbuffer_get_length(body) == 0) && stream_request_ended(ex->s)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (hx_submit_trailers(ex, ngh, sid, flags) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        hx_request_sent(ex);
        return (ssize_t)n;
    }
    if (n == 0) {
        ex->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* Does the request have anything after its head (body, trailers)? */
static bool hx_has_body(struct h2g_h2_exchange *ex)
{
    uint64_t in, out;
    stream_byte_counts(ex->s, &in, &out);
    if (!stream_request_ended(ex->s) || in > 0)
        return true;
    struct h2g_field *tf;
    size_t n;
    if (stream_request_trailers(ex->s, &tf, &n) != 0)
        return true;
    free(tf);
    return n > 0;
}

/* Submits the request on its (open) connection.  An extended CONNECT
 * needs the upstream to have said SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC
 * 8441 3): else 501, as for a route without websocket. */
static void hx_submit(struct h2g_h2_exchange *ex)
{
    struct h2g_h2_conn *c = ex->c;
    if (ex->ws && nghttp2_session_get_remote_settings(c->ngh, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1) {
        hx_fail(ex, 501, NGHTTP2_REFUSED_STREAM, "the upstream does not take extended CONNECT");
        return;
    }
    nghttp2_data_provider dp = {.source.ptr = NULL, .read_callback = req_read};
    ex->with_body = hx_has_body(ex);
    ex->deferred = false;
    int32_t sid = nghttp2_submit_request(c->ngh, NULL, ex->req.nva, ex->req.n, ex->with_body ? &dp : NULL, ex);
    if (sid < 0) {
        hx_fail(ex, sid == NGHTTP2_ERR_NOMEM ? H2G_STATUS_NOMEM : 502, NGHTTP2_INTERNAL_ERROR,
                nghttp2_strerror(sid));
        return;
    }
    ex->sid = sid;
    ex->state = HX_SENT;
    c->streams_total++;
    if (!ex->with_body)
        hx_request_sent(ex);
    else if (ex->ws)
        hx_response_timer(ex); /* its request never ends before the answer */
    conn_schedule(c);
}

/* Submits the exchanges that waited on c: for the connection, or, for
 * an extended CONNECT, for the upstream's SETTINGS. */
static void hx_submit_queued(struct h2g_h2_conn *c)
{
    struct h2g_h2_exchange *ex, *next;
    for (ex = LIST_FIRST(&c->exchanges); ex != NULL; ex = next) {
        next = LIST_NEXT(ex, link);
        if (ex->state == HX_QUEUED && (!ex->ws || c->got_settings))
            hx_submit(ex);
    }
}

static nghttp2_session_callbacks *conn_callbacks(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    return cb;
}

/* The nghttp2 client session: our receive windows are given back only as
 * the clients take the bytes (hx_give_back), never automatically. */
static int conn_session_new(struct h2g_h2_conn *c, const struct h2g_config *cfg)
{
    nghttp2_session_callbacks *cb = conn_callbacks();
    nghttp2_option *opt = NULL;
    int rc = -1;
    if (cb != NULL && nghttp2_option_new(&opt) == 0) {
        nghttp2_option_set_no_auto_window_update(opt, 1);
        nghttp2_option_set_peer_max_concurrent_streams(opt, (uint32_t)cfg->limits.peer_max_concurrent_streams);
        nghttp2_option_set_max_send_header_block_length(opt, cfg->limits.max_send_header_block_length);
        rc = nghttp2_session_client_new2(&c->ngh, cb, c, opt);
    }
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    return rc;
}

/* A new connection of pool p, connecting.  NULL with errno set. */
static struct h2g_h2_conn *conn_new(struct h2g_upstream_pool *p, const struct h2g_config *cfg,
                                    const struct h2g_upstream_tls *tls)
{
    struct h2g_services *svc = p->svc;
    struct h2g_h2_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    c->pool = p;
    LIST_INIT(&c->exchanges);
    c->flush_ev = event_new(svc->base, -1, 0, conn_flush_cb, c);
    c->timer = evtimer_new(svc->base, conn_timer_cb, c);
    if (c->flush_ev == NULL || c->timer == NULL || conn_session_new(c, cfg) != 0) {
        errno = ENOMEM;
        goto fail;
    }
    if ((c->uc = upstream_conn_connect(p, cfg->timeouts.upstream_connect, tls)) == NULL)
        goto fail;
    c->bev = c->uc->bev;
    c->id = h2g_conn_id(svc->worker_id, ++svc->next_conn_id);
    /* Until connected, the bufferevent watches the connect (and its
     * timeout, as a write timeout). */
    bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_WRITE);
    LIST_INSERT_HEAD(&p->h2_conns, c, link);
    p->n_h2++;
    LOG_DEBUG("upstream %s h2 conn=%llu: connecting", p->id, (unsigned long long)c->id);
    return c;
fail:;
    int e = errno;
    if (c->flush_ev != NULL)
        event_free(c->flush_ev);
    if (c->timer != NULL)
        event_free(c->timer);
    nghttp2_session_del(c->ngh);
    free(c);
    errno = e;
    return NULL;
}

/* Places ex on a connection of its pool other than `avoid`: the first
 * with room under the upstream's SETTINGS_MAX_CONCURRENT_STREAMS (or
 * limits.peer_max_concurrent_streams until its SETTINGS came), else a new
 * one (at most H2G_H2_MAX_CONNS), else the least loaded (nghttp2 queues
 * the stream).  Submitted at once on an open connection.  0, or -1 with
 * errno set when no connection could be had. */
static int hx_place(struct h2g_h2_exchange *ex, struct h2g_h2_conn *avoid)
{
    struct h2g_upstream_pool *p = ex->pool;
    struct h2g_h2_conn *c, *best = NULL, *least = NULL;
    uint32_t assumed = (uint32_t)ex->ctx->cfg->limits.peer_max_concurrent_streams;
    LIST_FOREACH(c, &p->h2_conns, link) {
        if (c == avoid || (c->state != H2C_OPEN && c->state != H2C_CONNECTING))
            continue;
        uint32_t max = c->state == H2C_OPEN ? upstream_h2_conn_max_streams(c) : assumed;
        if (c->n_ex < max) {
            best = c;
            break;
        }
        if (least == NULL || c->n_ex < least->n_ex)
            least = c;
    }
    if (best == NULL && (p->n_h2 < H2G_H2_MAX_CONNS || least == NULL))
        best = conn_new(p, ex->ctx->cfg, ex->tls);
    if (best == NULL)
        best = least;
    if (best == NULL)
        return -1;
    LIST_INSERT_HEAD(&best->exchanges, ex, link);
    best->n_ex++;
    ex->c = best;
    conn_busy(best);
    evtimer_del(best->timer);
    ex->state = HX_QUEUED;
    if (best->state == H2C_OPEN && (!ex->ws || best->got_settings))
        hx_submit(ex);
    return 0;
}

/* The route's upstream for this exchange and its address pool
 * (upstream_pool_for_route).  false when there is none. */
static bool hx_choose_upstream(struct h2g_h2_exchange *ex, const struct h2g_route_config *r)
{
    ex->pool = upstream_pool_for_route(ex->svc, ex->s, r, true, &ex->up_idx, &ex->tls);
    return ex->pool != NULL;
}

/* The header list into ex->req.  0, or the status to answer. */
static int hx_build_head(struct h2g_h2_exchange *ex)
{
    const struct h2g_request_ctx *ctx = ex->ctx;
    struct h2g_request_head req;
    struct h2g_field stack[32];
    struct h2g_field *tmp = NULL;
    if (stream_request_head(ex->s, &req, stack, 32, &tmp) != 0)
        return H2G_STATUS_NOMEM;
    ex->ws = req.protocol != NULL;
    if (ex->ws && !stream_client_is_h2(ex->s)) {
        /* Its 101 and raw bytes would need the HTTP/1.1 tunnel's
         * handshake, which this exchange does not do. */
        free(tmp);
        LOG_INFO("conn=%llu stream=%d: an HTTP/1.1 WebSocket upgrade to an HTTP/2 upstream is not supported",
                 (unsigned long long)ctx->client->conn_id, ctx->stream_id);
        return 501;
    }
    struct h2g_forward_info fwd = {
        .client_addr = ctx->client->peer_ip,
        .client_is_ipv6 = ctx->client->peer_ipv6,
        .proto = ctx->client->tls ? "https" : "http",
    };
    const char *err = h2_to_h2_request(&req, &fwd, &ex->req);
    free(tmp);
    if (err == NULL)
        return 0;
    LOG_INFO("conn=%llu stream=%d: request refused: %s", (unsigned long long)ctx->client->conn_id, ctx->stream_id,
             err);
    return err == h2g_msg_nomem ? H2G_STATUS_NOMEM : 400;
}

/* Also the stream's `free` op. */
static void hx_free(void *end)
{
    struct h2g_h2_exchange *ex = end;
    hx_leave(ex, NGHTTP2_CANCEL);
    if (ex->timer != NULL)
        event_free(ex->timer);
    h2g_h2_request_clear(&ex->req);
    h2g_buf_clear(&ex->fstore);
    free(ex->fields);
    free(ex);
}

int h2_exchange_start(struct h2g_stream *s)
{
    const struct h2g_request_ctx *ctx = stream_ctx(s);
    struct h2g_h2_exchange *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return H2G_STATUS_NOMEM;
    ex->s = s;
    ex->resp_length = -1;
    ex->ctx = ctx;
    ex->svc = ctx->svc;
    if (!hx_choose_upstream(ex, stream_route(s))) {
        hx_free(ex);
        return H2G_STATUS_NOMEM;
    }
    int status = hx_build_head(ex);
    if (status != 0) {
        hx_free(ex);
        return status;
    }
    stream_upstream_attach(s, &h2_exchange_ops, ex);
    if (hx_place(ex, NULL) != 0) {
        int e = errno;
        LOG_WARN("conn=%llu stream=%d: upstream %s (h2): cannot connect: %s", (unsigned long long)ctx->client->conn_id,
                 ctx->stream_id, ex->pool->id, strerror(e));
        stream_upstream_detach(s);
        hx_free(ex);
        return e == ENOMEM ? H2G_STATUS_NOMEM : 502;
    }
    return 0;
}

/* --- the stream's ops --- */

static void hx_request_progress(void *end)
{
    struct h2g_h2_exchange *ex = end;
    if (ex->c == NULL || ex->sid <= 0 || !ex->deferred)
        return;
    ex->deferred = false;
    nghttp2_session_resume_data(ex->c->ngh, ex->sid);
    conn_schedule(ex->c);
}

/* Paused, as the stream sees it, while bytes delivered wait for their
 * window to come back: the stream then tells us when the client drained
 * its buffer (resume_reading), and the window goes back for what it took. */
static bool hx_reading_paused(const void *end)
{
    const struct h2g_h2_exchange *ex = end;
    return ex->c != NULL && ex->unconsumed > 0;
}

static void hx_resume_reading(void *end)
{
    struct h2g_h2_exchange *ex = end;
    if (ex->c == NULL)
        return;
    struct evbuffer *b = stream_resp_body(ex->s);
    size_t held = b != NULL ? evbuffer_get_length(b) : 0;
    if (held >= ex->unconsumed)
        return;
    hx_give_back(ex, ex->unconsumed - held);
    conn_schedule(ex->c);
}

static bool hx_waiting(const void *end)
{
    const struct h2g_h2_exchange *ex = end;
    return ex->state == HX_QUEUED || (ex->state == HX_SENT && !ex->req_sent && !ex->deferred);
}

static bool hx_live(const void *end)
{
    const struct h2g_h2_exchange *ex = end;
    return ex->state != HX_FAILED;
}

static const struct h2g_upstream_ops h2_exchange_ops = {
    .tunnel = false,
    .request_progress = hx_request_progress,
    .reading_paused = hx_reading_paused,
    .resume_reading = hx_resume_reading,
    .waiting = hx_waiting,
    .live = hx_live,
    .free = hx_free,
};

/* --- the pool's side --- */

void upstream_h2_pool_drain(struct h2g_upstream_pool *p)
{
    struct h2g_h2_conn *c;
    LIST_FOREACH(c, &p->h2_conns, link) {
        if (c->state != H2C_OPEN)
            continue;
        nghttp2_submit_goaway(c->ngh, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        conn_set_state(c, H2C_DRAINING);
        conn_schedule(c);
    }
}

void upstream_h2_pool_free(struct h2g_upstream_pool *p)
{
    struct h2g_h2_conn *c;
    while ((c = LIST_FIRST(&p->h2_conns)) != NULL) {
        struct h2g_h2_exchange *ex;
        while ((ex = LIST_FIRST(&c->exchanges)) != NULL) {
            LIST_REMOVE(ex, link);
            ex->c = NULL;
        }
        conn_free(c);
    }
}
