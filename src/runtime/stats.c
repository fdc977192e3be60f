#include "runtime/stats.h"

#include <stddef.h>

const double h2g_hist_bounds[H2G_HIST_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

void h2g_stats_observe(struct h2g_stats *st, uint64_t us)
{
    double s = (double)us / 1e6;
    size_t i = 0;
    while (i < H2G_HIST_BUCKETS - 1 && s > h2g_hist_bounds[i])
        i++;
    STAT_INC(st, hist[i]);
    STAT_ADD(st, hist_sum_us, us);
}

void h2g_stats_sum(struct h2g_stats *acc, const struct h2g_stats *st)
{
    const uint64_t *src = (const uint64_t *)st;
    uint64_t *dst = (uint64_t *)acc;
    for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
        dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
