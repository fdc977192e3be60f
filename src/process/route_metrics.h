/*
 * route_metrics.h: the per-route counters seen from the main thread.
 *
 * Before a snapshot reaches any worker (startup, reload), its routes get
 * their slots (core/route_labels.h) and every worker the memory for them;
 * /metrics and /status read the sums over workers.  Main thread only;
 * the registry is the process's (p->route_labels), freed with it.
 */
#ifndef H2G_ROUTE_METRICS_H
#define H2G_ROUTE_METRICS_H

#include <jansson.h>

#include "process/process.h"

/* Slots for c's routes, and the workers' counters for them.  A route
 * whose counters cannot be allocated counts into "(other)": nothing
 * fails. */
void route_metrics_prepare(struct h2g_process *p, struct h2g_config *c);
/* out = the slot's counters summed over the workers. */
void route_metrics_sum(struct h2g_process *p, unsigned slot, struct h2g_route_stats *out);
/* /status "origins": the running configuration's origins and routes,
 * then the pseudo routes that counted something:
 * [{"origin":..,"routes":[{"route":..,"requests":N,"responses":{..},
 *   "bytes_in":N,"bytes_out":N,"upstream_latency":{"buckets":[[le,N]..],
 *   "sum":F,"count":N}}]}] */
json_t *route_metrics_json(struct h2g_process *p);
/* A histogram of the stats' buckets as JSON: {"buckets":[[le,cumulative],
 * ..,["+Inf",N]],"sum":seconds,"count":N} (control stats, /status). */
json_t *hist_json(const uint64_t counts[H2G_HIST_BUCKETS], uint64_t sum_us);

#endif
