#include "runtime/stats.h"

#include <stddef.h>
#include <stdlib.h>

const double h2g_hist_bounds[H2G_HIST_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

static const char *const refusal_names[H2G_REFUSAL_N] = {
    [H2G_REFUSAL_MAX_CONNECTIONS] = "max_connections",
    [H2G_REFUSAL_MAX_SESSION_MEMORY] = "max_session_memory",
    [H2G_REFUSAL_CONCURRENT_STREAMS] = "concurrent_streams",
    [H2G_REFUSAL_CONNECT_DENIED] = "connect_denied",
    [H2G_REFUSAL_HEADER_LIMITS] = "header_limits",
    [H2G_REFUSAL_BODY_LIMIT] = "body_limit",
    [H2G_REFUSAL_RESET_FLOOD] = "reset_flood",
    [H2G_REFUSAL_INVALID_FRAMES] = "invalid_frames",
    [H2G_REFUSAL_REJECTED_STREAMS] = "rejected_streams",
    [H2G_REFUSAL_ACK_FLOOD] = "ack_flood",
    [H2G_REFUSAL_MAX_SETTINGS] = "max_settings",
    [H2G_REFUSAL_CONTINUATION_FLOOD] = "continuation_flood",
};

static const char *const timeout_names[H2G_TIMEOUT_N] = {
    [H2G_TIMEOUT_HANDSHAKE] = "handshake",
    [H2G_TIMEOUT_IDLE] = "idle",
    [H2G_TIMEOUT_REQUEST_HEAD] = "request_head",
    [H2G_TIMEOUT_REQUEST_BODY] = "request_body",
    [H2G_TIMEOUT_UPSTREAM_CONNECT] = "upstream_connect",
    [H2G_TIMEOUT_UPSTREAM_RESPONSE] = "upstream_response",
    [H2G_TIMEOUT_RESPONSE_BODY] = "response_body",
    [H2G_TIMEOUT_CLIENT_WRITE] = "client_write",
    [H2G_TIMEOUT_TUNNEL_IDLE] = "tunnel_idle",
    [H2G_TIMEOUT_SHUTDOWN] = "shutdown",
};

static const char *const tunnel_close_names[H2G_TUNNEL_CLOSE_N] = {
    [H2G_TUNNEL_CLIENT_END] = "client_end",
    [H2G_TUNNEL_UPSTREAM_END] = "upstream_end",
    [H2G_TUNNEL_CLIENT_RESET] = "client_reset",
    [H2G_TUNNEL_SESSION_CLOSED] = "session_closed",
    [H2G_TUNNEL_UPSTREAM_ERROR] = "upstream_error",
    [H2G_TUNNEL_CONNECT_TIMEOUT] = "connect_timeout",
    [H2G_TUNNEL_DENIED] = "denied",
    [H2G_TUNNEL_IDLE_TIMEOUT] = "idle_timeout",
    [H2G_TUNNEL_SHUTDOWN] = "shutdown",
    [H2G_TUNNEL_INTERNAL_ERROR] = "internal_error",
};

const struct h2g_stat_family h2g_stat_families[H2G_STAT_FAMILIES] = {
    {"h2gate_refusals_total", "reason", "refusals", "Clients refused or cut by a configured limit or policy.",
     refusal_names, H2G_REFUSAL_N, offsetof(struct h2g_stats, refusals)},
    {"h2gate_timeouts_total", "phase", "timeouts", "Timeouts that fired, by what was awaited.", timeout_names,
     H2G_TIMEOUT_N, offsetof(struct h2g_stats, timeouts)},
    {"h2gate_tunnel_closes_total", "reason", "tunnel_closes", "Tunnels ended, by why.", tunnel_close_names,
     H2G_TUNNEL_CLOSE_N, offsetof(struct h2g_stats, tunnel_closes)},
};

unsigned h2g_hist_bucket(uint64_t us)
{
    double s = (double)us / 1e6;
    unsigned i = 0;
    while (i < H2G_HIST_BUCKETS - 1 && s > h2g_hist_bounds[i])
        i++;
    return i;
}

void h2g_stats_observe(struct h2g_stats *st, uint64_t us)
{
    unsigned i = h2g_hist_bucket(us);
    STAT_INC(st, hist[i]);
    STAT_ADD(st, hist_sum_us, us);
}

/* Every field of both structures is a uint64_t. */
static void sum_words(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void h2g_stats_sum(struct h2g_stats *acc, const struct h2g_stats *st)
{
    sum_words((uint64_t *)acc, (const uint64_t *)st, sizeof(*st) / sizeof(uint64_t));
}

void h2g_route_stats_sum(struct h2g_route_stats *acc, const struct h2g_route_stats *st)
{
    sum_words((uint64_t *)acc, (const uint64_t *)st, sizeof(*st) / sizeof(uint64_t));
}

int h2g_route_table_reserve(struct h2g_route_table *t, size_t n)
{
    for (size_t k = 0; k < H2G_ROUTE_CHUNKS && k * H2G_ROUTE_CHUNK < n; k++) {
        if (t->chunk[k] != NULL)
            continue;
        struct h2g_route_stats *c = calloc(H2G_ROUTE_CHUNK, sizeof(*c));
        if (c == NULL)
            return -1;
        __atomic_store_n(&t->chunk[k], c, __ATOMIC_RELEASE);
    }
    return 0;
}

void h2g_route_table_free(struct h2g_route_table *t)
{
    for (size_t k = 0; k < H2G_ROUTE_CHUNKS; k++) {
        free(t->chunk[k]);
        t->chunk[k] = NULL;
    }
}
