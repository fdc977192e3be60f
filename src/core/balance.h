/*
 * balance.h: round-robin over a route's upstreams with passive health.
 *
 * One struct per worker per route (never shared between threads).  An
 * upstream that failed (connect refused/timed out, reset before a
 * response) is skipped until now + retry_after.  When every upstream is
 * down the one that comes back soonest is tried anyway, so a route never
 * fails without trying.  "now" is passed in (milliseconds, any epoch).
 */
#ifndef H2G_BALANCE_H
#define H2G_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#define H2G_BALANCE_RETRY_AFTER_MS 10000

struct h2g_balance {
    size_t n;
    size_t next;
    uint64_t *down_until; /* per upstream; 0 = healthy */
};

/* n upstreams, all healthy.  0 or H2G_ERR_NOMEM. */
int h2g_balance_init(struct h2g_balance *b, size_t n);
/* n upstreams whose penalties live in down_until[0..n), storage the
 * caller owns (zeroed, or carried over from an earlier set): no
 * allocation, and such a struct is never cleared.  Used for the addresses
 * of an upstream host name (upstream/upstream_dns.c). */
void h2g_balance_use(struct h2g_balance *b, uint64_t *down_until, size_t n);
/* Frees the storage; the struct may be initialised again. */
void h2g_balance_clear(struct h2g_balance *b);
/* The index to use next: the first healthy upstream at or after the
 * round-robin cursor; when all are down, the one whose penalty ends
 * first.  Returns 0 when n == 0 (callers never ask then). */
size_t h2g_balance_pick(struct h2g_balance *b, uint64_t now_ms);
/* Upstream i failed: skipped until now + retry_after_ms (0 = the default
 * H2G_BALANCE_RETRY_AFTER_MS).  An out-of-range i is ignored. */
void h2g_balance_fail(struct h2g_balance *b, size_t i, uint64_t now_ms, uint64_t retry_after_ms);
/* Upstream i answered: healthy again at once. */
void h2g_balance_ok(struct h2g_balance *b, size_t i);

#endif
