#include "process/metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/h1_resp.h"
#include "runtime/jsonmem.h"
#include "runtime/log.h"
#include "process/process.h"
#include "runtime/recycle.h"
#include "runtime/stats.h"
#include "process/status_page.h"
#include "process/route_metrics.h"

#if !H2G_RECYCLE
/* The sanitizer runtime's own count (its header is not always there). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/*
 * Heap bytes in use by the whole process (every thread, the libraries
 * too), as the allocator counts them: unlike RSS, freed memory the
 * allocator keeps (glibc's trim threshold, h2gate(8); ASan's quarantine
 * and size-class regions) does not count, so a soak tells growth from
 * fragmentation.  glibc's mallinfo2 walks the arenas: fine for a scrape.
 */
static unsigned long long heap_in_use(void)
{
#if !H2G_RECYCLE
    return (unsigned long long)__sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return (unsigned long long)(mi.uordblks + mi.hblkhd);
#endif
}

struct h2g_metrics {
    struct h2g_process *p;
    struct evhttp *http;
};

/* The page being written; one line lost (out of memory) loses it all:
 * a page with a metric missing would look complete. */
struct page {
    struct evbuffer *b;
    bool lost;
};

static void put(struct page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct page *pg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (evbuffer_add_vprintf(pg->b, fmt, ap) < 0)
        pg->lost = true;
    va_end(ap);
}

static void metric(struct page *pg, const char *name, const char *type, const char *help)
{
    put(pg, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one unlabelled sample. */
static void one(struct page *pg, const char *name, const char *type, const char *help, unsigned long long v)
{
    metric(pg, name, type, help);
    put(pg, "%s %llu\n", name, v);
}

/* The labelled families of stats.h: every label, 0 included, so a
 * rate() sees a series from the first scrape. */
/* A metric of one sample per value of one label. */
static void labelled(struct page *pg, const char *name, const char *type, const char *help, const char *label,
                     const char *const *names, const uint64_t *v, unsigned n)
{
    metric(pg, name, type, help);
    for (unsigned j = 0; j < n; j++)
        put(pg, "%s{%s=\"%s\"} %llu\n", name, label, names[j], (unsigned long long)v[j]);
}

static void put_families(struct page *pg, const struct h2g_stats *st)
{
    for (unsigned i = 0; i < H2G_STAT_FAMILIES; i++) {
        const struct h2g_stat_family *f = &h2g_stat_families[i];
        labelled(pg, f->metric, "counter", f->help, f->label, f->names, h2g_stat_family_values(st, f), f->n);
    }
}

/* Out of memory: the status says so, not an empty or partial page that
 * looks fine (503: try again, as for proxied requests). */
static void unavailable(struct evhttp_request *req)
{
    evhttp_send_error(req, HTTP_SERVUNAVAIL, h2g_reason_phrase(HTTP_SERVUNAVAIL));
}

/* A label value: the text format's escapes (backslash, quote, newline).
 * Values come from the configuration, which may hold any of them. */
static void put_label(struct page *pg, const char *name, const char *v)
{
    put(pg, "%s=\"", name);
    for (;;) {
        size_t run = strcspn(v, "\\\"\n");
        put(pg, "%.*s", (int)run, v);
        v += run;
        if (*v == '\0')
            break;
        put(pg, "\\%c", *v == '\n' ? 'n' : *v);
        v++;
    }
    put(pg, "\"");
}

/* name{origin="..",route=".."[,extra]} and the space before the value. */
static void route_series(struct page *pg, const char *name, const struct h2g_route_label *l, const char *extra)
{
    put(pg, "%s{", name);
    put_label(pg, "origin", l->origin);
    put(pg, ",");
    put_label(pg, "route", l->route);
    put(pg, "%s%s} ", extra[0] ? "," : "", extra);
}

static void route_sample(struct page *pg, const char *name, const struct h2g_route_label *l, const char *extra,
                         unsigned long long v)
{
    route_series(pg, name, l, extra);
    put(pg, "%llu\n", v);
}

/* The per-route families: every pair the process has known (a removed
 * route's counters stay), the pseudo routes first. */
static void route_families(struct page *pg, struct h2g_process *p)
{
    const struct h2g_route_labels *ls = &p->route_labels;
    size_t n = ls->v != NULL ? ls->n : 0;
    struct h2g_route_stats *rs = n ? calloc(n, sizeof(*rs)) : NULL;
    if (n && rs == NULL) {
        pg->lost = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        route_metrics_sum(p, (unsigned)i, &rs[i]);
    metric(pg, "h2gate_route_requests_total", "counter", "Requests finished, by origin (its first host) and route.");
    for (size_t i = 0; i < n; i++)
        route_sample(pg, "h2gate_route_requests_total", &ls->v[i], "", (unsigned long long)rs[i].requests);
    static const char *const cls[] = {"class=\"reset\"", "class=\"1xx\"", "class=\"2xx\"",
                                      "class=\"3xx\"",   "class=\"4xx\"", "class=\"5xx\""};
    metric(pg, "h2gate_route_responses_total", "counter", "Responses by origin, route and status class.");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 6; k++)
            route_sample(pg, "h2gate_route_responses_total", &ls->v[i], cls[k], (unsigned long long)rs[i].responses[k]);
    metric(pg, "h2gate_route_body_bytes_total", "counter", "Request (in) and response (out) body bytes by origin and route.");
    for (size_t i = 0; i < n; i++) {
        route_sample(pg, "h2gate_route_body_bytes_total", &ls->v[i], "direction=\"in\"", (unsigned long long)rs[i].bytes_in);
        route_sample(pg, "h2gate_route_body_bytes_total", &ls->v[i], "direction=\"out\"", (unsigned long long)rs[i].bytes_out);
    }
    metric(pg, "h2gate_route_upstream_latency_seconds", "histogram",
           "Request head complete to the upstream's response head (a tunnel: to its connection), by origin and route.");
    for (size_t i = 0; i < n; i++) {
        uint64_t cum = 0;
        char le[40];
        for (int k = 0; k < H2G_HIST_BUCKETS; k++) {
            cum += rs[i].latency[k];
            if (k < H2G_HIST_BUCKETS - 1)
                snprintf(le, sizeof(le), "le=\"%g\"", h2g_hist_bounds[k]);
            else
                snprintf(le, sizeof(le), "le=\"+Inf\"");
            route_sample(pg, "h2gate_route_upstream_latency_seconds_bucket", &ls->v[i], le, (unsigned long long)cum);
        }
        route_series(pg, "h2gate_route_upstream_latency_seconds_sum", &ls->v[i], "");
        put(pg, "%.6f\n", (double)rs[i].latency_sum_us / 1e6);
        route_sample(pg, "h2gate_route_upstream_latency_seconds_count", &ls->v[i], "", (unsigned long long)cum);
    }
    free(rs);
}

static void duration_histogram(struct page *b, const struct h2g_stats *st)
{
    metric(b, "h2gate_request_duration_seconds", "histogram", "Request durations, first byte in to last byte out.");
    uint64_t cum = 0;
    for (int i = 0; i < H2G_HIST_BUCKETS; i++) {
        cum += st->hist[i];
        if (i < H2G_HIST_BUCKETS - 1)
            put(b, "h2gate_request_duration_seconds_bucket{le=\"%g\"} %llu\n", h2g_hist_bounds[i],
                (unsigned long long)cum);
        else
            put(b, "h2gate_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    put(b, "h2gate_request_duration_seconds_sum %.6f\n", (double)st->hist_sum_us / 1e6);
    put(b, "h2gate_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}

/* Sends the page, or 503 if a line of it was lost; frees it. */
static void send_page(struct evhttp_request *req, struct page *pg)
{
    if (pg->lost) {
        unavailable(req);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, HTTP_OK, h2g_reason_phrase(HTTP_OK), pg->b);
    }
    evbuffer_free(pg->b);
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
    struct h2g_metrics *m = arg;
    struct h2g_process *p = m->p;
    struct h2g_stats st;
    process_stats(p, &st);
    struct page page = {evbuffer_new(), false}, *b = &page;
    if (page.b == NULL) {
        unavailable(req);
        return;
    }
    one(b, "h2gate_heap_bytes", "gauge", "Heap bytes in use, all threads and libraries (allocator's count).",
        heap_in_use());
    one(b, "h2gate_connections_total", "counter", "Client connections accepted.", st.connections_total);
    one(b, "h2gate_connections_open", "gauge", "Client connections open.", st.connections_open);
    one(b, "h2gate_connections_asleep", "gauge",
        "Idle client connections holding only their socket, session state and TLS state until the client speaks.",
        st.connections_asleep);
    one(b, "h2gate_tls_handoffs_total", "counter",
        "TLS client connections whose records h2gate seals and opens itself since a sleep, their OpenSSL "
        "object freed.",
        st.tls_handoffs);
    static const char *const alpn[] = {"h2", "h2c", "http/1.1"};
    labelled(b, "h2gate_sessions_total", "counter", "Client sessions started, by protocol.", "alpn", alpn,
             st.sessions_total, 3);
    labelled(b, "h2gate_sessions_open", "gauge", "Client sessions open, by protocol.", "alpn", alpn, st.sessions_open,
             3);
    one(b, "h2gate_sessions_dormant", "gauge",
        "Idle HTTP/2 sessions put away (no nghttp2 session until the client speaks again).", st.sessions_dormant);
    one(b, "h2gate_streams_open", "gauge", "Streams (requests) in progress.", st.streams_open);
    one(b, "h2gate_requests_total", "counter", "Requests received.", st.requests_total);
    static const char *const cls[] = {"reset", "1xx", "2xx", "3xx", "4xx", "5xx"};
    labelled(b, "h2gate_responses_total", "counter", "Responses by status class (reset: no complete response).",
             "class", cls, st.responses, 6);
    static const char *const kinds[] = {"connect", "timeout", "other"};
    const uint64_t errs[] = {st.upstream_connect_errors, st.upstream_timeouts,
                             st.upstream_errors - st.upstream_connect_errors - st.upstream_timeouts};
    labelled(b, "h2gate_upstream_errors_total", "counter", "Failed upstream exchanges, by kind.", "kind", kinds, errs, 3);
    one(b, "h2gate_tunnels_open", "gauge", "CONNECT and WebSocket tunnels open.", st.tunnels_open);
    one(b, "h2gate_upstream_connections_open", "gauge", "Upstream connections open (tunnels not counted).",
        st.upstream_open);
    one(b, "h2gate_upstream_connections_idle", "gauge", "Upstream connections kept alive, idle in a pool.",
        st.upstream_idle);
    one(b, "h2gate_upstream_tls_handshakes_total", "counter",
        "TLS handshakes completed with upstreams (https://, h2://).", st.upstream_tls_handshakes);
    one(b, "h2gate_upstream_tls_resumed_total", "counter",
        "Upstream TLS handshakes that resumed an earlier session (no certificate exchange).",
        st.upstream_tls_resumed);
    one(b, "h2gate_tunnels_total", "counter", "Tunnels opened.", st.tunnels_total);
    one(b, "h2gate_tunnels_spliced_total", "counter",
        "Tunnels between two cleartext TCP sockets handed to splice(2) (no copy through user space).",
        st.tunnels_spliced);
    static const char *const updown[] = {"up", "down"}, *const inout[] = {"in", "out"};
    const uint64_t tunnel_bytes[] = {st.tunnel_bytes_up, st.tunnel_bytes_down}, body[] = {st.bytes_in, st.bytes_out};
    labelled(b, "h2gate_tunnel_bytes_total", "counter", "Bytes carried by closed tunnels.", "direction", updown,
             tunnel_bytes, 2);
    labelled(b, "h2gate_body_bytes_total", "counter", "Request (in) and response (out) body bytes.", "direction", inout,
             body, 2);
    one(b, "h2gate_refused_streams_total", "counter", "Streams refused at creation (limits).", st.refused_streams);
    one(b, "h2gate_goaways_sent_total", "counter", "GOAWAY frames sent.", st.goaways);
    one(b, "h2gate_reloads_total", "counter", "Configuration reloads attempted.", p->reloads);
    one(b, "h2gate_last_reload_success", "gauge", "1 if the last reload succeeded (or none happened), else 0.",
        p->last_reload >= 0);
    duration_histogram(b, &st);
    put_families(b, &st);
    one(b, "h2gate_draining", "gauge",
        "1 while draining (h2gatectl drain: not accepting, sessions finishing) or stopping, else 0.",
        p->drained || p->stopping);
    route_families(b, p);
    send_page(req, &page);
}

/* The lists of the status page, at most this many sessions and tunnels
 * (each worker gives at most as many; the page says when some are left
 * out): a page polled every second stays cheap under 10k sessions. */
#define STATUS_LIST_MAX 200

static void send_json(struct evhttp_request *req, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
    struct evbuffer *b = s != NULL && !jsonmem_failed() ? evbuffer_new() : NULL;
    if (b == NULL || evbuffer_add_printf(b, "%s\n", s) < 0) {
        free(s);
        if (b != NULL)
            evbuffer_free(b);
        unavailable(req);
        return;
    }
    free(s);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_OK, h2g_reason_phrase(HTTP_OK), b);
    evbuffer_free(b);
}

/*
 * GET / : the live status page, a self-contained document (inline script
 * and style, no external asset) that polls /status.  The policy lets the
 * page talk only to this listener, so a page someone else injected could
 * not send the status elsewhere; no-store: a proxy or the browser must
 * not show yesterday's page.
 */
static void page_cb(struct evhttp_request *req, void *arg)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL || evbuffer_add_reference(b, status_page_html, sizeof(status_page_html), NULL, NULL) < 0) {
        if (b != NULL)
            evbuffer_free(b);
        unavailable(req);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
                      "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'none'");
    evhttp_send_reply(req, HTTP_OK, h2g_reason_phrase(HTTP_OK), b);
    evbuffer_free(b);
}

/* The workers' parts, one object each, as two lists of at most max. */
struct list_names {
    const char *key, *more; /* in a part */
    const char *list, *truncated; /* in /status */
};
static const struct list_names session_names = {"sessions", "sessions_more", "session_list", "session_list_truncated"};
static const struct list_names tunnel_names = {"tunnels", "tunnels_more", "tunnel_list", "tunnel_list_truncated"};

static void add_lists(json_t *o, json_t *parts, const struct list_names *n, size_t max)
{
    json_t *all = json_array();
    bool more = false;
    size_t i;
    json_t *part;
    json_array_foreach(parts, i, part) {
        json_array_extend(all, json_object_get(part, n->key));
        more |= json_is_true(json_object_get(part, n->more));
    }
    if (json_array_size(all) > max) {
        more = true;
        while (json_array_size(all) > max)
            json_array_remove(all, json_array_size(all) - 1);
    }
    json_object_set_new(o, n->list, all);
    json_object_set_new(o, n->truncated, json_boolean(more));
}

struct status_req {
    struct evhttp_request *req;
    struct h2g_metrics *m;
};

/* The workers answered (parts NULL: one could not): the reply.  libevent
 * keeps a request its client left until it is answered. */
static void status_gathered(json_t *parts, void *arg)
{
    struct status_req *sr = arg;
    jsonmem_begin();
    json_t *o = parts != NULL ? process_status_json(sr->m->p) : NULL;
    if (o != NULL) {
        json_object_set_new(o, "origins", route_metrics_json(sr->m->p));
        add_lists(o, parts, &session_names, STATUS_LIST_MAX);
        add_lists(o, parts, &tunnel_names, STATUS_LIST_MAX);
    }
    send_json(sr->req, o);
    json_decref(o);
    json_decref(parts);
    free(sr);
}

/* /status: the control socket's status, the routes' counters and the
 * lists the workers give (asynchronously: their threads own them). */
static void status_cb(struct evhttp_request *req, void *arg)
{
    struct h2g_metrics *m = arg;
    struct status_req *sr = malloc(sizeof(*sr));
    if (sr != NULL) {
        sr->req = req;
        sr->m = m;
        if (process_gather(m->p, 3, STATUS_LIST_MAX, status_gathered, sr) == 0)
            return;
        free(sr);
    }
    /* Stopping (the workers answer no more) or out of memory: the
     * counters alone. */
    jsonmem_begin();
    json_t *o = process_status_json(m->p);
    send_json(req, o);
    json_decref(o);
}

static void other_cb(struct evhttp_request *req, void *arg)
{
    evhttp_send_error(req, HTTP_NOTFOUND, h2g_reason_phrase(HTTP_NOTFOUND));
}

struct h2g_metrics *metrics_new(struct h2g_process *p, const struct h2g_hostport *addr)
{
    struct h2g_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->p = p;
    m->http = evhttp_new(p->base);
    if (m->http == NULL)
        goto fail;
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_cb(m->http, "/metrics", metrics_cb, m);
    evhttp_set_cb(m->http, "/status", status_cb, m);
    evhttp_set_cb(m->http, "/", page_cb, m);
    evhttp_set_gencb(m->http, other_cb, m);
    evhttp_set_timeout(m->http, 10);
    const char *host = addr->wildcard || addr->host[0] == '\0' ? "::" : addr->host;
    if (evhttp_bind_socket_with_handle(m->http, host, addr->port) == NULL) {
        LOG_ERROR("metrics.listen: cannot listen on %s:%u", host, addr->port);
        goto fail;
    }
    LOG_INFO("metrics on %s:%u (/metrics, /status, /)", host, addr->port);
    return m;
fail:
    metrics_free(m);
    return NULL;
}

void metrics_free(struct h2g_metrics *m)
{
    if (m == NULL)
        return;
    if (m->http)
        evhttp_free(m->http);
    free(m);
}
