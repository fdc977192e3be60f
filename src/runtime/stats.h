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

/*
 * Three counter families with fixed label values (h2gate(8) METRICS says
 * what each counts); the names are the labels, printed in this order,
 * never taken from a client.
 */
/* A client refused or cut because of a configured limit or policy. */
enum h2g_refusal {
    H2G_REFUSAL_MAX_CONNECTIONS,   /* a client left waiting in the accept queue */
    H2G_REFUSAL_MAX_SESSION_MEMORY,
    H2G_REFUSAL_CONCURRENT_STREAMS,
    H2G_REFUSAL_CONNECT_DENIED,    /* 403: connect.allow / connect.deny */
    H2G_REFUSAL_HEADER_LIMITS,     /* 431 */
    H2G_REFUSAL_BODY_LIMIT,        /* 413 */
    H2G_REFUSAL_RESET_FLOOD,
    H2G_REFUSAL_INVALID_FRAMES,
    H2G_REFUSAL_REJECTED_STREAMS,
    H2G_REFUSAL_ACK_FLOOD,         /* SETTINGS / PING ACKs owed: max_outstanding_pings */
    H2G_REFUSAL_MAX_SETTINGS,
    H2G_REFUSAL_CONTINUATION_FLOOD,
    H2G_REFUSAL_N
};
/* A timeout that fired, by what was awaited. */
enum h2g_timeout_phase {
    H2G_TIMEOUT_HANDSHAKE,
    H2G_TIMEOUT_IDLE,
    H2G_TIMEOUT_REQUEST_HEAD,
    H2G_TIMEOUT_REQUEST_BODY,
    H2G_TIMEOUT_UPSTREAM_CONNECT,
    H2G_TIMEOUT_UPSTREAM_RESPONSE,
    H2G_TIMEOUT_RESPONSE_BODY,
    H2G_TIMEOUT_CLIENT_WRITE,
    H2G_TIMEOUT_TUNNEL_IDLE,
    H2G_TIMEOUT_SHUTDOWN,
    H2G_TIMEOUT_N
};
/* Why a tunnel ended: one per tunnel counted in tunnels_total. */
enum h2g_tunnel_close {
    H2G_TUNNEL_CLIENT_END,
    H2G_TUNNEL_UPSTREAM_END,
    H2G_TUNNEL_CLIENT_RESET,
    H2G_TUNNEL_SESSION_CLOSED,
    H2G_TUNNEL_UPSTREAM_ERROR,
    H2G_TUNNEL_CONNECT_TIMEOUT,
    H2G_TUNNEL_DENIED,
    H2G_TUNNEL_IDLE_TIMEOUT,
    H2G_TUNNEL_SHUTDOWN,
    H2G_TUNNEL_INTERNAL_ERROR,
    H2G_TUNNEL_CLOSE_N
};

struct h2g_stats {
    uint64_t connections_total;
    uint64_t requests_total;
    uint64_t responses[6];        /* by status class: [1]=1xx .. [5]=5xx, [0]=reset/none */
    uint64_t upstream_errors;
    uint64_t upstream_connect_errors;
    uint64_t upstream_timeouts;
    uint64_t tunnels_total;
    uint64_t tunnels_spliced;     /* of which moved by splice(2) (splice_relay.h) */
    uint64_t tunnel_bytes_up, tunnel_bytes_down;
    uint64_t bytes_in, bytes_out; /* request / response body bytes */
    uint64_t refused_streams;
    uint64_t goaways;
    uint64_t sessions_total[3];   /* [0]=h2, [1]=h2c, [2]=http/1.1 */
    uint64_t upstream_tls_handshakes; /* TLS upstream connections up (https://, h2://) */
    uint64_t upstream_tls_resumed;    /* of which resumed a session (upstream_tls.h) */
    uint64_t tls_handoffs;        /* client TLS connections whose records became ours (tls_record.h) */
    uint64_t hist[H2G_HIST_BUCKETS];
    uint64_t hist_sum_us;
    /* gauges, also single-writer */
    uint64_t connections_open;
    uint64_t connections_asleep;  /* of which gave back their buffers until the client speaks (conn_sleep) */
    uint64_t streams_open;
    uint64_t tunnels_open;
    uint64_t sessions_open[3];
    uint64_t sessions_dormant;    /* idle h2 sessions without their nghttp2 session (h2_resume.h) */
    uint64_t upstream_open;       /* upstream connections (a tunnel's not counted) */
    uint64_t upstream_idle;       /* of which kept alive in a pool */
    /* counters by label (the enums above) */
    uint64_t refusals[H2G_REFUSAL_N];
    uint64_t timeouts[H2G_TIMEOUT_N];
    uint64_t tunnel_closes[H2G_TUNNEL_CLOSE_N];
};

/* One labelled family, as /metrics and the JSON views print it. */
struct h2g_stat_family {
    const char *metric;            /* Prometheus name */
    const char *label;             /* its label's name */
    const char *json;              /* key of the JSON object */
    const char *help;
    const char *const *names;      /* label values, by enum */
    unsigned n;
    size_t offset;                 /* of the counters in struct h2g_stats */
};
#define H2G_STAT_FAMILIES 3
extern const struct h2g_stat_family h2g_stat_families[H2G_STAT_FAMILIES];

static inline const uint64_t *h2g_stat_family_values(const struct h2g_stats *st, const struct h2g_stat_family *f)
{
    return (const uint64_t *)((const char *)st + f->offset);
}

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
