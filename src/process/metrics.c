#include "process/metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/h1_resp.h"
#include "runtime/jsonmem.h"
#include "runtime/log.h"
#include "process/process.h"
#include "runtime/recycle.h"
#include "runtime/stats.h"

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

/* The labelled families of stats.h: every label, 0 included, so a
 * rate() sees a series from the first scrape. */
static void put_families(struct page *pg, const struct h2g_stats *st)
{
    for (unsigned i = 0; i < H2G_STAT_FAMILIES; i++) {
        const struct h2g_stat_family *f = &h2g_stat_families[i];
        const uint64_t *v = h2g_stat_family_values(st, f);
        metric(pg, f->metric, "counter", f->help);
        for (unsigned j = 0; j < f->n; j++)
            put(pg, "%s{%s=\"%s\"} %llu\n", f->metric, f->label, f->names[j], (unsigned long long)v[j]);
    }
}

/* Out of memory: the status says so, not an empty or partial page that
 * looks fine (503: try again, as for proxied requests). */
static void unavailable(struct evhttp_request *req)
{
    evhttp_send_error(req, HTTP_SERVUNAVAIL, h2g_reason_phrase(HTTP_SERVUNAVAIL));
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
    metric(b, "h2gate_heap_bytes", "gauge", "Heap bytes in use, all threads and libraries (allocator's count).");
    put(b, "h2gate_heap_bytes %llu\n", heap_in_use());
    metric(b, "h2gate_connections_total", "counter", "Client connections accepted.");
    put(b, "h2gate_connections_total %llu\n", (unsigned long long)st.connections_total);
    metric(b, "h2gate_connections_open", "gauge", "Client connections open.");
    put(b, "h2gate_connections_open %llu\n", (unsigned long long)st.connections_open);
    static const char *const alpn[] = {"h2", "h2c", "http/1.1"};
    metric(b, "h2gate_sessions_total", "counter", "Client sessions started, by protocol.");
    for (int i = 0; i < 3; i++)
        put(b, "h2gate_sessions_total{alpn=\"%s\"} %llu\n", alpn[i], (unsigned long long)st.sessions_total[i]);
    metric(b, "h2gate_sessions_open", "gauge", "Client sessions open, by protocol.");
    for (int i = 0; i < 3; i++)
        put(b, "h2gate_sessions_open{alpn=\"%s\"} %llu\n", alpn[i], (unsigned long long)st.sessions_open[i]);
    metric(b, "h2gate_streams_open", "gauge", "Streams (requests) in progress.");
    put(b, "h2gate_streams_open %llu\n", (unsigned long long)st.streams_open);
    metric(b, "h2gate_requests_total", "counter", "Requests received.");
    put(b, "h2gate_requests_total %llu\n", (unsigned long long)st.requests_total);
    metric(b, "h2gate_responses_total", "counter", "Responses by status class (reset: no complete response).");
    static const char *const cls[] = {"reset", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; i++)
        put(b, "h2gate_responses_total{class=\"%s\"} %llu\n", cls[i], (unsigned long long)st.responses[i]);
    metric(b, "h2gate_upstream_errors_total", "counter", "Failed upstream exchanges, by kind.");
    uint64_t other = st.upstream_errors - st.upstream_connect_errors - st.upstream_timeouts;
    put(b, "h2gate_upstream_errors_total{kind=\"connect\"} %llu\n", (unsigned long long)st.upstream_connect_errors);
    put(b, "h2gate_upstream_errors_total{kind=\"timeout\"} %llu\n", (unsigned long long)st.upstream_timeouts);
    put(b, "h2gate_upstream_errors_total{kind=\"other\"} %llu\n", (unsigned long long)other);
    metric(b, "h2gate_tunnels_open", "gauge", "CONNECT and WebSocket tunnels open.");
    put(b, "h2gate_tunnels_open %llu\n", (unsigned long long)st.tunnels_open);
    metric(b, "h2gate_upstream_connections_open", "gauge", "Upstream connections open (tunnels not counted).");
    put(b, "h2gate_upstream_connections_open %llu\n", (unsigned long long)st.upstream_open);
    metric(b, "h2gate_upstream_connections_idle", "gauge", "Upstream connections kept alive, idle in a pool.");
    put(b, "h2gate_upstream_connections_idle %llu\n", (unsigned long long)st.upstream_idle);
    metric(b, "h2gate_tunnels_total", "counter", "Tunnels opened.");
    put(b, "h2gate_tunnels_total %llu\n", (unsigned long long)st.tunnels_total);
    metric(b, "h2gate_tunnel_bytes_total", "counter", "Bytes carried by closed tunnels.");
    put(b, "h2gate_tunnel_bytes_total{direction=\"up\"} %llu\n", (unsigned long long)st.tunnel_bytes_up);
    put(b, "h2gate_tunnel_bytes_total{direction=\"down\"} %llu\n", (unsigned long long)st.tunnel_bytes_down);
    metric(b, "h2gate_body_bytes_total", "counter", "Request (in) and response (out) body bytes.");
    put(b, "h2gate_body_bytes_total{direction=\"in\"} %llu\n", (unsigned long long)st.bytes_in);
    put(b, "h2gate_body_bytes_total{direction=\"out\"} %llu\n", (unsigned long long)st.bytes_out);
    metric(b, "h2gate_refused_streams_total", "counter", "Streams refused at creation (limits).");
    put(b, "h2gate_refused_streams_total %llu\n", (unsigned long long)st.refused_streams);
    metric(b, "h2gate_goaways_sent_total", "counter", "GOAWAY frames sent.");
    put(b, "h2gate_goaways_sent_total %llu\n", (unsigned long long)st.goaways);
    metric(b, "h2gate_reloads_total", "counter", "Configuration reloads attempted.");
    put(b, "h2gate_reloads_total %u\n", p->reloads);
    metric(b, "h2gate_last_reload_success", "gauge", "1 if the last reload succeeded (or none happened), else 0.");
    put(b, "h2gate_last_reload_success %d\n", p->last_reload >= 0 ? 1 : 0);
    metric(b, "h2gate_request_duration_seconds", "histogram", "Request durations, first byte in to last byte out.");
    uint64_t cum = 0;
    for (int i = 0; i < H2G_HIST_BUCKETS; i++) {
        cum += st.hist[i];
        if (i < H2G_HIST_BUCKETS - 1)
            put(b, "h2gate_request_duration_seconds_bucket{le=\"%g\"} %llu\n", h2g_hist_bounds[i],
                                (unsigned long long)cum);
        else
            put(b, "h2gate_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    put(b, "h2gate_request_duration_seconds_sum %.6f\n", (double)st.hist_sum_us / 1e6);
    put(b, "h2gate_request_duration_seconds_count %llu\n", (unsigned long long)cum);
    put_families(b, &st);
    send_page(req, &page);
}

static void status_cb(struct evhttp_request *req, void *arg)
{
    struct h2g_metrics *m = arg;
    jsonmem_begin();
    json_t *j = process_status_json(m->p);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(j);
    struct evbuffer *b = s != NULL && !jsonmem_failed() ? evbuffer_new() : NULL;
    if (b == NULL || evbuffer_add_printf(b, "%s\n", s) < 0) {
        free(s);
        if (b != NULL)
            evbuffer_free(b);
        unavailable(req);
        return;
    }
    free(s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, HTTP_OK, h2g_reason_phrase(HTTP_OK), b);
    evbuffer_free(b);
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
    evhttp_set_gencb(m->http, other_cb, m);
    evhttp_set_timeout(m->http, 10);
    const char *host = addr->wildcard || addr->host[0] == '\0' ? "::" : addr->host;
    if (evhttp_bind_socket_with_handle(m->http, host, addr->port) == NULL) {
        LOG_ERROR("metrics.listen: cannot listen on %s:%u", host, addr->port);
        goto fail;
    }
    LOG_INFO("metrics on %s:%u (/metrics, /status)", host, addr->port);
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
