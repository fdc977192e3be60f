/*
 * units.c: the contract's scalar types (sizes, durations, addresses, URLs).
 *
 * Everything here is strict on purpose: a config value that is almost
 * right is a typo, and a typo in a proxy config is better refused at load
 * than guessed at.
 */
#include "core/units.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

/* Parses the leading decimal digits of s[0..len).  Sets *end past them.
 * Returns NULL or an error; "no digits" and overflow are errors. */
static const char *parse_decimal(const char *s, size_t len, size_t *end, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return "number too large";
        v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return "not a number";
    *end = i;
    *out = v;
    return NULL;
}

struct unit {
    const char *suffix;
    uint64_t mult;
};

/* Messages of one kind of quantity, so sizes and durations share the
 * parser and still say what was wrong in their own words. */
struct quantity {
    const struct unit *units;
    size_t n_units;
    const char *empty, *negative, *too_large, *unknown_unit;
};

/* A decimal number followed by one of q's unit suffixes. */
static const char *parse_quantity(const char *s, const struct quantity *q, uint64_t *out)
{
    size_t len = strlen(s), end;
    uint64_t v;
    if (len == 0)
        return q->empty;
    if (s[0] == '-')
        return q->negative;
    const char *err = parse_decimal(s, len, &end, &v);
    if (err != NULL)
        return err;
    for (size_t i = 0; i < q->n_units; i++) {
        if (strcmp(s + end, q->units[i].suffix) != 0)
            continue;
        if (v > UINT64_MAX / q->units[i].mult)
            return q->too_large;
        *out = v * q->units[i].mult;
        return NULL;
    }
    return q->unknown_unit;
}

const char *h2g_parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        {"", 1},
        {"KiB", 1024},
        {"MiB", 1024 * 1024},
        {"GiB", 1024 * 1024 * 1024},
    };
    static const struct quantity q = {units, sizeof(units) / sizeof(units[0]), "empty size", "negative size",
                                      "size too large",
                                      "unknown size unit (use a plain byte count or KiB, MiB, GiB)"};
    return parse_quantity(s, &q, out);
}

const char *h2g_parse_duration(const char *s, uint64_t *out_ms)
{
    static const struct unit units[] = {
        {"", 1000}, /* a bare integer is seconds (contract) */
        {"ms", 1},
        {"s", 1000},
        {"m", 60 * 1000},
        {"h", 60 * 60 * 1000},
    };
    static const struct quantity q = {units, sizeof(units) / sizeof(units[0]), "empty duration",
                                      "negative duration", "duration too large",
                                      "unknown duration unit (use ms, s, m or h)"};
    return parse_quantity(s, &q, out_ms);
}

bool h2g_is_hostname(const char *s, size_t len)
{
    /* RFC 1123 labels; '_' is tolerated because it is common in internal
     * names and harmless to a resolver. */
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    bool last_numeric = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            last_numeric = true;
            continue;
        }
        if (!isalnum(ch) && ch != '-' && ch != '_')
            return false;
        if (!isdigit(ch))
            last_numeric = false;
        if (++label > 63)
            return false;
    }
    if (label == 0)
        return false;
    /* A name whose last label is all digits is a mistyped IPv4 address,
     * not a name (no top-level domain is numeric). */
    return !last_numeric;
}

/* Validates the host part s[0..len) (brackets already removed when
 * `bracketed`) and copies it, lowercased, into out. */
static const char *parse_host(const char *s, size_t len, bool bracketed, struct h2g_hostport *out)
{
    char tmp[256];
    if (len == 0)
        return "empty host";
    if (len >= sizeof(tmp))
        return "host name too long";
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (memchr(s, '\0', len) != NULL)
        return "bad host";
    if (bracketed) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return "bad IPv6 address";
        out->is_ipv6 = true;
    } else if (memchr(tmp, ':', len) != NULL) {
        return "IPv6 addresses must be in brackets, like [::1]:443";
    } else {
        struct in_addr a4;
        if (inet_pton(AF_INET, tmp, &a4) != 1 && !h2g_is_hostname(tmp, len)) {
            /* Tell a bad address from a bad name: a numeric last label
             * means the writer meant an address. */
            const char *dot = strrchr(tmp, '.');
            const char *last = dot != NULL ? dot + 1 : tmp;
            return (*last != '\0' && strspn(last, "0123456789") == strlen(last)) ? "bad IPv4 address"
                                                                               : "bad host name";
        }
    }
    for (size_t i = 0; i <= len; i++)
        out->host[i] = (char)tolower((unsigned char)tmp[i]);
    return NULL;
}

/* The port after the ':' of an authority (see h2g_parse_authority). */
static const char *parse_port(const char *s, size_t len, unsigned flags, const struct h2g_authority_words *w,
                              struct h2g_authority *out)
{
    unsigned v = 0;
    out->has_port = true;
    if (len == 0)
        return w->empty_port;
    if ((flags & H2G_AUTH_ANY_PORT) && len == 1 && s[0] == '*') {
        out->any_port = true;
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return w->port_chars;
    if (len > 5 || ((flags & H2G_AUTH_NO_LEADING_ZERO) && s[0] == '0'))
        return w->port_range;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (v > 65535 || (v == 0 && !(flags & H2G_AUTH_PORT_ZERO)))
        return w->port_range;
    out->port = (uint16_t)v;
    return NULL;
}

const char *h2g_parse_authority(const char *s, size_t len, unsigned flags, const struct h2g_authority_words *w,
                                struct h2g_authority *out)
{
    const char *port = NULL;
    size_t port_len = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return w->empty;
    if (w->ctl != NULL)
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
                return w->ctl;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return w->no_close;
        out->host = s + 1;
        out->host_len = (size_t)(close - out->host);
        out->bracketed = true;
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest > 0) {
            if (close[1] != ':')
                return w->after_close;
            port = close + 2;
            port_len = rest - 1;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon != NULL && w->colons != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) != NULL)
            return w->colons;
        out->host = s;
        out->host_len = colon != NULL ? (size_t)(colon - s) : len;
        if (colon != NULL) {
            port = colon + 1;
            port_len = len - out->host_len - 1;
        }
    }
    if (port == NULL) {
        if (flags & H2G_AUTH_PORT_REQUIRED)
            return w->missing_port;
    } else {
        const char *err = parse_port(port, port_len, flags, w, out);
        if (err != NULL)
            return err;
    }
    if (out->host_len == 0 && w->empty_host != NULL)
        return w->empty_host;
    return NULL;
}

/* host[:port] in s[0..len); a missing port is an error unless default_port
 * is non-zero.  `*` as host only when allow_wildcard. */
static const char *parse_address(const char *s, size_t len, uint16_t default_port, bool allow_wildcard,
                                 struct h2g_hostport *out)
{
    static const struct h2g_authority_words words = {
        .empty = "empty address",
        .ctl = "spaces or control characters",
        .no_close = "missing ']' after IPv6 address",
        .after_close = "junk after ']'",
        .colons = "IPv6 addresses must be in brackets, like [::1]:443",
        .missing_port = "missing port",
        .empty_port = "missing port",
        .port_chars = "port must be a number 1..65535",
        .port_range = "port must be a number 1..65535",
        .empty_host = "empty host",
    };
    struct h2g_authority a;

    memset(out, 0, sizeof(*out));
    const char *err = h2g_parse_authority(s, len, default_port == 0 ? H2G_AUTH_PORT_REQUIRED : 0, &words, &a);
    if (err != NULL)
        return err;
    out->port = a.has_port ? a.port : default_port;
    if (!a.bracketed && a.host_len == 1 && a.host[0] == '*') {
        if (!allow_wildcard)
            return "'*' is not a host here";
        out->wildcard = true;
        return NULL;
    }
    return parse_host(a.host, a.host_len, a.bracketed, out);
}

const char *h2g_parse_hostport(const char *s, struct h2g_hostport *out)
{
    return parse_address(s, strlen(s), 0, true, out);
}

/* Shared by the two URL forms: checks the scheme and returns the authority
 * span, with one optional trailing "/" removed. */
static const char *url_authority(const char *s, const char *scheme, const char **auth, size_t *len)
{
    size_t sl = strlen(scheme);
    if (strncasecmp(s, scheme, sl) != 0 || strncmp(s + sl, "://", 3) != 0) {
        if (strcmp(scheme, "http") == 0 && strncasecmp(s, "https://", 8) == 0)
            return "https:// is not accepted here: use http://";
        return strcmp(scheme, "http") == 0 ? "expected a URL starting with http://"
                                           : "expected a URL starting with tcp://";
    }
    const char *a = s + sl + 3;
    size_t n = strcspn(a, "/?#");
    const char *rest = a + n;
    if (memchr(a, '@', n) != NULL)
        return "user information (user@) is not allowed in the URL";
    if (*rest == '?' || *rest == '#')
        return "a query or fragment is not allowed in the URL";
    if (*rest == '/' && rest[1] != '\0')
        return "a path other than \"/\" is not allowed in the URL";
    *auth = a;
    *len = n;
    return NULL;
}

const char *h2g_parse_http_url(const char *s, struct h2g_hostport *out)
{
    const char *auth;
    size_t len;
    const char *err = url_authority(s, "http", &auth, &len);
    if (err != NULL)
        return err;
    /* "http://host:" (empty port) is refused by parse_port. */
    return parse_address(auth, len, 80, false, out);
}

const char *h2g_parse_upstream_url(const char *s, struct h2g_hostport *out, enum h2g_upstream_proto *proto,
                                   bool *tls)
{
    static const struct {
        const char *scheme;
        enum h2g_upstream_proto proto;
        bool tls;
    } schemes[] = {
        {"h2c", H2G_UPSTREAM_H2C, false},
        {"https", H2G_UPSTREAM_HTTP1, true},
        {"h2", H2G_UPSTREAM_H2C, true},
    };
    *proto = H2G_UPSTREAM_HTTP1;
    *tls = false;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t sl = strlen(schemes[i].scheme);
        if (strncasecmp(s, schemes[i].scheme, sl) != 0 || strncmp(s + sl, "://", 3) != 0)
            continue;
        *proto = schemes[i].proto;
        *tls = schemes[i].tls;
        const char *auth;
        size_t len;
        const char *err = url_authority(s, schemes[i].scheme, &auth, &len);
        return err != NULL ? err : parse_address(auth, len, *tls ? 443 : 80, false, out);
    }
    return h2g_parse_http_url(s, out);
}

const char *h2g_parse_tcp_url(const char *s, struct h2g_hostport *out)
{
    const char *auth;
    size_t len;
    const char *err = url_authority(s, "tcp", &auth, &len);
    if (err != NULL)
        return err;
    return parse_address(auth, len, 0, false, out);
}
