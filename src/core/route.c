/*
 * route.c: authority -> origin -> route lookups over a config snapshot.
 *
 * Everything here is read-only and allocation-free: it runs for every
 * request on every worker.
 */
#include "core/route.h"

#include <string.h>
#include <strings.h>

#include "core/units.h"

bool h2g_host_match(const char *pattern, const char *host, size_t host_len)
{
    if (pattern == NULL || host == NULL)
        return false;
    /* "example.com." and "example.com" name the same host (absolute vs
     * relative form); ignore one trailing dot on both sides. */
    if (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    if (host_len == 0)
        return false;
    size_t plen = strlen(pattern);
    if (plen > 0 && pattern[plen - 1] == '.')
        plen--;
    if (plen == 1 && pattern[0] == '*')
        return true;
    if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.example.com": the host must end in ".example.com" with at
         * least one byte before the dot (strictly below the suffix). */
        size_t slen = plen - 1; /* ".example.com" */
        if (host_len <= slen)
            return false;
        return strncasecmp(host + host_len - slen, pattern + 1, slen) == 0;
    }
    return plen == host_len && strncasecmp(pattern, host, plen) == 0;
}

/* RFC 3986 reg-name / IPv4 bytes: unreserved, sub-delims, pct-encoded. */
static bool reg_name_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("-._~!$&'()*+,;=%", c) != NULL;
}

static bool ipv6_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

bool h2g_authority_host(const char *authority, size_t len, const char **host, size_t *host_len)
{
    /* Which mistake it was does not matter here: every word is a refusal.
     * Control bytes and a second ':' are refused by the character rules
     * below and by the port.  Port 0 is accepted: RFC 3986 allows it, and
     * routing ignores the port.  An empty port is legal in RFC 3986 but
     * no client sends it; refusing it keeps the accepted forms small. */
    static const struct h2g_authority_words refused = {
        .empty = "", .no_close = "", .after_close = "", .empty_port = "",
        .port_chars = "", .port_range = "", .empty_host = "",
    };
    struct h2g_authority a;
    if (authority == NULL || h2g_parse_authority(authority, len, H2G_AUTH_PORT_ZERO, &refused, &a) != NULL)
        return false;
    if (a.bracketed && a.host_len < 2) /* shortest literal is "::" */
        return false;
    for (size_t i = 0; i < a.host_len; i++) {
        unsigned char c = (unsigned char)a.host[i];
        if (a.bracketed ? !ipv6_char(c) : !reg_name_char(c))
            return false;
    }
    *host = a.host;
    *host_len = a.host_len;
    return true;
}

const struct h2g_origin_config *h2g_route_origin(const struct h2g_config *c, const char *authority,
                                                 size_t len)
{
    const char *host;
    size_t host_len;
    if (c == NULL || !h2g_authority_host(authority, len, &host, &host_len))
        return NULL;
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct h2g_origin_config *o = &c->origins[i];
        for (size_t j = 0; j < o->n_hosts; j++) {
            if (h2g_host_match(o->hosts[j], host, host_len))
                return o;
        }
    }
    return NULL;
}

/* Does `prefix` match `path` (already without query) on a segment
 * boundary? */
static bool prefix_match(const char *prefix, size_t plen, const char *path, size_t len)
{
    if (plen == 0 || plen > len || memcmp(prefix, path, plen) != 0)
        return false;
    return prefix[plen - 1] == '/' || plen == len || path[plen] == '/';
}

const struct h2g_route_config *h2g_route_find(const struct h2g_origin_config *o, const char *path,
                                              size_t len)
{
    if (o == NULL || path == NULL)
        return NULL;
    /* The query (and a fragment, which no client should send) is not part
     * of the path being routed. */
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '?' || path[i] == '#') {
            len = i;
            break;
        }
    }
    /* The loader sorts longest first, but picking the longest here keeps
     * this correct for any order (and hand-built configs in tests). */
    const struct h2g_route_config *best = NULL;
    for (size_t i = 0; i < o->n_routes; i++) {
        const struct h2g_route_config *r = &o->routes[i];
        size_t plen = r->path ? (r->path_len ? r->path_len : strlen(r->path)) : 0;
        if (!prefix_match(r->path, plen, path, len))
            continue;
        size_t blen = best ? (best->path_len ? best->path_len : strlen(best->path)) : 0;
        if (best == NULL || plen > blen)
            best = r;
    }
    return best;
}
