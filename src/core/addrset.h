/*
 * addrset.h: the pure part of an upstream's resolved address set.
 *
 * upstream/upstream_dns.c keeps, per worker and host name, the A/AAAA
 * addresses of the last good lookup; what can be decided without a
 * socket or a clock lives here: how long an answer is kept (its TTL,
 * clamped), whether two answers are the same set, and adding an address
 * once.  Addresses are plain bytes (no sockaddr): family 4 or 6 and the
 * address in network order.
 */
#ifndef H2G_ADDRSET_H
#define H2G_ADDRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An answer is kept at least this long (a TTL of 0 would re-resolve on
 * every request) and at most this long (an address that moved is found
 * within 5 minutes even with a day-long TTL). */
#define H2G_ADDRSET_TTL_MIN_MS 1000
#define H2G_ADDRSET_TTL_MAX_MS 300000
/* A failed or empty lookup is tried again after this, the last good set
 * serving meanwhile. */
#define H2G_ADDRSET_RETRY_MS 2000
/* Addresses kept per name (A and AAAA together); the rest are ignored. */
#define H2G_ADDRSET_MAX 32

struct h2g_ipaddr {
    uint8_t family;     /* 4 or 6 */
    uint8_t bytes[16];  /* network order; 4 used for family 4 */
};

/* How long an answer whose smallest TTL is ttl_s seconds is kept, in
 * milliseconds: ttl_s * 1000 clamped to [H2G_ADDRSET_TTL_MIN_MS,
 * H2G_ADDRSET_TTL_MAX_MS].  A negative TTL counts as 0. */
uint64_t h2g_addrset_keep_ms(int64_t ttl_s);
/* Is a equal to b (byte for byte, same family)? */
bool h2g_ipaddr_equal(const struct h2g_ipaddr *a, const struct h2g_ipaddr *b);
/* Is x one of set[0..n)? */
bool h2g_addrset_contains(const struct h2g_ipaddr *set, size_t n, const struct h2g_ipaddr *x);
/* Do a[0..na) and b[0..nb) hold the same addresses, in any order?  Sets
 * hold no duplicates (h2g_addrset_add). */
bool h2g_addrset_same(const struct h2g_ipaddr *a, size_t na, const struct h2g_ipaddr *b, size_t nb);
/* Appends x to set[0..*n) unless it is there already or *n == cap.
 * true if the set now holds x. */
bool h2g_addrset_add(struct h2g_ipaddr *set, size_t *n, size_t cap, const struct h2g_ipaddr *x);

/* Adds to set[0..*n) (cap at most) the addresses of old[0..n_old) of
 * the families whose lookup failed (keep4: family 4, keep6: family 6):
 * a family that did not answer keeps its last addresses. */
void h2g_addrset_keep_families(struct h2g_ipaddr *set, size_t *n, size_t cap, const struct h2g_ipaddr *old,
                               size_t n_old, bool keep4, bool keep6);

#endif
