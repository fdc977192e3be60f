#include "stream/stream.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "stream/access_log.h"
#include "core/errors.h"
#include "core/h1_resp.h"
#include "core/h1_to_h2.h"
#include "core/hdr.h"
#include "runtime/log.h"
#include "core/path.h"
#include "runtime/recycle.h"
#include "core/route.h"
#include "core/route_labels.h"
#include "runtime/services.h"
#include "upstream/tunnel.h"
#include "upstream/upstream_h2.h"
#include "upstream/upstream_http1.h"

/* Buffers a cached stream keeps only up to these sizes: one large
 * request must not pin its memory in the cache. */
#define CACHE_STORE_MAX 2048
#define CACHE_FIELDS_MAX 32

static void stream_init(struct h2g_stream *s, const struct h2g_client_facts *client,
                        const struct h2g_stream_ops *ops, void *session, int32_t id)
{
    /* What a cached stream brings along, emptied by stream_clear. */
    struct h2g_buf store = s->store;
    struct h2g_field_ref *fields = s->fields;
    size_t cap_fields = s->cap_fields;
    struct evbuffer *req_body = s->req_body, *resp_body = s->resp_body;
    memset(s, 0, sizeof(*s));
    s->store = store;
    s->fields = fields;
    s->cap_fields = cap_fields;
    s->req_body = req_body;
    s->resp_body = resp_body;
    struct h2g_services *svc = client->svc;
    s->ctx.client = client;
    s->ctx.svc = svc;
    s->ctx.stream_id = id;
    s->ctx.snap = services_snapshot_acquire(svc);
    s->ctx.cfg = s->ctx.snap->config;
    s->cfg = s->ctx.cfg;
    s->ops = ops;
    s->session = session;
    s->id = id;
    s->req_content_length = -1;
    s->start_us = h2g_mono_us();
    s->last_active_ms = h2g_mono_ms();
    STAT_INC(&svc->stats, streams_open);
}

struct h2g_stream *stream_new(const struct h2g_client_facts *client, const struct h2g_stream_ops *ops,
                              void *session, int32_t id)
{
    struct h2g_services *svc = client->svc;
    struct h2g_stream *s = svc->stream_cache;
    if (s != NULL) {
        svc->stream_cache = s->cache_next;
        svc->n_stream_cache--;
    } else if ((s = calloc(1, sizeof(*s))) == NULL) {
        return NULL;
    }
    stream_init(s, client, ops, session, id);
    return s;
}

void stream_move(struct h2g_stream *s, const struct h2g_stream_ops *ops, void *session, int32_t id)
{
    s->ops = ops;
    s->session = session;
    s->id = id;
    s->ctx.stream_id = id;
}

static void release_buffers(struct h2g_stream *s)
{
    if (s->req_body)
        evbuffer_free(s->req_body);
    if (s->resp_body)
        evbuffer_free(s->resp_body);
    s->req_body = s->resp_body = NULL;
    h2g_buf_clear(&s->store);
    free(s->fields);
    s->fields = NULL;
    s->cap_fields = 0;
}

void stream_free(struct h2g_stream *s)
{
    if (s == NULL)
        return;
    struct h2g_services *svc = s->ctx.svc;
    stream_clear(s);
    if (!H2G_RECYCLE || svc->n_stream_cache >= H2G_OBJ_CACHE_MAX || s->store.cap > CACHE_STORE_MAX ||
        s->cap_fields > CACHE_FIELDS_MAX) {
        release_buffers(s);
        free(s);
        return;
    }
    s->cache_next = svc->stream_cache;
    svc->stream_cache = s;
    svc->n_stream_cache++;
}

void stream_cache_free(struct h2g_services *svc)
{
    struct h2g_stream *s;
    while ((s = svc->stream_cache) != NULL) {
        svc->stream_cache = s->cache_next;
        release_buffers(s);
        free(s);
    }
    svc->n_stream_cache = 0;
}

const char *stream_str(const struct h2g_stream *s, struct h2g_field_ref r)
{
    return s->store.data ? s->store.data + r.value_off : "";
}

int stream_add_field(struct h2g_stream *s, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    const struct h2g_limits *lim = &s->cfg->limits;
    /* RFC 9113 6.5.2: the size of a field is name + value + 32. */
    s->header_bytes += (uint32_t)(nlen + vlen + 32);
    if (s->header_bytes > lim->max_header_list_size) {
        s->too_many_fields = true;
        return H2G_ERR_TOO_LARGE;
    }
    if (nlen > 0 && name[0] == ':') {
        struct h2g_field_ref *r = NULL;
        bool *has = NULL;
        enum h2g_hdr_token t = h2g_hdr_pseudo(name, nlen);
        if (t == H2G_HDR_PSEUDO_METHOD)
            r = &s->method, has = &s->has_method;
        else if (t == H2G_HDR_PSEUDO_SCHEME)
            r = &s->scheme, has = &s->has_scheme;
        else if (t == H2G_HDR_PSEUDO_AUTHORITY)
            r = &s->authority, has = &s->has_authority;
        else if (t == H2G_HDR_PSEUDO_PATH)
            r = &s->path, has = &s->has_path;
        else if (t == H2G_HDR_PSEUDO_PROTOCOL)
            r = &s->protocol, has = &s->has_protocol;
        if (r == NULL)
            return H2G_ERR_MALFORMED;
        *has = true;
        return h2g_field_ref_add(&s->store, r, name, nlen, value, vlen);
    }
    if (s->n_fields >= lim->max_header_list_pairs) {
        s->too_many_fields = true;
        return H2G_ERR_TOO_LARGE;
    }
    if (h2g_field_refs_grow(&s->fields, s->n_fields, &s->cap_fields) != 0)
        return H2G_ERR_NOMEM;
    if (h2g_hdr_is(name, nlen, H2G_HDR_CONTENT_LENGTH)) {
        uint64_t v;
        if (!h2g_parse_content_length(value, vlen, &v))
            return H2G_ERR_MALFORMED;
        s->req_content_length = (int64_t)v;
    }
    /* Counted once stored: a half-made field is never read. */
    int rc = h2g_field_ref_add(&s->store, &s->fields[s->n_fields], name, nlen, value, vlen);
    if (rc == 0)
        s->n_fields++;
    return rc;
}

int stream_add_trailer(struct h2g_stream *s, const char *name, size_t nlen, const char *value,
                       size_t vlen)
{
    if (s->n_req_trailers >= s->cfg->limits.max_header_list_pairs)
        return H2G_ERR_TOO_LARGE;
    struct h2g_field_ref *f = realloc(s->req_trailers, (s->n_req_trailers + 1) * sizeof(*f));
    if (f == NULL)
        return H2G_ERR_NOMEM;
    s->req_trailers = f;
    s->req_has_trailers = true;
    int rc = h2g_field_ref_add(&s->req_trailers_store, &s->req_trailers[s->n_req_trailers], name, nlen, value,
                               vlen);
    if (rc == 0)
        s->n_req_trailers++;
    return rc;
}

int stream_request_head(struct h2g_stream *s, struct h2g_request_head *req, struct h2g_field *stack,
                        size_t n_stack, struct h2g_field **tmp)
{
    memset(req, 0, sizeof(*req));
    const char *b = s->store.data;
#define PSEUDO(field, ref, has)                                                                    \
    if (s->has) {                                                                                  \
        req->field = b + s->ref.value_off;                                                         \
        req->field##_len = s->ref.value_len;                                                       \
    }
    PSEUDO(method, method, has_method)
    PSEUDO(scheme, scheme, has_scheme)
    PSEUDO(authority, authority, has_authority)
    PSEUDO(path, path, has_path)
    PSEUDO(protocol, protocol, has_protocol)
#undef PSEUDO
    struct h2g_field *f = stack;
    *tmp = NULL;
    if (s->n_fields > n_stack) {
        f = calloc(s->n_fields, sizeof(*f));
        if (f == NULL)
            return H2G_ERR_NOMEM;
        *tmp = f;
    }
    h2g_field_refs_view(b, s->fields, s->n_fields, f);
    req->fields = f;
    req->n_fields = s->n_fields;
    return 0;
}

struct evbuffer *stream_resp_body(struct h2g_stream *s)
{
    if (s->resp_body == NULL)
        s->resp_body = evbuffer_new();
    return s->resp_body;
}

struct evbuffer *stream_req_body(struct h2g_stream *s)
{
    if (s->req_body == NULL)
        s->req_body = evbuffer_new();
    return s->req_body;
}

static bool is_head_request(const struct h2g_stream *s)
{
    return s->has_method && h2g_method_lookup(stream_str(s, s->method), s->method.value_len) == H2G_METHOD_HEAD;
}

void stream_respond_error(struct h2g_stream *s, int status)
{
    if (s->head_sent)
        return;
    char st[4], len[24], body[96];
    snprintf(st, sizeof(st), "%03d", status);
    int blen = snprintf(body, sizeof(body), "%d %s\n", status, h2g_reason_phrase(status));
    bool no_body = is_head_request(s);
    if (!no_body) {
        struct evbuffer *b = stream_resp_body(s);
        if (b == NULL || evbuffer_add(b, body, (size_t)blen) != 0) {
            /* Out of memory: the status alone still answers. */
            no_body = true;
            blen = 0;
        }
    }
    snprintf(len, sizeof(len), "%d", blen);
    nghttp2_nv nva[] = {
        {(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"text/plain; charset=utf-8", 12, 25, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-length", (uint8_t *)len, 14, strlen(len), NGHTTP2_NV_FLAG_NONE},
    };
    s->status = status;
    s->head_sent = true;
    s->resp_no_body = no_body;
    s->resp_complete = true;
    s->ops->send_head(s, nva, 3, no_body);
}

/* The request's target authority: :authority, else Host (HTTP/1.1
 * origin-form).  0, or the status that answers a malformed request: RFC
 * 9113 8.3.1, a Host that disagrees with :authority (two targets: a
 * smuggling vector). */
static int request_authority(const struct h2g_stream *s, const char **auth, size_t *auth_len)
{
    *auth = NULL;
    *auth_len = 0;
    if (!s->has_authority) {
        for (size_t i = 0; i < s->n_fields; i++) {
            if (h2g_hdr_is(s->store.data + s->fields[i].name_off, s->fields[i].name_len, H2G_HDR_HOST)) {
                *auth = s->store.data + s->fields[i].value_off;
                *auth_len = s->fields[i].value_len;
                break;
            }
        }
        return 0;
    }
    *auth = stream_str(s, s->authority);
    *auth_len = s->authority.value_len;
    for (size_t i = 0; i < s->n_fields; i++) {
        if (h2g_hdr_is(s->store.data + s->fields[i].name_off, s->fields[i].name_len, H2G_HDR_HOST) &&
            (s->fields[i].value_len != *auth_len ||
             strncasecmp(s->store.data + s->fields[i].value_off, *auth, *auth_len) != 0))
            return 400;
    }
    return 0;
}

/* Routes see, and the upstream gets, the path the upstream will resolve:
 * "/public/../admin" is routed as "/admin" (the contract).  It never
 * grows, so it is rewritten in the store.  0 or 400. */
static int normalize_path(struct h2g_stream *s)
{
    if (!s->has_path)
        return 0;
    size_t n;
    if (h2g_path_normalize(s->store.data + s->path.value_off, s->path.value_len, &n) != 0)
        return 400;
    s->path.value_len = (uint32_t)n;
    return 0;
}

/* No origin serves the authority: 421 when the TLS certificate this
 * connection presented does not cover it either (the client reused a
 * connection it should not have, RFC 9110 7.4), else 404. */
static int unknown_authority_status(const struct h2g_stream *s, const char *auth, size_t auth_len)
{
    const struct h2g_client_facts *cl = s->ctx.client;
    const char *host;
    size_t host_len;
    bool misdirected =
        cl->tls && h2g_authority_host(auth, auth_len, &host, &host_len) && !cl->cert_covers(cl, host, host_len);
    return misdirected ? 421 : 404;
}

/* Extended CONNECT (RFC 8441), or an HTTP/1.1 Upgrade: websocket that
 * h1_session gave a :protocol, on route r.  A tunnel: route is opened
 * here (*opened); a websocket route goes on to an exchange.  0, or the
 * status to answer. */
static int dispatch_protocol(struct h2g_stream *s, const struct h2g_route_config *r, bool *opened)
{
    const char *proto = stream_str(s, s->protocol);
    size_t plen = s->protocol.value_len;
    *opened = false;
    if (r->kind == H2G_ROUTE_TUNNEL) {
        bool listed = false;
        for (size_t i = 0; i < r->n_protocols; i++)
            if (strlen(r->protocols[i]) == plen && memcmp(r->protocols[i], proto, plen) == 0)
                listed = true;
        if (!listed)
            return 400;
        char target[300];
        int n = snprintf(target, sizeof(target), "%s%s%s:%u", r->tunnel.is_ipv6 ? "[" : "", r->tunnel.host,
                         r->tunnel.is_ipv6 ? "]" : "", r->tunnel.port);
        *opened = true;
        return tunnel_connect(s, target, (size_t)n, false);
    }
    if (!r->websocket)
        return 501;
    if (plen != 9 || strncasecmp(proto, "websocket", 9) != 0)
        return 400;
    return 0;
}

/* Expect: 100-continue is answered here, once the request is on its way:
 * the upstream's own 100 is not forwarded (upstream_http1.c). */
static void answer_expect_continue(struct h2g_stream *s)
{
    if (s->req_end || s->head_sent)
        return;
    for (size_t i = 0; i < s->n_fields; i++) {
        const char *n = s->store.data + s->fields[i].name_off;
        const char *v = s->store.data + s->fields[i].value_off;
        if (h2g_hdr_is(n, s->fields[i].name_len, H2G_HDR_EXPECT) && s->fields[i].value_len == 12 &&
            strncasecmp(v, "100-continue", 12) == 0) {
            s->ops->send_continue(s);
            return;
        }
    }
}

/* Routes the complete request head and starts its upstream end.  0, or
 * the status to answer locally.  The order of the checks is the order of
 * the answers: 431, 400 (Host), CONNECT (ACL: 403), 400 (path, no
 * authority), 421/404, protocol (400/501), 413, then the upstream. */
static int dispatch(struct h2g_stream *s)
{
    const struct h2g_config *cfg = s->cfg;
    struct h2g_stats *st = &s->ctx.svc->stats;
    if (s->too_many_fields) {
        STAT_INC(st, refusals[H2G_REFUSAL_HEADER_LIMITS]);
        return 431;
    }
    const char *auth;
    size_t auth_len;
    int rc = request_authority(s, &auth, &auth_len);
    if (rc != 0)
        return rc;
    const char *method = stream_str(s, s->method);
    if (h2g_method_lookup(method, s->method.value_len) == H2G_METHOD_CONNECT && !s->has_protocol) {
        /* RFC 9113 8.5: a TCP tunnel to :authority, under connect.allow /
         * connect.deny. */
        return auth ? tunnel_connect(s, auth, auth_len, true) : 400;
    }
    if ((rc = normalize_path(s)) != 0)
        return rc;
    if (auth == NULL || auth_len == 0)
        return 400;
    const struct h2g_origin_config *o = h2g_route_origin(cfg, auth, auth_len);
    if (o == NULL)
        return unknown_authority_status(s, auth, auth_len);
    s->origin = o;
    s->route = h2g_route_find(o, stream_str(s, s->path), s->path.value_len);
    if (s->route == NULL)
        return 404;
    if (s->has_protocol) {
        bool opened;
        if ((rc = dispatch_protocol(s, s->route, &opened)) != 0 || opened)
            return rc;
    } else if (s->route->kind != H2G_ROUTE_HTTP) {
        return 404;
    }
    if (cfg->limits.max_request_body && s->req_content_length >= 0 &&
        (uint64_t)s->req_content_length > cfg->limits.max_request_body) {
        STAT_INC(st, refusals[H2G_REFUSAL_BODY_LIMIT]);
        return 413;
    }
    bool h2 = s->route->upstreams[0].proto == H2G_UPSTREAM_H2C; /* one protocol per route */
    if ((rc = h2 ? h2_exchange_start(s) : exchange_start(s)) != 0)
        return rc;
    answer_expect_continue(s);
    return 0;
}

void stream_dispatch(struct h2g_stream *s)
{
    s->dispatched = true;
    s->dispatch_us = h2g_mono_us();
    STAT_INC(&s->ctx.svc->stats, requests_total);
    int status = dispatch(s);
    if (status != 0)
        stream_respond_error(s, status);
}

/* --- the upstream end --- */

static void retire_end(struct h2g_stream *s);

void stream_upstream_attach(struct h2g_stream *s, const struct h2g_upstream_ops *ops, void *end)
{
    if (s->up != NULL) {
        /* A WebSocket's exchange handing its connection to a tunnel: it
         * is inside its own callback, so it waits for stream_clear. */
        retire_end(s);
    }
    s->up = end;
    s->up_ops = ops;
    if (ops->tunnel)
        s->tunnel = true;
}

void stream_upstream_detach(struct h2g_stream *s)
{
    s->up = NULL;
    s->up_ops = NULL;
}

/* Keeps the current end, inert (it failed or handed over from inside its
 * own callback), for stream_clear to free; an end retired before is not
 * running any more and goes now. */
static void retire_end(struct h2g_stream *s)
{
    if (s->up_done != NULL)
        s->up_done_ops->free(s->up_done);
    s->up_done = s->up;
    s->up_done_ops = s->up_ops;
    s->up = NULL;
    s->up_ops = NULL;
}

/* Frees the upstream end now (its connection closes): nobody but the
 * stream is running. */
static void free_end(struct h2g_stream *s)
{
    if (s->up == NULL)
        return;
    const struct h2g_upstream_ops *ops = s->up_ops;
    void *end = s->up;
    s->up = NULL;
    s->up_ops = NULL;
    ops->free(end);
}

/*
 * The one way a stream ends before its response completed: the upstream
 * end is closed -- freed, or, when the end itself failed (by_end: it
 * closed its connection and its callback is still running), kept, inert,
 * for stream_clear -- and the client is answered:
 * `status` when no response head went out yet and status != 0, else the
 * response is cut with `h2_error`.  The client session then ends its
 * side as after any response (stream_free).
 */
static void stream_end(struct h2g_stream *s, bool by_end, int status, uint32_t h2_error)
{
    if (!by_end)
        free_end(s);
    if (!s->head_sent && status != 0) {
        stream_respond_error(s, status);
        return;
    }
    s->resp_failed = true;
    s->ops->abort(s, h2_error);
}

void stream_upstream_fail(struct h2g_stream *s, int status, uint32_t h2_error)
{
    stream_end(s, true, status, h2_error);
}

void stream_drop_upstream(struct h2g_stream *s)
{
    /* Not a tunnel's end: the target closing its side leaves the other
     * direction open. */
    if (s->up != NULL && !s->up_ops->tunnel)
        free_end(s);
}

const struct h2g_request_ctx *stream_ctx(const struct h2g_stream *s)
{
    return &s->ctx;
}

const struct h2g_route_config *stream_route(const struct h2g_stream *s)
{
    return s->route;
}

int64_t stream_request_content_length(const struct h2g_stream *s)
{
    return s->req_content_length;
}

struct evbuffer *stream_request_body(struct h2g_stream *s)
{
    /* bytes_in == 0: no body came (most requests); the cached stream's
     * empty req_body need not be looked at. */
    return s->bytes_in > 0 ? s->req_body : NULL;
}

bool stream_request_ended(const struct h2g_stream *s)
{
    return s->req_end;
}

bool stream_client_reset(const struct h2g_stream *s)
{
    return s->client_reset;
}

int stream_request_trailers(const struct h2g_stream *s, struct h2g_field **fields, size_t *n)
{
    *fields = NULL;
    *n = 0;
    if (s->n_req_trailers == 0)
        return 0;
    struct h2g_field *tf = calloc(s->n_req_trailers, sizeof(*tf));
    if (tf == NULL)
        return H2G_ERR_NOMEM;
    h2g_field_refs_view(s->req_trailers_store.data, s->req_trailers, s->n_req_trailers, tf);
    *fields = tf;
    *n = s->n_req_trailers;
    return 0;
}

void stream_set_upstream_id(struct h2g_stream *s, const char *id, size_t len)
{
    if (len >= sizeof(s->upstream_id))
        len = sizeof(s->upstream_id) - 1;
    memcpy(s->upstream_id, id, len);
    s->upstream_id[len] = '\0';
}

const char *stream_upstream_id(const struct h2g_stream *s)
{
    return s->upstream_id;
}

void stream_byte_counts(const struct h2g_stream *s, uint64_t *in, uint64_t *out)
{
    *in = s->bytes_in;
    *out = s->bytes_out;
}

void stream_upstream_consumed(struct h2g_stream *s, size_t n)
{
    s->ops->consumed(s, n);
}

/* Request body bytes that could not be buffered (out of memory): the
 * stream fails alone.  The bytes are acknowledged, so the connection's
 * window does not lose them, and so are the next ones (no upstream end
 * is left to take them).  A tunnel still connecting must not answer 200
 * after the 503. */
static int request_data_lost(struct h2g_stream *s, size_t n)
{
    LOG_WARN("conn=%llu stream=%d: out of memory for the request body", (unsigned long long)s->ctx.client->conn_id,
             s->id);
    s->ops->consumed(s, n);
    s->tunnel = false;
    stream_end(s, false, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR);
    return 0;
}

int stream_request_data(struct h2g_stream *s, const uint8_t *p, size_t n)
{
    s->bytes_in += n;
    uint64_t max = s->cfg->limits.max_request_body;
    if (max && s->bytes_in > max && !s->head_sent && !s->tunnel) {
        STAT_INC(&s->ctx.svc->stats, refusals[H2G_REFUSAL_BODY_LIMIT]);
        stream_end(s, false, 413, NGHTTP2_INTERNAL_ERROR);
    }
    struct evbuffer *b;
    if (s->tunnel) {
        if ((b = stream_req_body(s)) == NULL || evbuffer_add(b, p, n) != 0)
            return request_data_lost(s, n);
        if (s->up != NULL)
            s->up_ops->request_progress(s->up);
        return 0;
    }
    if (s->up == NULL || s->head_sent || s->resp_failed) {
        /* Nobody upstream will read it: acknowledge and drop, so the
         * connection window is not eaten by a dead stream. */
        if (!s->head_sent || s->up == NULL) {
            s->ops->consumed(s, n);
            return 0;
        }
    }
    if ((b = stream_req_body(s)) == NULL || evbuffer_add(b, p, n) != 0)
        return request_data_lost(s, n);
    s->up_ops->request_progress(s->up);
    return 0;
}

void stream_request_end(struct h2g_stream *s)
{
    s->req_end = true;
    if (s->up != NULL)
        s->up_ops->request_progress(s->up);
}

int stream_upstream_head(struct h2g_stream *s, int status, const struct h2g_field *fields, size_t n,
                         bool no_body)
{
    nghttp2_nv stack[64];
    nghttp2_nv *nva = n + 1 <= 64 ? stack : calloc(n + 1, sizeof(*nva));
    if (nva == NULL)
        return H2G_ERR_NOMEM;
    char st[4];
    size_t cnt = h1_to_h2_response(status, fields, n, st, nva);
    s->upstream_latency_us = h2g_mono_us() - s->dispatch_us + 1;
    s->status = status;
    s->head_sent = true;
    if (no_body || is_head_request(s))
        s->resp_no_body = true;
    s->ops->send_head(s, nva, cnt, s->resp_no_body);
    if (nva != stack)
        free(nva);
    return 0;
}

void stream_upstream_data_ready(struct h2g_stream *s)
{
    s->ops->resume(s);
}

/* A response must not lose its trailers: out of memory fails it. */
int stream_upstream_trailers(struct h2g_stream *s, const struct h2g_field *fields, size_t n)
{
    nghttp2_nv *nva = calloc(n ? n : 1, sizeof(*nva));
    if (nva == NULL)
        return H2G_ERR_NOMEM;
    size_t cnt = h1_to_h2_trailers(fields, n, nva);
    /* Copy the strings: the parser's storage is reused for the next message. */
    struct h2g_buf *b = &s->resp_trailers_store;
    size_t total = 0;
    for (size_t i = 0; i < cnt; i++)
        total += nva[i].namelen + nva[i].valuelen;
    if (h2g_buf_reserve(b, total + 1) != 0) {
        free(nva);
        return H2G_ERR_NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        char *nm = b->data + b->len;
        memcpy(nm, nva[i].name, nva[i].namelen);
        b->len += nva[i].namelen;
        char *vl = b->data + b->len;
        memcpy(vl, nva[i].value, nva[i].valuelen);
        b->len += nva[i].valuelen;
        nva[i].name = (uint8_t *)nm;
        nva[i].value = (uint8_t *)vl;
    }
    free(s->resp_trailers);
    s->resp_trailers = nva;
    s->n_resp_trailers = cnt;
    return 0;
}

void stream_upstream_done(struct h2g_stream *s)
{
    s->resp_complete = true;
    s->ops->resume(s);
}

void stream_timed_out(struct h2g_stream *s)
{
    bool upstream_late = s->req_end || (s->up != NULL && s->up_ops->waiting(s->up));
    LOG_INFO("conn=%llu stream=%d: stream_idle timeout (%s)", (unsigned long long)s->ctx.client->conn_id, s->id,
             s->head_sent ? "response stalled" : upstream_late ? "waiting for the upstream" : "request body stalled");
    if (!s->head_sent && upstream_late)
        STAT_INC(&s->ctx.svc->stats, upstream_timeouts);
    STAT_INC(&s->ctx.svc->stats, timeouts[s->head_sent      ? H2G_TIMEOUT_RESPONSE_BODY
                                          : upstream_late ? H2G_TIMEOUT_UPSTREAM_RESPONSE
                                                          : H2G_TIMEOUT_REQUEST_BODY]);
    stream_end(s, false, upstream_late ? 504 : 408, NGHTTP2_CANCEL);
}

void stream_client_flushed(struct h2g_stream *s)
{
    if (s->up != NULL && s->up_ops->client_flushed != NULL)
        s->up_ops->client_flushed(s->up);
}

int stream_client_socket(struct h2g_stream *s, bool take)
{
    if (s->ops->client_socket == NULL || s->req_end)
        return -1;
    int fd = s->ops->client_socket(s, false);
    if (fd < 0)
        return fd;
    if ((s->req_body != NULL && evbuffer_get_length(s->req_body) > 0) ||
        (s->resp_body != NULL && evbuffer_get_length(s->resp_body) > 0))
        return H2G_CLIENT_SOCKET_BUSY;
    return take ? s->ops->client_socket(s, true) : fd;
}

void stream_tunnel_moved(struct h2g_stream *s, size_t up, size_t down)
{
    s->bytes_in += up;
    s->bytes_out += down;
    s->last_active_ms = h2g_mono_ms();
}

void stream_response_drained(struct h2g_stream *s)
{
    /* Nobody to wake (the exchange is done, most of the time): no need to
     * look at the buffer. */
    if (s->up == NULL || !s->up_ops->reading_paused(s->up))
        return;
    if (s->resp_body == NULL || evbuffer_get_length(s->resp_body) < H2G_STREAM_RESP_CAP / 2)
        s->up_ops->resume_reading(s->up);
}

bool stream_client_is_h2(const struct h2g_stream *s)
{
    return s->ops->h2;
}

const char *stream_client_proto(const struct h2g_stream *s)
{
    if (s->ops->h2)
        return s->ctx.client->tls ? "h2" : "h2c";
    return "http/1.1";
}

bool stream_is_tunnel(const struct h2g_stream *s)
{
    return s->tunnel;
}

bool stream_tunnel_live(const struct h2g_stream *s)
{
    return s->up != NULL && s->up_ops->tunnel && s->up_ops->live(s->up);
}

const struct h2g_tunnel *stream_tunnel(const struct h2g_stream *s)
{
    return s->up != NULL && s->up_ops->tunnel ? s->up : NULL;
}

/* The per-route counters of a finished request: its route's, or the
 * pseudo routes' (route_labels.h). */
static void count_route(struct h2g_stream *s, int cls)
{
    unsigned slot = s->route != NULL ? s->route->stats_slot
                    : s->has_method && !s->has_protocol &&
                            h2g_method_lookup(stream_str(s, s->method), s->method.value_len) == H2G_METHOD_CONNECT
                        ? H2G_SLOT_CONNECT
                        : H2G_SLOT_NONE;
    struct h2g_route_stats *rs = h2g_route_stats_at(&s->ctx.svc->routes, slot);
    if (rs == NULL)
        return;
    STAT_INC(rs, requests);
    STAT_INC(rs, responses[cls]);
    STAT_ADD(rs, bytes_in, s->bytes_in);
    STAT_ADD(rs, bytes_out, s->bytes_out);
    if (s->upstream_latency_us != 0) {
        STAT_INC(rs, latency[h2g_hist_bucket(s->upstream_latency_us - 1)]);
        STAT_ADD(rs, latency_sum_us, s->upstream_latency_us - 1);
    }
}

void stream_clear(struct h2g_stream *s)
{
    struct h2g_stats *st = &s->ctx.svc->stats;
    STAT_DEC(st, streams_open);
    if (!s->logged && (s->has_method || s->status)) {
        s->logged = true;
        int cls = s->resp_failed || s->status < 100 || s->status > 599 ? 0 : s->status / 100;
        STAT_INC(st, responses[cls]);
        STAT_ADD(st, bytes_in, s->bytes_in);
        STAT_ADD(st, bytes_out, s->bytes_out);
        if (s->end_us == 0)
            s->end_us = h2g_mono_us();
        h2g_stats_observe(st, s->end_us - s->start_us);
        count_route(s, cls);
        access_log_stream(s);
    }
    free_end(s);
    if (s->up_done != NULL)
        s->up_done_ops->free(s->up_done);
    s->up_done = NULL;
    s->up_done_ops = NULL;
    s->tunnel = false;
    /* Kept for the next request (stream_free), emptied. */
    if (s->req_body)
        evbuffer_drain(s->req_body, evbuffer_get_length(s->req_body));
    if (s->resp_body)
        evbuffer_drain(s->resp_body, evbuffer_get_length(s->resp_body));
    h2g_buf_reset(&s->store);
    s->n_fields = 0;
    h2g_buf_clear(&s->req_trailers_store);
    h2g_buf_clear(&s->resp_trailers_store);
    free(s->req_trailers);
    free(s->resp_trailers);
    s->req_trailers = NULL;
    s->resp_trailers = NULL;
    if (s->ctx.snap != NULL)
        services_snapshot_release(s->ctx.svc, s->ctx.snap);
    s->ctx.snap = NULL;
}
