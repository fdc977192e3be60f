/*
 * balance.c: round-robin with passive health (see balance.h).
 */
#include "core/balance.h"

#include <stdlib.h>

#include "core/errors.h"

int h2g_balance_init(struct h2g_balance *b, size_t n)
{
    b->n = 0;
    b->next = 0;
    b->down_until = NULL;
    if (n == 0)
        return 0;
    b->down_until = calloc(n, sizeof(*b->down_until));
    if (b->down_until == NULL)
        return H2G_ERR_NOMEM;
    b->n = n;
    return 0;
}

void h2g_balance_use(struct h2g_balance *b, uint64_t *down_until, size_t n)
{
    b->n = n;
    b->next = 0;
    b->down_until = down_until;
}

void h2g_balance_clear(struct h2g_balance *b)
{
    free(b->down_until);
    b->down_until = NULL;
    b->n = 0;
    b->next = 0;
}

/* Returns the index to use next: the first healthy upstream at or after
 * the round-robin cursor, else (all down) the one whose penalty ends
 * first, so a request is never failed without a try.  0 when n == 0. */
size_t h2g_balance_pick(struct h2g_balance *b, uint64_t now_ms)
{
    if (b->n == 0)
        return 0;
    size_t soonest = b->next % b->n;
    for (size_t k = 0; k < b->n; k++) {
        size_t i = (b->next + k) % b->n;
        if (b->down_until[i] <= now_ms) {
            b->down_until[i] = 0; /* penalty served: healthy again */
            b->next = (i + 1) % b->n;
            return i;
        }
        if (b->down_until[i] < b->down_until[soonest])
            soonest = i;
    }
    b->next = (soonest + 1) % b->n;
    return soonest;
}

/* Marks upstream i down until now + retry_after (0 = the default
 * H2G_BALANCE_RETRY_AFTER_MS).  Out-of-range i is ignored. */
void h2g_balance_fail(struct h2g_balance *b, size_t i, uint64_t now_ms, uint64_t retry_after_ms)
{
    if (i >= b->n)
        return;
    if (retry_after_ms == 0)
        retry_after_ms = H2G_BALANCE_RETRY_AFTER_MS;
    uint64_t until = now_ms + retry_after_ms;
    b->down_until[i] = until < now_ms ? UINT64_MAX : until;
}

/* Upstream i answered: healthy now, whatever its penalty said. */
void h2g_balance_ok(struct h2g_balance *b, size_t i)
{
    if (i < b->n)
        b->down_until[i] = 0;
}
