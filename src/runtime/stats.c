#include "runtime/stats.h"

#include <stddef.h>
#include <stdlib.h>

const double h2g_hist_bounds[H2G_HIST_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

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
