/*
 * upstream_dns.h: the addresses of an upstream host name, per worker.
 *
 * Created on first use by upstream_dns_get() (upstream_pool.c, when the
 * pool of an upstream named by a host name is made), owned by the worker
 * through svc->dns_names and freed with it (upstream_dns_free_all, before
 * the worker's evdns base, which then drops any lookup still in flight
 * without calling back).
 *
 * A name is resolved with evdns (A and AAAA, never blocking) when first
 * asked for and again whenever its set expired: the smallest TTL of the
 * answer, clamped to [1 s, 300 s] (core/addrset.h).  The set in use keeps
 * serving while the new lookup runs; a failed or empty lookup keeps the
 * last good set (logged once, until a lookup succeeds again) and is
 * retried H2G_ADDRSET_RETRY_MS later; when only one family's lookup
 * fails (A answered, AAAA timed out), that family keeps its last
 * addresses and the set is looked up again after the 1 s floor.  Until the first good answer the
 * set is empty and the pool connects by name (bufferevent's own lookup
 * per connection, /etc/hosts included), as before names had sets.
 */
#ifndef H2G_UPSTREAM_DNS_H
#define H2G_UPSTREAM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addrset.h"
#include "core/balance.h"

struct evdns_request;
struct h2g_services;

struct h2g_upstream_dns {
    struct h2g_upstream_dns *next;   /* svc->dns_names */
    struct h2g_services *svc;        /* borrowed */
    char host[256];
    struct h2g_ipaddr addrs[H2G_ADDRSET_MAX];  /* the last good set */
    size_t n_addrs;
    /* Round robin with passive health over addrs (core/balance.h): an
     * address whose connection failed is skipped for
     * H2G_BALANCE_RETRY_AFTER_MS; penalties follow their address into
     * the next set. */
    struct h2g_balance health;
    uint64_t down_until[H2G_ADDRSET_MAX];
    uint64_t expires_ms;             /* h2g_mono_ms() when a new lookup is due; 0: never looked up */
    uint64_t resolved_ms;            /* when addrs was last confirmed; 0: never */
    bool failing;                    /* the last lookup failed (logged once) */
    /* The lookup in flight: answers gathered until both came back. */
    unsigned in_flight;              /* A and AAAA requests not answered yet */
    struct h2g_ipaddr got[H2G_ADDRSET_MAX];
    size_t n_got;
    int64_t min_ttl;                 /* seconds; -1: no answer yet */
    int last_err;                    /* evdns DNS_ERR_* of the last failed answer */
    bool failed4, failed6;           /* that family's lookup failed: its last addresses stay */
};

/* The worker's entry for host, created on first use; NULL on OOM. */
struct h2g_upstream_dns *upstream_dns_get(struct h2g_services *svc, const char *host);
/* The next address of the set, round robin (skipping addresses that
 * failed lately), into *out: true; false when the set is still empty (the
 * caller connects by name).  Starts a lookup when the set expired and
 * none is in flight. */
bool upstream_dns_pick(struct h2g_upstream_dns *d, struct h2g_ipaddr *out);
/* A connection to ip failed before a response (ok = false: skipped for
 * a while) or ip answered (ok = true).  An address no longer in the set
 * is ignored. */
void upstream_dns_health(struct h2g_upstream_dns *d, const struct h2g_ipaddr *ip, bool ok);
/* Frees the list (lookups in flight are dropped by evdns_base_free(..., 0),
 * which must follow before the loop runs again). */
void upstream_dns_free_all(struct h2g_upstream_dns *d);

#endif
