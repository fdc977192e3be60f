#include "core/addrset.h"

#include <string.h>

uint64_t h2g_addrset_keep_ms(int64_t ttl_s)
{
    if (ttl_s < 0)
        ttl_s = 0;
    if ((uint64_t)ttl_s > H2G_ADDRSET_TTL_MAX_MS / 1000)
        return H2G_ADDRSET_TTL_MAX_MS;
    uint64_t ms = (uint64_t)ttl_s * 1000;
    return ms < H2G_ADDRSET_TTL_MIN_MS ? H2G_ADDRSET_TTL_MIN_MS : ms;
}

bool h2g_ipaddr_equal(const struct h2g_ipaddr *a, const struct h2g_ipaddr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

bool h2g_addrset_contains(const struct h2g_ipaddr *set, size_t n, const struct h2g_ipaddr *x)
{
    for (size_t i = 0; i < n; i++)
        if (h2g_ipaddr_equal(&set[i], x))
            return true;
    return false;
}

bool h2g_addrset_same(const struct h2g_ipaddr *a, size_t na, const struct h2g_ipaddr *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!h2g_addrset_contains(b, nb, &a[i]))
            return false;
    return true;
}

void h2g_addrset_keep_families(struct h2g_ipaddr *set, size_t *n, size_t cap, const struct h2g_ipaddr *old,
                               size_t n_old, bool keep4, bool keep6)
{
    for (size_t i = 0; i < n_old; i++)
        if (old[i].family == 4 ? keep4 : keep6)
            h2g_addrset_add(set, n, cap, &old[i]);
}

bool h2g_addrset_add(struct h2g_ipaddr *set, size_t *n, size_t cap, const struct h2g_ipaddr *x)
{
    if (h2g_addrset_contains(set, *n, x))
        return true;
    if (*n >= cap)
        return false;
    set[(*n)++] = *x;
    return true;
}
