/*
 * stats.h: per-worker counters, written only by their worker without
 * locks or atomic read-modify-write (a relaxed store of value + 1), read
 * by the main thread (control socket, /metrics) with relaxed loads and
 * summed over workers.  A reader may see a counter a few events late,
 * never torn.
 */
#ifndef H2G_STATS_H
#define H2G_STATS_H

#include <stdint.h>

#define H2G_HIST_BUCKETS 13
/* Upper bounds in seconds of the request duration histogram. */
extern const double h2g_hist_bounds[H2G_HIST_BUCKETS - 1];

struct h2g_stats {
    uint64_t connections_total;
    uint64_t requests_total;
    uint64_t responses[6];        /* by status class: [1]=1xx .. [5]=5xx, [0]=reset/none */
    uint64_t upstream_errors;
    uint64_t upstream_connect_errors;
    uint64_t upstream_timeouts;
    uint64_t tunnels_total;
    uint64_t tunnel_bytes_up, tunnel_bytes_down;
    uint64_t bytes_in, bytes_out; /* request / response body bytes */
    uint64_t refused_streams;
    uint64_t goaways;
    uint64_t sessions_total[3];   /* [0]=h2, [1]=h2c, [2]=http/1.1 */
    uint64_t hist[H2G_HIST_BUCKETS];
    uint64_t hist_sum_us;
    /* gauges, also single-writer */
    uint64_t connections_open;
    uint64_t streams_open;
    uint64_t tunnels_open;
    uint64_t sessions_open[3];
    uint64_t upstream_open;       /* upstream connections (a tunnel's not counted) */
    uint64_t upstream_idle;       /* of which kept alive in a pool */
};

#define STAT_ADD(st, field, n) __atomic_store_n(&(st)->field, (st)->field + (n), __ATOMIC_RELAXED)
#define STAT_INC(st, field) STAT_ADD(st, field, 1)
#define STAT_DEC(st, field) __atomic_store_n(&(st)->field, (st)->field - 1, __ATOMIC_RELAXED)
#define STAT_GET(st, field) __atomic_load_n(&(st)->field, __ATOMIC_RELAXED)

/* Adds one request of `us` microseconds to the histogram. */
void h2g_stats_observe(struct h2g_stats *st, uint64_t us);
/* acc += a snapshot of st (relaxed loads). */
void h2g_stats_sum(struct h2g_stats *acc, const struct h2g_stats *st);

#endif
