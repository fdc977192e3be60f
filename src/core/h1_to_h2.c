/*
 * h1_to_h2.c: an HTTP/1.1 upstream response head (or trailers) -> HTTP/2
 * fields (RFC 9113 8.2.2: connection-specific fields must not appear in
 * HTTP/2; RFC 9110 6.5.1 for what may be a trailer).
 *
 * Input accepted: fields from h1_parse (names lowercase tokens, values
 * checked by llhttp).  The nv entries borrow those strings.
 */
#include "core/h1_to_h2.h"

#include <string.h>

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
    struct h2g_conn_tokens ct;
    h2g_conn_tokens_init(&ct, fields, n);
    for (size_t i = 0; i < n; i++) {
        const struct h2g_field *f = &fields[i];
        if (f->name_len == 0)
            continue;
        if (h2g_hdr_flags(h2g_hdr_lookup(f->name, f->name_len)) & mask)
            continue;
        if (ct.n > 0 && h2g_conn_tokens_has(&ct, fields, n, f->name, f->name_len))
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
