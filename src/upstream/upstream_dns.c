#include "upstream/upstream_dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"
#include "runtime/services.h"
#include "upstream/upstream_pool.h"

struct h2g_upstream_dns *upstream_dns_get(struct h2g_services *svc, const char *host)
{
    for (struct h2g_upstream_dns *d = svc->dns_names; d != NULL; d = d->next)
        if (strcmp(d->host, host) == 0)
            return d;
    struct h2g_upstream_dns *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->svc = svc;
    snprintf(d->host, sizeof(d->host), "%s", host);
    d->min_ttl = -1;
    d->next = svc->dns_names;
    svc->dns_names = d;
    return d;
}

static void addrs_text(const struct h2g_ipaddr *a, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + INET6_ADDRSTRLEN + 2 < cap; i++) {
        if (i > 0)
            out[len++] = ' ';
        inet_ntop(a[i].family == 4 ? AF_INET : AF_INET6, a[i].bytes, out + len, (socklen_t)(cap - len));
        len += strlen(out + len);
    }
}

/* d->got becomes the set; each address keeps its penalty. */
static void new_set(struct h2g_upstream_dns *d)
{
    uint64_t down[H2G_ADDRSET_MAX];
    for (size_t i = 0; i < d->n_got; i++) {
        down[i] = 0;
        for (size_t j = 0; j < d->n_addrs; j++)
            if (h2g_ipaddr_equal(&d->got[i], &d->addrs[j]))
                down[i] = d->down_until[j];
    }
    memcpy(d->addrs, d->got, d->n_got * sizeof(d->got[0]));
    memcpy(d->down_until, down, d->n_got * sizeof(down[0]));
    d->n_addrs = d->n_got;
    size_t next = d->health.next;
    h2g_balance_use(&d->health, d->down_until, d->n_addrs);
    d->health.next = next % d->n_addrs; /* the rotation goes on */
}

/* Both answers are in: a new set, the same set confirmed, or a failure
 * that keeps the old one. */
static void lookup_done(struct h2g_upstream_dns *d)
{
    uint64_t now = h2g_mono_ms();
    char text[512];
    if (d->n_got > 0 && (d->failed4 || d->failed6)) {
        /* One family answered, the other failed: keep the failed one's
         * last addresses, and look up again soon. */
        h2g_addrset_keep_families(d->got, &d->n_got, H2G_ADDRSET_MAX, d->addrs, d->n_addrs, d->failed4,
                                  d->failed6);
        d->min_ttl = 0;
    }
    if (d->n_got == 0) {
        d->expires_ms = now + H2G_ADDRSET_RETRY_MS;
        if (!d->failing) {
            d->failing = true;
            addrs_text(d->addrs, d->n_addrs, text, sizeof(text));
            LOG_WARN("upstream %s: lookup failed (%s); %s%s, retrying every %d ms until it answers", d->host,
                     d->last_err != 0 ? evdns_err_to_string(d->last_err) : "no A or AAAA record",
                     d->n_addrs > 0 ? "keeping the last addresses: " : "connecting by name meanwhile",
                     text, H2G_ADDRSET_RETRY_MS);
        }
        return;
    }
    bool changed = !h2g_addrset_same(d->addrs, d->n_addrs, d->got, d->n_got);
    if (changed)
        new_set(d);
    d->expires_ms = now + h2g_addrset_keep_ms(d->min_ttl);
    d->resolved_ms = now;
    if (changed || d->failing) {
        addrs_text(d->addrs, d->n_addrs, text, sizeof(text));
        LOG_INFO("upstream %s: %zu address%s (kept %llu ms): %s", d->host, d->n_addrs, d->n_addrs == 1 ? "" : "es",
                 (unsigned long long)(d->expires_ms - now), text);
    }
    d->failing = false;
    if (changed)
        upstream_pool_addresses_changed(d->svc, d);
}

/* The answer of one family (evdns passes no type with an error).  "No
 * such name" and "no record of this type" are answers; any other error
 * keeps that family's last addresses (lookup_done). */
static void answer(struct h2g_upstream_dns *d, int family, int result, char type, int count, int ttl,
                   void *addresses)
{
    if (result == DNS_ERR_NONE && (type == DNS_IPv4_A || type == DNS_IPv6_AAAA)) {
        for (int i = 0; i < count; i++) {
            struct h2g_ipaddr a = {.family = type == DNS_IPv4_A ? 4 : 6};
            if (type == DNS_IPv4_A)
                memcpy(a.bytes, (const struct in_addr *)addresses + i, 4);
            else
                memcpy(a.bytes, (const struct in6_addr *)addresses + i, 16);
            h2g_addrset_add(d->got, &d->n_got, H2G_ADDRSET_MAX, &a);
        }
        if (count > 0 && (d->min_ttl < 0 || ttl < d->min_ttl))
            d->min_ttl = ttl;
    } else if (result != DNS_ERR_NONE && result != DNS_ERR_NOTEXIST && result != DNS_ERR_NODATA) {
        d->last_err = result;
        if (family == 4)
            d->failed4 = true;
        else
            d->failed6 = true;
    }
    if (--d->in_flight == 0)
        lookup_done(d);
}

static void answer4_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    answer(arg, 4, result, type, count, ttl, addresses);
}

static void answer6_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
    answer(arg, 6, result, type, count, ttl, addresses);
}

static void lookup_start(struct h2g_upstream_dns *d)
{
    d->n_got = 0;
    d->min_ttl = -1;
    d->last_err = 0;
    d->failed4 = d->failed6 = false;
    d->in_flight = 2;
    /* The answers are deferred callbacks: in_flight is settled before
     * either can run. */
    if (evdns_base_resolve_ipv4(d->svc->dns, d->host, 0, answer4_cb, d) == NULL) {
        d->in_flight--;
        d->failed4 = true;
    }
    if (evdns_base_resolve_ipv6(d->svc->dns, d->host, 0, answer6_cb, d) == NULL) {
        d->in_flight--;
        d->failed6 = true;
    }
    if (d->in_flight == 0) {
        d->last_err = DNS_ERR_UNKNOWN;
        lookup_done(d); /* out of memory, most likely: retried later */
    }
}

bool upstream_dns_pick(struct h2g_upstream_dns *d, struct h2g_ipaddr *out)
{
    if (d->in_flight == 0 && h2g_mono_ms() >= d->expires_ms)
        lookup_start(d);
    if (d->n_addrs == 0)
        return false;
    *out = d->addrs[h2g_balance_pick(&d->health, h2g_mono_ms())];
    return true;
}

void upstream_dns_health(struct h2g_upstream_dns *d, const struct h2g_ipaddr *ip, bool ok)
{
    for (size_t i = 0; i < d->n_addrs; i++) {
        if (!h2g_ipaddr_equal(&d->addrs[i], ip))
            continue;
        if (ok)
            h2g_balance_ok(&d->health, i);
        else
            h2g_balance_fail(&d->health, i, h2g_mono_ms(), H2G_BALANCE_RETRY_AFTER_MS);
        return;
    }
}

void upstream_dns_free_all(struct h2g_upstream_dns *d)
{
    while (d != NULL) {
        struct h2g_upstream_dns *next = d->next;
        free(d);
        d = next;
    }
}
