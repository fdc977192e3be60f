/*
 * path.c: request-path normalization before routing (see path.h).
 *
 * This runs on every request: a path with nothing to normalize is only
 * scanned once and left where it is; decoding and dot-segment removal
 * run only when the scan meets a '%' or a '.' right after a '/'.
 */
#include "core/path.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"

/* What each byte is to the scan, one table load a byte (this runs on
 * every request).  REFUSED anywhere: controls, DEL, '#'.  LOOK in the
 * path part: '%', '.', '?' end the fast path.  Everything else, obs-text
 * included, is data. */
enum { REFUSED = 1, LOOK = 2 };
static const unsigned char byte_class[256] = {
    /* 0x00 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x10 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20 */ 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, /* '#' '%' '.' */
    /* 0x30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, /* '?' */
    /* 0x40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* DEL */
};

static inline bool refused(char c)
{
    return byte_class[(unsigned char)c] & REFUSED;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'-'F' -> 'a'-'f'; no other byte lands there */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 3986 2.3. */
static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool bytes_allowed(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (refused(p[i]))
            return false;
    return true;
}

/* The escapes in p[0..n) are well-formed and decode to no control byte;
 * no byte is refused (path.h).  Checked before anything is rewritten,
 * so a refused path is logged as the client sent it. */
static bool escapes_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (refused(p[i]))
            return false;
        if (p[i] != '%')
            continue;
        if (n - i < 3)
            return false;
        int hi = hex_value((unsigned char)p[i + 1]), lo = hex_value((unsigned char)p[i + 2]);
        /* An encoded control byte would reach the upstream's file
         * system or log decoded: refused like a raw one. */
        if (hi < 0 || lo < 0 || hi < 2 || (hi == 7 && lo == 0xf))
            return false;
        i += 2;
    }
    return true;
}

/* RFC 3986 6.2.2.1 and 6.2.2.2 over p[0..n), checked by escapes_valid,
 * in place; returns the new length. */
static size_t decode_escapes(char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        if (p[r] != '%') {
            p[w++] = p[r++];
            continue;
        }
        int hi = hex_value((unsigned char)p[r + 1]), lo = hex_value((unsigned char)p[r + 2]);
        unsigned char v = (unsigned char)(hi << 4 | lo);
        if (unreserved(v)) {
            p[w++] = (char)v;
        } else {
            p[w++] = '%';
            p[w++] = hex[hi];
            p[w++] = hex[lo];
        }
        r += 3;
    }
    return w;
}

/* RFC 3986 5.2.4 for a path starting with '/', in place; returns the new
 * length.  Each output segment keeps its leading '/', so ".." drops back
 * to the previous '/' and a final "." or ".." leaves a trailing '/'. */
static size_t remove_dot_segments(char *p, size_t n)
{
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        size_t s = r + 1, e = s;
        while (e < n && p[e] != '/')
            e++;
        bool dot = e - s == 1 && p[s] == '.';
        bool dotdot = e - s == 2 && p[s] == '.' && p[s + 1] == '.';
        if (dotdot)
            while (w > 0 && p[--w] != '/')
                ;
        if (dot || dotdot) {
            if (e == n)
                p[w++] = '/';
        } else {
            memmove(p + w, p + r, e - r);
            w += e - r;
        }
        r = e;
    }
    return w;
}

/* h2g_path_normalize past the fast path: p[i] is the first byte the scan
 * stopped at.  Out of line, so the scan needs no stack frame. */
__attribute__((noinline)) static int normalize_slow(char *p, size_t len, size_t i, size_t *out_len)
{
    if (p[i] == '?')
        return bytes_allowed(p + i, len - i) ? 0 : H2G_ERR_MALFORMED;
    if (p[i] != '%' && p[i] != '.')
        return H2G_ERR_MALFORMED;
    const char *qm = memchr(p + i, '?', len - i);
    size_t q = qm ? (size_t)(qm - p) : len;
    if (!escapes_valid(p, q) || !bytes_allowed(p + q, len - q))
        return H2G_ERR_MALFORMED;
    size_t n = remove_dot_segments(p, decode_escapes(p, q));
    memmove(p + n, p + q, len - q);
    *out_len = n + (len - q);
    return 0;
}

int h2g_path_normalize(char *p, size_t len, size_t *out_len)
{
    *out_len = len;
    if (len == 0 || p[0] != '/')
        return len == 1 && p[0] == '*' ? 0 : H2G_ERR_MALFORMED;
    for (size_t i = 1; i < len; i++) {
        /* A '.' that does not start a segment ("/app.js") is no reason
         * to leave the fast path. */
        if (byte_class[(unsigned char)p[i]] != 0 && (p[i] != '.' || p[i - 1] == '/'))
            return normalize_slow(p, len, i, out_len);
    }
    return 0;
}

int h2g_path_absolute_form(const char *t, size_t len, const char **authority, size_t *authority_len,
                           const char **rest, size_t *rest_len)
{
    size_t s;
    if (len >= 7 && strncasecmp(t, "http://", 7) == 0)
        s = 7;
    else if (len >= 8 && strncasecmp(t, "https://", 8) == 0)
        s = 8;
    else
        return H2G_ERR_MALFORMED;
    /* RFC 3986 3.2: the authority ends at the next '/', '?' or '#'. */
    size_t e = s;
    while (e < len && t[e] != '/' && t[e] != '?' && t[e] != '#')
        e++;
    if (e == s || memchr(t + s, '@', e - s) != NULL)
        return H2G_ERR_MALFORMED;
    *authority = t + s;
    *authority_len = e - s;
    *rest = t + e;
    *rest_len = len - e;
    return 0;
}
