/*
 * acl.c: CONNECT allow/deny rules.
 *
 * The rules are only as good as the normalisation of what they are
 * compared with, so targets are canonicalised the way the resolver would
 * see them: every spelling libc accepts as an IPv4 address becomes that
 * address, IPv4-mapped IPv6 becomes IPv4, names lose case and one trailing
 * dot.  Name rules then never match addresses (the caller re-checks the
 * resolved addresses of a name), so an address can only be allowed by an
 * address rule or "*".
 */
#include "core/acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/errors.h"
#include "core/units.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* One part of an inet_aton() address: decimal, 0x hex or 0-prefixed
 * octal, as BSD and glibc read it ("0x" alone is 0 there too). */
static bool aton_part(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (len == 0)
        return false;
    if (s[0] == '0' && len > 1) {
        base = 8;
        i = 1;
        if (s[1] == 'x' || s[1] == 'X') {
            base = 16;
            i = 2;
        }
    }
    for (; i < len; i++) {
        unsigned d;
        unsigned char ch = (unsigned char)s[i];
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (base == 16 && isxdigit(ch))
            d = (unsigned)(tolower(ch) - 'a' + 10);
        else
            return false;
        if (d >= base)
            return false;
        v = v * base + d;
        if (v > 0xffffffffu)
            return false;
    }
    *out = v;
    return true;
}

/* Would inet_aton() accept s[0..len)?  If so, the address in network
 * order.  "a", "a.b", "a.b.c" and "a.b.c.d" forms; the last part fills
 * the remaining bytes. */
static bool parse_aton(const char *s, size_t len, uint8_t out[4])
{
    uint64_t parts[4];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (n == 4 || !aton_part(s + start, i - start, &parts[n]))
            return false;
        n++;
        start = i + 1;
    }
    uint64_t v;
    switch (n) {
    case 1:
        v = parts[0];
        break;
    case 2:
        if (parts[0] > 0xff || parts[1] > 0xffffff)
            return false;
        v = parts[0] << 24 | parts[1];
        break;
    case 3:
        if (parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xffff)
            return false;
        v = parts[0] << 24 | parts[1] << 16 | parts[2];
        break;
    default:
        for (int i = 0; i < 4; i++)
            if (parts[i] > 0xff)
                return false;
        v = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3];
        break;
    }
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return true;
}

/* Copies s[0..len) lowercased into a NUL-terminated string of at most
 * cap-1 bytes, dropping one trailing dot.  false if it does not fit or is
 * not a DNS name. */
static bool normalise_name(const char *s, size_t len, char *out, size_t cap)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len >= cap)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return h2g_is_hostname(out, len);
}

/* An IPv6 address in the IPv4-mapped range becomes IPv4 (4 bytes). */
static void unmap(int *family, uint8_t addr[16])
{
    if (*family == AF_INET6 && memcmp(addr, v4mapped_prefix, 12) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = AF_INET;
    }
}

/* How the parser's refusals read to whoever wrote the rule (config) or
 * the CONNECT target (client): the same but for two of them. */
#define ACL_WORDS(ctl_msg, port_chars_msg)                                                         \
    {                                                                                              \
        .empty = "empty", .ctl = ctl_msg, .no_close = "missing ']'",                               \
        .after_close = "expected ':' after ']'", .colons = "IPv6 addresses must be in brackets",   \
        .missing_port = "missing port", .empty_port = "missing port", .port_chars = port_chars_msg, \
        .port_range = "port must be a number 1..65535", .empty_host = "empty host",                \
    }
static const struct h2g_authority_words rule_words =
    ACL_WORDS("spaces or control characters in pattern", "port must be a number 1..65535 or '*'");
static const struct h2g_authority_words target_words =
    ACL_WORDS("spaces or control characters in the authority", "port must be a number 1..65535");
#undef ACL_WORDS

void h2g_acl_rule_clear(struct h2g_acl_rule *rule)
{
    if (rule == NULL)
        return;
    free(rule->name);
    rule->name = NULL;
    free(rule->text);
    rule->text = NULL;
}

void h2g_acl_clear(struct h2g_acl *acl)
{
    if (acl == NULL)
        return;
    for (size_t i = 0; i < acl->n_rules; i++)
        h2g_acl_rule_clear(&acl->rules[i]);
    free(acl->rules);
    acl->rules = NULL;
    acl->n_rules = 0;
}

/* Address or CIDR text (no brackets), into rule. */
static const char *parse_cidr(const char *s, size_t len, bool bracketed, struct h2g_acl_rule *rule)
{
    char tmp[64];
    const char *slash = memchr(s, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    if (alen == 0 || alen >= sizeof(tmp))
        return "bad address";
    memcpy(tmp, s, alen);
    tmp[alen] = '\0';
    int family = bracketed ? AF_INET6 : AF_INET;
    if (inet_pton(family, tmp, rule->addr) != 1)
        return bracketed ? "bad IPv6 address" : "bad IPv4 address (write it as a dotted quad)";
    unsigned bits = family == AF_INET ? 32 : 128;
    unsigned prefix = bits;
    if (slash != NULL) {
        size_t plen = len - alen - 1;
        if (plen == 0 || plen > 3)
            return "bad prefix length";
        prefix = 0;
        for (size_t i = 0; i < plen; i++) {
            if (slash[1 + i] < '0' || slash[1 + i] > '9')
                return "bad prefix length";
            prefix = prefix * 10 + (unsigned)(slash[1 + i] - '0');
        }
        if (prefix > bits)
            return "prefix length too long for the address family";
    }
    /* Bits set below the prefix are a typo ("10.0.0.1/8" meant what?). */
    for (unsigned b = prefix; b < bits; b++)
        if (rule->addr[b / 8] & (0x80 >> (b % 8)))
            return "address has bits set beyond the prefix length";
    /* Targets in the IPv4-mapped range are compared as IPv4, so a mapped
     * rule must be IPv4 too or it could never match. */
    if (family == AF_INET6 && prefix >= 96 && memcmp(rule->addr, v4mapped_prefix, 12) == 0) {
        unmap(&family, rule->addr);
        prefix -= 96;
    }
    rule->kind = H2G_ACL_CIDR;
    rule->family = family;
    rule->prefix = prefix;
    return NULL;
}

const char *h2g_acl_rule_parse(const char *pattern, struct h2g_acl_rule *rule)
{
    struct h2g_authority a;

    memset(rule, 0, sizeof(*rule));
    const char *err =
        h2g_parse_authority(pattern, strlen(pattern), H2G_AUTH_PORT_REQUIRED | H2G_AUTH_ANY_PORT, &rule_words, &a);
    if (err != NULL)
        return err;
    rule->any_port = a.any_port;
    rule->port = a.port;
    const char *host = a.host;
    size_t host_len = a.host_len;
    bool bracketed = a.bracketed;

    if (bracketed) {
        err = parse_cidr(host, host_len, true, rule);
    } else if (host_len == 1 && host[0] == '*') {
        rule->kind = H2G_ACL_ANY;
    } else if (memchr(host, '/', host_len) != NULL || strspn(host, "0123456789.") >= host_len) {
        err = parse_cidr(host, host_len, false, rule);
    } else {
        uint8_t a4[4];
        char name[256];
        bool suffix = host_len > 2 && host[0] == '*' && host[1] == '.';
        const char *n = suffix ? host + 2 : host;
        size_t nlen = suffix ? host_len - 2 : host_len;
        /* "0x7f.1" is an address to every resolver; as a name rule it
         * would silently never match. */
        if (parse_aton(n, nlen, a4))
            return "IPv4 addresses must be written as dotted quads";
        if (!normalise_name(n, nlen, name, sizeof(name)))
            return suffix ? "bad name after '*.'" : "bad host name";
        rule->kind = suffix ? H2G_ACL_SUFFIX : H2G_ACL_NAME;
        size_t l = strlen(name);
        rule->name = malloc(l + 2);
        if (rule->name == NULL)
            return h2g_msg_nomem;
        if (suffix) {
            rule->name[0] = '.';
            memcpy(rule->name + 1, name, l + 1);
        } else {
            memcpy(rule->name, name, l + 1);
        }
    }
    if (err == NULL) {
        rule->text = strdup(pattern);
        if (rule->text == NULL)
            err = h2g_msg_nomem;
    }
    if (err != NULL)
        h2g_acl_rule_clear(rule);
    return err;
}

const char *h2g_acl_target_parse(const char *authority, size_t len, struct h2g_acl_target *t)
{
    struct h2g_authority a;

    memset(t, 0, sizeof(*t));
    const char *err = h2g_parse_authority(authority, len, H2G_AUTH_PORT_REQUIRED, &target_words, &a);
    if (err != NULL)
        return err;
    t->port = a.port;
    const char *host = a.host;
    size_t host_len = a.host_len;
    bool bracketed = a.bracketed;

    if (bracketed) {
        char tmp[64];
        /* Zone ids ("%eth0") name an interface, not a host: refused. */
        if (host_len >= sizeof(tmp) || memchr(host, '%', host_len) != NULL)
            return "bad IPv6 address";
        memcpy(tmp, host, host_len);
        tmp[host_len] = '\0';
        if (inet_pton(AF_INET6, tmp, t->addr) != 1)
            return "bad IPv6 address";
        t->is_addr = true;
        t->family = AF_INET6;
        unmap(&t->family, t->addr);
        return NULL;
    }
    /* One trailing dot is dropped before the address test so that
     * "127.0.0.1." is the address, not a name beside it. */
    size_t core = host[host_len - 1] == '.' ? host_len - 1 : host_len;
    if (core > 0 && parse_aton(host, core, t->addr)) {
        t->is_addr = true;
        t->family = AF_INET;
        return NULL;
    }
    if (!normalise_name(host, host_len, t->name, sizeof(t->name)))
        return "bad host name";
    return NULL;
}

static bool rule_matches(const struct h2g_acl_rule *r, const struct h2g_acl_target *t)
{
    if (!r->any_port && r->port != t->port)
        return false;
    switch (r->kind) {
    case H2G_ACL_ANY:
        return true;
    case H2G_ACL_NAME:
        return !t->is_addr && strcmp(r->name, t->name) == 0;
    case H2G_ACL_SUFFIX: {
        if (t->is_addr)
            return false;
        size_t nl = strlen(t->name), sl = strlen(r->name);
        /* The suffix keeps its leading dot, so "example.com" itself never
         * matches "*.example.com", nor does "badexample.com". */
        return nl > sl && strcmp(t->name + nl - sl, r->name) == 0;
    }
    case H2G_ACL_CIDR: {
        if (!t->is_addr || t->family != r->family)
            return false;
        unsigned full = r->prefix / 8, rest = r->prefix % 8;
        if (memcmp(r->addr, t->addr, full) != 0)
            return false;
        if (rest == 0)
            return true;
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        return (r->addr[full] & mask) == (t->addr[full] & mask);
    }
    }
    return false;
}

static bool acl_matches(const struct h2g_acl *acl, const struct h2g_acl_target *t)
{
    if (acl == NULL)
        return false;
    for (size_t i = 0; i < acl->n_rules; i++)
        if (rule_matches(&acl->rules[i], t))
            return true;
    return false;
}

enum h2g_acl_verdict h2g_acl_check(const struct h2g_acl *allow, const struct h2g_acl *deny,
                                   const struct h2g_acl_target *t)
{
    if (acl_matches(deny, t))
        return H2G_ACL_DENY;
    return acl_matches(allow, t) ? H2G_ACL_ALLOW : H2G_ACL_DENY;
}
