#include "process/route_metrics.h"

#include <string.h>

#include "runtime/log.h"
#include "process/worker.h"

void route_metrics_prepare(struct h2g_process *p, struct h2g_config *c)
{
    if (p->route_labels.v == NULL && h2g_route_labels_init(&p->route_labels) != 0)
        LOG_ERROR("out of memory: per-route metrics off");
    size_t n = h2g_route_labels_assign(&p->route_labels, c);
    /* The slots every worker has memory for: a chunk missing in one
     * worker sends the routes past it to "(other)" in all. */
    size_t have = n;
    for (unsigned w = 0; w < p->n_workers; w++) {
        struct h2g_route_table *t = &p->workers[w]->svc.routes;
        if (h2g_route_table_reserve(t, n) != 0) {
            size_t k = 0;
            while (k < H2G_ROUTE_CHUNKS && t->chunk[k] != NULL)
                k++;
            if (k * H2G_ROUTE_CHUNK < have)
                have = k * H2G_ROUTE_CHUNK;
        }
    }
    if (have == n)
        return;
    LOG_ERROR("out of memory: some routes' metrics count as \"(other)\"");
    for (size_t i = 0; i < c->n_origins; i++)
        for (size_t j = 0; j < c->origins[i].n_routes; j++)
            if (c->origins[i].routes[j].stats_slot >= have)
                c->origins[i].routes[j].stats_slot = H2G_SLOT_OTHER;
}

void route_metrics_sum(struct h2g_process *p, unsigned slot, struct h2g_route_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned w = 0; w < p->n_workers; w++) {
        const struct h2g_route_stats *rs = h2g_route_stats_at(&p->workers[w]->svc.routes, slot);
        if (rs != NULL)
            h2g_route_stats_sum(out, rs);
    }
}

json_t *hist_json(const uint64_t counts[H2G_HIST_BUCKETS], uint64_t sum_us)
{
    json_t *buckets = json_array();
    uint64_t cum = 0;
    for (int i = 0; i < H2G_HIST_BUCKETS; i++) {
        cum += counts[i];
        json_array_append_new(buckets, json_pack("[oI]", i < H2G_HIST_BUCKETS - 1 ? json_real(h2g_hist_bounds[i])
                                                                                  : json_string("+Inf"),
                                                 (json_int_t)cum));
    }
    return json_pack("{sosfsI}", "buckets", buckets, "sum", (double)sum_us / 1e6, "count", (json_int_t)cum);
}

static json_t *route_json(struct h2g_process *p, unsigned slot, const char *path)
{
    struct h2g_route_stats rs;
    route_metrics_sum(p, slot, &rs);
    return json_pack("{sssIs{sIsIsIsIsIsI}sIsIso}", "route", path, "requests", (json_int_t)rs.requests,
                     "responses", "1xx", (json_int_t)rs.responses[1], "2xx", (json_int_t)rs.responses[2], "3xx",
                     (json_int_t)rs.responses[3], "4xx", (json_int_t)rs.responses[4], "5xx",
                     (json_int_t)rs.responses[5], "reset", (json_int_t)rs.responses[0], "bytes_in",
                     (json_int_t)rs.bytes_in, "bytes_out", (json_int_t)rs.bytes_out, "upstream_latency",
                     hist_json(rs.latency, rs.latency_sum_us));
}

json_t *route_metrics_json(struct h2g_process *p)
{
    json_t *a = json_array();
    const struct h2g_config *c = p->config;
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct h2g_origin_config *o = &c->origins[i];
        json_t *routes = json_array();
        for (size_t j = 0; j < o->n_routes; j++)
            json_array_append_new(routes, route_json(p, o->routes[j].stats_slot, o->routes[j].path));
        json_array_append_new(a, json_pack("{ssso}", "origin", h2g_origin_label(o), "routes", routes));
    }
    for (unsigned slot = 0; slot < H2G_SLOT_FIRST && p->route_labels.v != NULL; slot++) {
        struct h2g_route_stats rs;
        route_metrics_sum(p, slot, &rs);
        if (rs.requests == 0)
            continue;
        const struct h2g_route_label *l = &p->route_labels.v[slot];
        json_t *routes = json_array();
        json_array_append_new(routes, route_json(p, slot, l->route));
        json_array_append_new(a, json_pack("{ssso}", "origin", l->origin, "routes", routes));
    }
    return a;
}
