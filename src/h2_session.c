#include "h2_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "errors.h"
#include "log.h"
#include "stream.h"
#include "worker.h"

struct h2g_h2_session {
    struct h2g_conn *conn;
    nghttp2_session *ng;
    struct event *flush_ev;  /* deferred flush, once per loop turn */
    struct event *idle_ev;   /* handshake, then idle timeout */
    LIST_HEAD(, h2g_stream) streams; /* every open stream, owned */
    unsigned n_streams;
    bool flush_pending;
    bool got_frame;          /* the preface and a first frame arrived */
    bool draining;
    bool dead;               /* fatal error: no more nghttp2 calls */
};

static const struct h2g_stream_ops h2_stream_ops;

#define SESSION(s) ((struct h2g_h2_session *)(s)->session)

static void arm_timer(struct h2g_h2_session *h, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(h->idle_ev, &tv);
}

static void schedule_flush(struct h2g_h2_session *h)
{
    if (!h->flush_pending && !h->dead) {
        h->flush_pending = true;
        event_active(h->flush_ev, EV_WRITE, 0);
    }
}

static void fatal(struct h2g_h2_session *h, const char *what, int rv)
{
    LOG_INFO("conn=%llu: h2 session ended: %s: %s", (unsigned long long)h->conn->id, what,
             nghttp2_strerror(rv));
    h->dead = true;
    conn_close(h->conn, true);
}

/* Sends what nghttp2 has queued, up to the output cap, then closes the
 * connection if the session is over. */
static void flush(struct h2g_h2_session *h)
{
    h->flush_pending = false;
    if (h->dead)
        return;
    int rv = nghttp2_session_send(h->ng);
    if (rv != 0) {
        fatal(h, "send", rv);
        return;
    }
    if (!nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng)) {
        h->dead = true;
        conn_close(h->conn, true);
    }
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    flush(arg);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_h2_session *h = arg;
    if (!h->got_frame) {
        LOG_INFO("conn=%llu: no HTTP/2 preface within the handshake timeout", (unsigned long long)h->conn->id);
        h->dead = true;
        conn_close(h->conn, false);
        return;
    }
    if (h->n_streams == 0) {
        nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
        flush(h);
    }
}

/* --- nghttp2 callbacks --- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (evbuffer_get_length(out) >= H2_OUT_CAP)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (evbuffer_add(out, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

/* DATA payloads move from the stream's buffer to the socket buffer
 * without a copy (NGHTTP2_DATA_FLAG_NO_COPY). */
static int send_data_cb(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                        nghttp2_data_source *source, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct h2g_stream *s = source->ptr;
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (evbuffer_get_length(out) >= H2_OUT_CAP)
        return NGHTTP2_ERR_WOULDBLOCK;
    evbuffer_add(out, framehd, 9);
    if (length > 0 && evbuffer_remove_buffer(s->resp_body, out, length) != (int)length)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    s->bytes_out += length;
    stream_response_drained(s);
    return 0;
}

static ssize_t data_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *ud)
{
    struct h2g_stream *s = source->ptr;
    size_t avail = s->resp_body ? evbuffer_get_length(s->resp_body) : 0;
    if (avail == 0 && !s->resp_complete)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = avail < length ? avail : length;
    if (n > 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && s->resp_complete) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->n_resp_trailers > 0) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (nghttp2_submit_trailer(ng, stream_id, s->resp_trailers, s->n_resp_trailers) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2g_stream *s = malloc(sizeof(*s));
    if (s == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    stream_init(s, h->conn, &h2_stream_ops, h, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, s);
    LIST_INSERT_HEAD(&h->streams, s, link);
    if (h->n_streams++ == 0)
        evtimer_del(h->idle_ev);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    int rc;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        rc = stream_add_field(s, (const char *)name, namelen, (const char *)value, valuelen);
    else
        rc = stream_add_trailer(s, (const char *)name, namelen, (const char *)value, valuelen);
    if (rc == H2G_ERR_TOO_LARGE)
        return 0; /* answered with 431 once the head is complete */
    if (rc == H2G_ERR_NOMEM)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (rc != 0) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (!h->got_frame) {
        h->got_frame = true;
        if (h->n_streams == 0)
            arm_timer(h, h->conn->config->timeouts.idle);
    }
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            stream_dispatch(s);
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            stream_request_end(s);
        break;
    case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            stream_request_end(s);
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t stream_id, const uint8_t *data,
                              size_t len, void *ud)
{
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (s == NULL) {
        nghttp2_session_consume(ng, stream_id, len);
        return 0;
    }
    if (stream_request_data(s, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (s == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(ng, stream_id, NULL);
    LOG_DEBUG("conn=%llu stream=%d: closed (%s)", (unsigned long long)h->conn->id, stream_id,
              nghttp2_http2_strerror(error_code));
    if (error_code != NGHTTP2_NO_ERROR && !s->resp_complete)
        s->resp_failed = true;
    LIST_REMOVE(s, link);
    stream_clear(s);
    free(s);
    if (--h->n_streams == 0 && !h->draining)
        arm_timer(h, h->conn->config->timeouts.idle);
    return 0;
}

static int error_cb(nghttp2_session *ng, int lib_error_code, const char *msg, size_t len, void *ud)
{
    struct h2g_h2_session *h = ud;
    LOG_DEBUG("conn=%llu: nghttp2: %.*s", (unsigned long long)h->conn->id, (int)len, msg);
    return 0;
}

/* --- the client side of streams --- */

static int ops_send_head(struct h2g_stream *s, const nghttp2_nv *nva, size_t n, bool no_body)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = data_read_cb};
    int rv = nghttp2_submit_response(h->ng, s->id, nva, n, no_body ? NULL : &prd);
    if (rv != 0)
        LOG_DEBUG("conn=%llu stream=%d: submit_response: %s", (unsigned long long)h->conn->id, s->id,
                  nghttp2_strerror(rv));
    schedule_flush(h);
    return rv;
}

static void ops_resume(struct h2g_stream *s)
{
    struct h2g_h2_session *h = SESSION(s);
    if (s->head_sent && !s->resp_no_body)
        nghttp2_session_resume_data(h->ng, s->id);
    schedule_flush(h);
}

static void ops_consumed(struct h2g_stream *s, size_t n)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_session_consume(h->ng, s->id, n);
    schedule_flush(h);
}

static void ops_abort(struct h2g_stream *s, uint32_t code)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, s->id, code);
    schedule_flush(h);
}

static void ops_send_continue(struct h2g_stream *s)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE};
    nghttp2_submit_headers(h->ng, NGHTTP2_FLAG_NONE, s->id, NULL, &nv, 1, NULL);
    schedule_flush(h);
}

static const struct h2g_stream_ops h2_stream_ops = {ops_send_head, ops_resume, ops_consumed, ops_abort,
                                                    ops_send_continue};

/* --- lifecycle --- */

/* ALTSVC (RFC 7838 4) for every origin with `altsvc` that this session
 * may speak for: exact host names only (a pattern is not an origin), on
 * TLS only those the certificate covers; ORIGIN (RFC 8336) on TLS. */
static void advertise(struct h2g_h2_session *h)
{
    struct h2g_conn *c = h->conn;
    const struct h2g_config *cfg = c->config;
    uint16_t port = c->listen->lc->addr.port;
    const char *scheme = c->tls ? "https" : "http";
    bool default_port = port == (c->tls ? 443 : 80);
    for (size_t i = 0; i < cfg->n_origins; i++) {
        const struct h2g_origin_config *o = &cfg->origins[i];
        if (o->altsvc == NULL)
            continue;
        for (size_t j = 0; j < o->n_hosts; j++) {
            const char *host = o->hosts[j];
            if (strchr(host, '*') != NULL)
                continue;
            if (c->tls && !conn_cert_covers(c, host, strlen(host)))
                continue;
            char origin[300];
            bool v6 = strchr(host, ':') != NULL;
            int n = default_port ? snprintf(origin, sizeof(origin), "%s://%s%s%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "")
                                 : snprintf(origin, sizeof(origin), "%s://%s%s%s:%u", scheme, v6 ? "[" : "", host,
                                            v6 ? "]" : "", port);
            nghttp2_submit_altsvc(h->ng, NGHTTP2_FLAG_NONE, 0, (const uint8_t *)origin, (size_t)n,
                                  (const uint8_t *)o->altsvc, strlen(o->altsvc));
        }
    }
    if (c->tls && cfg->n_origin_set > 0) {
        nghttp2_origin_entry ov[64];
        size_t n = cfg->n_origin_set < 64 ? cfg->n_origin_set : 64;
        for (size_t i = 0; i < n; i++)
            ov[i] = (nghttp2_origin_entry){(uint8_t *)cfg->origin_set[i], strlen(cfg->origin_set[i])};
        nghttp2_submit_origin(h->ng, NGHTTP2_FLAG_NONE, ov, n);
    }
}

static nghttp2_session_callbacks *make_callbacks(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, error_cb);
    return cb;
}

struct h2g_h2_session *h2_session_new(struct h2g_conn *c, const uint8_t *upgrade_settings,
                                      size_t upgrade_settings_len, struct h2g_stream *upgraded,
                                      bool head_request)
{
    const struct h2g_limits *lim = &c->config->limits;
    struct h2g_h2_session *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->conn = c;
    LIST_INIT(&h->streams);
    nghttp2_session_callbacks *cb = make_callbacks();
    nghttp2_option *opt = NULL;
    if (cb == NULL || nghttp2_option_new(&opt) != 0)
        goto fail;
    /* Window updates follow what the upstream actually accepted. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_peer_max_concurrent_streams(opt, lim->peer_max_concurrent_streams);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, lim->max_deflate_dynamic_table_size);
    nghttp2_option_set_max_send_header_block_length(opt, lim->max_send_header_block_length);
    nghttp2_option_set_max_settings(opt, lim->max_settings);
    nghttp2_option_set_max_outbound_ack(opt, lim->max_outstanding_pings);
    nghttp2_option_set_stream_reset_rate_limit(opt, lim->stream_reset_burst, lim->stream_reset_rate);
    int rv = nghttp2_session_server_new2(&h->ng, cb, h, opt);
    nghttp2_session_callbacks_del(cb);
    cb = NULL;
    nghttp2_option_del(opt);
    opt = NULL;
    if (rv != 0)
        goto fail;

    nghttp2_settings_entry iv[6];
    size_t niv = 0;
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lim->max_concurrent_streams};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, lim->initial_window_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_FRAME_SIZE, lim->max_frame_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, lim->header_table_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_header_list_size};
    if (c->config->enable_connect_protocol)
        iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, niv) != 0)
        goto fail;
    advertise(h);
    if (lim->connection_window_size > 65535 &&
        nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)lim->connection_window_size) != 0)
        goto fail;

    h->flush_ev = event_new(c->worker->base, -1, 0, flush_cb, h);
    h->idle_ev = evtimer_new(c->worker->base, idle_cb, h);
    if (h->flush_ev == NULL || h->idle_ev == NULL)
        goto fail;

    if (upgrade_settings != NULL) {
        rv = nghttp2_session_upgrade2(h->ng, upgrade_settings, upgrade_settings_len, head_request, upgraded);
        if (rv != 0) {
            LOG_INFO("conn=%llu: h2c upgrade refused: %s", (unsigned long long)c->id, nghttp2_strerror(rv));
            goto fail;
        }
        /* nghttp2 ignores stream_user_data of upgrade2 on the server side. */
        nghttp2_session_set_stream_user_data(h->ng, 1, upgraded);
        upgraded->ops = &h2_stream_ops;
        upgraded->session = h;
        upgraded->id = 1;
        LIST_INSERT_HEAD(&h->streams, upgraded, link);
        h->n_streams = 1;
        h->got_frame = true;
        stream_dispatch(upgraded);
        stream_request_end(upgraded);
    } else {
        arm_timer(h, c->config->timeouts.handshake);
    }
    bufferevent_setwatermark(c->bev, EV_WRITE, H2_OUT_CAP / 2, 0);
    schedule_flush(h);
    return h;
fail:
    if (cb)
        nghttp2_session_callbacks_del(cb);
    if (opt)
        nghttp2_option_del(opt);
    h2_session_free(h);
    return NULL;
}

void h2_session_free(struct h2g_h2_session *h)
{
    if (h == NULL)
        return;
    if (h->ng != NULL) {
        /* nghttp2_session_del runs no callbacks: free our streams first. */
        h->dead = true;
        struct h2g_stream *s;
        while ((s = LIST_FIRST(&h->streams)) != NULL) {
            LIST_REMOVE(s, link);
            nghttp2_session_set_stream_user_data(h->ng, s->id, NULL);
            s->resp_failed = s->resp_failed || !s->resp_complete;
            stream_clear(s);
            free(s);
        }
        nghttp2_session_del(h->ng);
        h->ng = NULL;
    }
    if (h->flush_ev)
        event_free(h->flush_ev);
    if (h->idle_ev)
        event_free(h->idle_ev);
    free(h);
}

void h2_session_on_read(struct h2g_h2_session *h)
{
    if (h->dead)
        return;
    struct evbuffer *in = bufferevent_get_input(h->conn->bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        ssize_t n = nghttp2_session_mem_recv(h->ng, v.iov_base, v.iov_len);
        if (n < 0) {
            /* nghttp2 has queued a GOAWAY where the protocol asks for one. */
            LOG_INFO("conn=%llu: h2 protocol error: %s", (unsigned long long)h->conn->id,
                     nghttp2_strerror((int)n));
            nghttp2_session_send(h->ng);
            h->dead = true;
            conn_close(h->conn, true);
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    flush(h);
}

void h2_session_on_write(struct h2g_h2_session *h)
{
    flush(h);
}

void h2_session_drain(struct h2g_h2_session *h)
{
    if (h->draining || h->dead)
        return;
    h->draining = true;
    nghttp2_submit_shutdown_notice(h->ng);
    nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    if (h->n_streams == 0)
        nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
    flush(h);
}

unsigned h2_session_open_streams(const struct h2g_h2_session *h)
{
    return h->n_streams;
}
