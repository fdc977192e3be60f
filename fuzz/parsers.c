/*
 * parsers.c: the small parsers of the core, one picked by byte 0:
 *   0 ACL pattern (h2g_acl_rule_parse)       1 CONNECT target (h2g_acl_target_parse + check)
 *   2 host:port (h2g_parse_hostport)          3 size (h2g_parse_size)
 *   4 duration (h2g_parse_duration)           5 http:// URL   6 tcp:// URL
 *   7 DNS name (h2g_is_hostname)              8 origin (h2g_config_check_origin)
 *   9 Alt-Svc value (h2g_config_check_altsvc) 10 host pattern (h2g_config_check_host_pattern)
 *  11 authority host (h2g_authority_host)     12 host match: pattern LF host
 *  13 Connection values LF ... LF name (h2g_hdr_connection_lists vs h2g_conn_tokens)
 * The rest of the input is the text: NUL-terminated in a heap block of
 * exactly its size for the parsers that take a C string, without the NUL
 * for those that take a length.
 *
 * Checked: no crash or leak; what a parser accepts, printed back in its
 * canonical form, parses to the same value (sizes, durations, addresses,
 * URLs, ACL patterns); a value the config checkers accept is accepted
 * again as it was stored; the Connection token cache agrees with the
 * plain parse.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "core/acl.h"
#include "core/config_load.h"
#include "fuzz.h"
#include "core/hdr.h"
#include "core/route.h"
#include "core/units.h"

static void same_hostport(const struct h2g_hostport *a, const struct h2g_hostport *b)
{
    FUZZ_CHECK(strcmp(a->host, b->host) == 0 && a->port == b->port && a->wildcard == b->wildcard &&
               a->is_ipv6 == b->is_ipv6);
}

/* host:port in the form the parsers take. */
static void format_hostport(char *out, size_t cap, const struct h2g_hostport *a, const char *scheme)
{
    snprintf(out, cap, a->wildcard ? "%s*%s:%u" : a->is_ipv6 ? "%s[%s]:%u" : "%s%s:%u", scheme,
             a->wildcard ? "" : a->host, a->port);
}

static void check_hostport(const struct h2g_hostport *a)
{
    FUZZ_CHECK(memchr(a->host, '\0', sizeof(a->host)) != NULL);
    FUZZ_CHECK(a->port != 0);
    FUZZ_CHECK(a->wildcard == (a->host[0] == '\0'));
    if (a->is_ipv6) {
        struct in6_addr a6;
        FUZZ_CHECK(inet_pton(AF_INET6, a->host, &a6) == 1);
    }
}

static void acl_rule(const char *s)
{
    struct h2g_acl_rule r, again;
    memset(&r, 0, sizeof(r));
    memset(&again, 0, sizeof(again));
    if (h2g_acl_rule_parse(s, &r) != NULL) {
        h2g_acl_rule_clear(&r);
        return;
    }
    FUZZ_CHECK(r.text != NULL && strcmp(r.text, s) == 0);
    FUZZ_CHECK(r.any_port || r.port != 0);
    switch (r.kind) {
    case H2G_ACL_ANY: break;
    case H2G_ACL_NAME:
    case H2G_ACL_SUFFIX:
        FUZZ_CHECK(r.name != NULL && r.name[0] != '\0');
        for (const char *p = r.name; *p != '\0'; p++)
            FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
        if (r.kind == H2G_ACL_SUFFIX)
            FUZZ_CHECK(r.name[0] == '.');
        break;
    case H2G_ACL_CIDR:
        FUZZ_CHECK((r.family == AF_INET && r.prefix <= 32) || (r.family == AF_INET6 && r.prefix <= 128));
        break;
    default: FUZZ_CHECK(!"unknown kind");
    }
    /* Parsing the stored text again gives the same rule. */
    FUZZ_CHECK(h2g_acl_rule_parse(r.text, &again) == NULL);
    FUZZ_CHECK(again.kind == r.kind && again.any_port == r.any_port && again.port == r.port);
    if (r.kind == H2G_ACL_CIDR)
        FUZZ_CHECK(again.family == r.family && again.prefix == r.prefix && memcmp(again.addr, r.addr, 16) == 0);
    if (r.name != NULL)
        FUZZ_CHECK(again.name != NULL && strcmp(again.name, r.name) == 0);
    h2g_acl_rule_clear(&again);
    h2g_acl_rule_clear(&r);
}

static void acl_target(const char *s, size_t len)
{
    struct h2g_acl_target t;
    memset(&t, 0, sizeof(t));
    if (h2g_acl_target_parse(s, len, &t) != NULL)
        return;
    FUZZ_CHECK(t.port != 0);
    if (t.is_addr) {
        FUZZ_CHECK(t.family == AF_INET || t.family == AF_INET6);
    } else {
        FUZZ_CHECK(memchr(t.name, '\0', sizeof(t.name)) != NULL && t.name[0] != '\0');
        for (const char *p = t.name; *p != '\0'; p++)
            FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
    }
    /* "*:*" matches every target; deny is checked before allow. */
    static struct h2g_acl_rule any;
    static bool parsed;
    if (!parsed) {
        FUZZ_CHECK(h2g_acl_rule_parse("*:*", &any) == NULL);
        parsed = true; /* kept for the process: one rule, never freed */
    }
    struct h2g_acl all = {&any, 1}, none = {NULL, 0};
    FUZZ_CHECK(h2g_acl_check(&all, &none, &t) == H2G_ACL_ALLOW);
    FUZZ_CHECK(h2g_acl_check(&all, &all, &t) == H2G_ACL_DENY);
    FUZZ_CHECK(h2g_acl_check(&none, &none, &t) == H2G_ACL_DENY);
}

static void conn_tokens(char *s, size_t len)
{
    /* Values separated by LF, the last piece is the name (lowercased). */
    struct h2g_field f[24];
    size_t n = 0, start = 0;
    char *name = s;
    size_t name_len = len;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n')
            continue;
        if (i == len || n == sizeof(f) / sizeof(f[0])) {
            name = s + start;
            name_len = len - start;
            break;
        }
        f[n].name = n % 2 ? "Connection" : "connection";
        f[n].name_len = 10;
        f[n].value = s + start;
        f[n].value_len = i - start;
        n++;
        start = i + 1;
    }
    for (size_t i = 0; i < name_len; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] - 'A' + 'a');
    bool want = false;
    for (size_t i = 0; i < n; i++)
        want |= h2g_hdr_connection_lists(f[i].value, f[i].value_len, name, name_len);
    struct h2g_conn_tokens ct;
    h2g_conn_tokens_init(&ct, f, n);
    FUZZ_CHECK(ct.n <= H2G_CONN_TOKENS_MAX);
    FUZZ_CHECK(h2g_conn_tokens_has(&ct, f, n, name, name_len) == want);
}

int fuzz_parsers(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 14;
    size_t len = size - 1;
    char *s = fuzz_dup(data + 1, len, 1); /* C string (stops at a NUL inside) */
    char *raw = fuzz_dup(data + 1, len, 0); /* exactly len bytes */
    char buf[600];
    uint64_t v = 0, v2 = 0;
    struct h2g_hostport hp, hp2;
    memset(&hp, 0, sizeof(hp));
    memset(&hp2, 0, sizeof(hp2));

    switch (which) {
    case 0: acl_rule(s); break;
    case 1: acl_target(raw, len); break;
    case 2:
        if (h2g_parse_hostport(s, &hp) == NULL) {
            check_hostport(&hp);
            format_hostport(buf, sizeof(buf), &hp, "");
            FUZZ_CHECK(h2g_parse_hostport(buf, &hp2) == NULL);
            same_hostport(&hp, &hp2);
        }
        break;
    case 3:
        if (h2g_parse_size(s, &v) == NULL) {
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
            FUZZ_CHECK(h2g_parse_size(buf, &v2) == NULL && v2 == v);
        }
        break;
    case 4:
        if (h2g_parse_duration(s, &v) == NULL) {
            snprintf(buf, sizeof(buf), "%llums", (unsigned long long)v);
            FUZZ_CHECK(h2g_parse_duration(buf, &v2) == NULL && v2 == v);
        }
        break;
    case 5:
    case 6:
        if ((which == 5 ? h2g_parse_http_url : h2g_parse_tcp_url)(s, &hp) == NULL) {
            check_hostport(&hp);
            FUZZ_CHECK(!hp.wildcard);
            format_hostport(buf, sizeof(buf), &hp, which == 5 ? "http://" : "tcp://");
            FUZZ_CHECK((which == 5 ? h2g_parse_http_url : h2g_parse_tcp_url)(buf, &hp2) == NULL);
            same_hostport(&hp, &hp2);
        }
        break;
    case 7:
        if (h2g_is_hostname(raw, len)) {
            FUZZ_CHECK(len > 0 && len <= 253 && raw[0] != '.' && raw[len - 1] != '.');
            for (size_t i = 0; i + 1 < len; i++)
                FUZZ_CHECK(!(raw[i] == '.' && raw[i + 1] == '.'));
        }
        break;
    case 8:
        if (h2g_config_check_origin(s) == NULL) {
            FUZZ_CHECK(strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
            FUZZ_CHECK(h2g_config_check_origin(s) == NULL);
        }
        break;
    case 9:
        if (h2g_config_check_altsvc(s) == NULL)
            FUZZ_CHECK(strcmp(s, "clear") == 0 || strchr(s, '=') != NULL);
        break;
    case 10:
        if (h2g_config_check_host_pattern(s) == NULL && strchr(s, ':') == NULL) {
            char *again = fuzz_dup(s, strlen(s), 1);
            FUZZ_CHECK(h2g_config_check_host_pattern(again) == NULL && strcmp(again, s) == 0);
            /* A stored pattern matches the hosts it names. */
            if (strcmp(s, "*") == 0) {
                FUZZ_CHECK(h2g_host_match(s, "x", 1));
            } else if (s[0] == '*' && s[1] == '.') {
                size_t sl = strlen(s);
                char *h = fuzz_dup(s, sl, 1);
                h[0] = 'a'; /* "*.example.com" -> "a.example.com" */
                FUZZ_CHECK(h2g_host_match(s, h, sl));
                free(h);
            } else {
                FUZZ_CHECK(h2g_host_match(s, again, strlen(again)));
            }
            free(again);
        }
        break;
    case 11: {
        const char *host = NULL;
        size_t hl = 0;
        if (h2g_authority_host(raw, len, &host, &hl))
            FUZZ_CHECK(host >= raw && hl <= len && (size_t)(host - raw) <= len - hl);
        break;
    }
    case 12: {
        char *lf = memchr(raw, '\n', len);
        if (lf != NULL) {
            *lf = '\0';
            (void)h2g_host_match(raw, lf + 1, len - (size_t)(lf + 1 - raw));
        } else {
            (void)h2g_host_match("*.example.com", raw, len);
        }
        break;
    }
    case 13: conn_tokens(raw, len); break;
    }
    free(raw);
    free(s);
    return 0;
}

H2G_FUZZ_TARGET(fuzz_parsers)
