/*
 * stats.h: per-worker counters, written only by their worker without
 * locks or atomic read-modify-write (a relaxed store of value + 1), read
 * by the main thread (control socket, /metrics) with relaxed loads and
 * summed over workers.  A reader may see a counter a few events late,
 * never torn.
 */
#ifndef H2G_STATS_H
#define H2G_STATS_H

#include <stddef.h>
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

/*
 * Per-route counters (labels and slots: core/route_labels.h), in chunks
 * of H2G_ROUTE_CHUNK slots so that a worker holds memory for the routes
 * configured, not for the cap.  The main thread allocates a worker's
 * chunks before the worker gets a snapshot whose slots need them (the
 * mailbox orders the two) and frees them with the worker; the worker
 * writes the counters, the main thread reads them, as above.
 */
#define H2G_ROUTE_CHUNK 64
#define H2G_ROUTE_CHUNKS 16 /* H2G_ROUTE_SLOTS / H2G_ROUTE_CHUNK */

struct h2g_route_stats {
    uint64_t requests;
    uint64_t responses[6];        /* as h2g_stats.responses */
    uint64_t bytes_in, bytes_out; /* request / response body bytes */
    uint64_t latency[H2G_HIST_BUCKETS]; /* upstream latency: request head complete to
                                           the upstream's response head */
    uint64_t latency_sum_us;
};

struct h2g_route_table {
    struct h2g_route_stats *chunk[H2G_ROUTE_CHUNKS];
};

/* The slot's counters; NULL when its chunk was never allocated. */
static inline struct h2g_route_stats *h2g_route_stats_at(const struct h2g_route_table *t, unsigned slot)
{
    struct h2g_route_stats *c = slot / H2G_ROUTE_CHUNK < H2G_ROUTE_CHUNKS
                                    ? __atomic_load_n(&t->chunk[slot / H2G_ROUTE_CHUNK], __ATOMIC_ACQUIRE)
                                    : NULL;
    return c != NULL ? &c[slot % H2G_ROUTE_CHUNK] : NULL;
}

/* Allocates the chunks slots [0, n) need.  0, or -1 out of memory (the
 * chunks allocated so far stay). */
int h2g_route_table_reserve(struct h2g_route_table *t, size_t n);
void h2g_route_table_free(struct h2g_route_table *t);
/* The index of the histogram bucket `us` microseconds falls in. */
unsigned h2g_hist_bucket(uint64_t us);
/* acc += a snapshot of one slot's counters (relaxed loads). */
void h2g_route_stats_sum(struct h2g_route_stats *acc, const struct h2g_route_stats *st);

/* Adds one request of `us` microseconds to the histogram. */
void h2g_stats_observe(struct h2g_stats *st, uint64_t us);
/* acc += a snapshot of st (relaxed loads). */
void h2g_stats_sum(struct h2g_stats *acc, const struct h2g_stats *st);

#endif
