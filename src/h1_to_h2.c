/*
 * h1_to_h2.c: an HTTP/1.1 upstream response head (or trailers) -> HTTP/2
 * fields (RFC 9113 8.2.2: connection-specific fields must not appear in
 * HTTP/2; RFC 9110 6.5.1 for what may be a trailer).
 *
 * Input accepted: fields from h1_parse (names lowercase tokens, values
 * checked by llhttp).  The nv entries borrow those strings.
 */
#include "h1_to_h2.h"

#include <string.h>

#include <stdio.h>

/* Is x named by a Connection field among f? */
static bool listed_by_connection(const struct h2g_field *f, size_t n, const struct h2g_field *x)
{
    for (size_t i = 0; i < n; i++) {
        /* Names are lowercase here; a plain compare keeps this cheap
         * (it runs for every field against every other). */
        if (f[i].name_len == 10 && memcmp(f[i].name, "connection", 10) == 0 &&
            h2g_hdr_connection_lists(f[i].value, f[i].value_len, x->name, x->name_len))
            return true;
    }
    return false;
}

static void set_nv(nghttp2_nv *nv, const char *name, size_t nlen, const char *value, size_t vlen)
{
    nv->name = (uint8_t *)(uintptr_t)name;
    nv->namelen = nlen;
    nv->value = (uint8_t *)(uintptr_t)value;
    nv->valuelen = vlen;
    nv->flags = NGHTTP2_NV_FLAG_NONE;
}

/* Appends the fields that may cross to HTTP/2 to nva; `mask` names the
 * flags that exclude a field. */
static size_t copy_fields(const struct h2g_field *fields, size_t n, unsigned mask, nghttp2_nv *nva)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct h2g_field *f = &fields[i];
        if (f->name_len == 0)
            continue;
        if (h2g_hdr_flags(h2g_hdr_lookup(f->name, f->name_len)) & mask)
            continue;
        if (listed_by_connection(fields, n, f))
            continue;
        set_nv(&nva[k++], f->name, f->name_len, f->value, f->value_len);
    }
    return k;
}

size_t h1_to_h2_response(int status, const struct h2g_field *fields, size_t n, char status_buf[4],
                         nghttp2_nv *nva)
{
    /* h1_parse guarantees 3 digits; clamp anyway so status_buf always
     * holds exactly three. */
    if (status < 100 || status > 999)
        status = 502;
    if (status < 100 || status > 999)
        status = 502;
    status_buf[0] = (char)('0' + status / 100);
    status_buf[1] = (char)('0' + status / 10 % 10);
    status_buf[2] = (char)('0' + status % 10);
    status_buf[3] = '\0';
    set_nv(&nva[0], ":status", 7, status_buf, 3);
    return 1 + copy_fields(fields, n, H2G_HDRF_HOP, nva + 1);
}

size_t h1_to_h2_trailers(const struct h2g_field *fields, size_t n, nghttp2_nv *nva)
{
    return copy_fields(fields, n, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER, nva);
}
