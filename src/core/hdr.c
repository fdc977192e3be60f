/*
 * hdr.c: the one table of special field names (STYLE habit 11).
 *
 * Every name h2gate treats specially is listed once here with its token
 * and flags, and every method it tells apart in h2g_method_lookup; the
 * rest of the code asks here instead of comparing strings itself.
 */
#include "core/hdr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"

struct hdr_entry {
    const char *name;
    size_t len;
    enum h2g_hdr_token token;
    unsigned flags;
};

#define E(n, t, f) {n, sizeof(n) - 1, t, f}

/* HOP: RFC 9110 7.6.1 and RFC 9113 8.2.2 connection-specific fields
 * (HTTP2-Settings only means something next to "Upgrade: h2c").
 * NO_TRAILER: RFC 9110 6.5.1 framing, routing, request modifiers,
 * authentication and content metadata must not come as trailers. */
static const struct hdr_entry hdr_table[] = {
    E("connection", H2G_HDR_CONNECTION, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("keep-alive", H2G_HDR_KEEP_ALIVE, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("proxy-connection", H2G_HDR_PROXY_CONNECTION, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("transfer-encoding", H2G_HDR_TRANSFER_ENCODING, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("upgrade", H2G_HDR_UPGRADE, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("te", H2G_HDR_TE, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("host", H2G_HDR_HOST, H2G_HDRF_NO_TRAILER),
    E("content-length", H2G_HDR_CONTENT_LENGTH, H2G_HDRF_NO_TRAILER),
    E("cookie", H2G_HDR_COOKIE, 0),
    E("x-forwarded-for", H2G_HDR_X_FORWARDED_FOR, H2G_HDRF_FORWARDING | H2G_HDRF_NO_TRAILER),
    E("x-forwarded-proto", H2G_HDR_X_FORWARDED_PROTO, H2G_HDRF_FORWARDING | H2G_HDRF_NO_TRAILER),
    E("forwarded", H2G_HDR_FORWARDED, H2G_HDRF_FORWARDING | H2G_HDRF_NO_TRAILER),
    E("trailer", H2G_HDR_TRAILER, H2G_HDRF_NO_TRAILER),
    E("expect", H2G_HDR_EXPECT, H2G_HDRF_NO_TRAILER),
    E("http2-settings", H2G_HDR_HTTP2_SETTINGS, H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER),
    E("sec-websocket-key", H2G_HDR_SEC_WEBSOCKET_KEY, H2G_HDRF_NO_TRAILER),
    E("sec-websocket-accept", H2G_HDR_SEC_WEBSOCKET_ACCEPT, H2G_HDRF_NO_TRAILER),
    E("sec-websocket-version", H2G_HDR_SEC_WEBSOCKET_VERSION, H2G_HDRF_NO_TRAILER),
    E("sec-websocket-protocol", H2G_HDR_SEC_WEBSOCKET_PROTOCOL, H2G_HDRF_NO_TRAILER),
    E("sec-websocket-extensions", H2G_HDR_SEC_WEBSOCKET_EXTENSIONS, H2G_HDRF_NO_TRAILER),
    E("alt-svc", H2G_HDR_ALT_SVC, 0),
    E("content-type", H2G_HDR_CONTENT_TYPE, H2G_HDRF_NO_TRAILER),
    E("content-encoding", H2G_HDR_CONTENT_ENCODING, H2G_HDRF_NO_TRAILER),
    E("content-range", H2G_HDR_CONTENT_RANGE, H2G_HDRF_NO_TRAILER),
    E("authorization", H2G_HDR_AUTHORIZATION, H2G_HDRF_NO_TRAILER),
    E("proxy-authorization", H2G_HDR_PROXY_AUTHORIZATION, H2G_HDRF_NO_TRAILER),
    E("cache-control", H2G_HDR_CACHE_CONTROL, H2G_HDRF_NO_TRAILER),
    E("range", H2G_HDR_RANGE, H2G_HDRF_NO_TRAILER),
    E("max-forwards", H2G_HDR_MAX_FORWARDS, H2G_HDRF_NO_TRAILER),
    E(":method", H2G_HDR_PSEUDO_METHOD, 0),
    E(":scheme", H2G_HDR_PSEUDO_SCHEME, 0),
    E(":authority", H2G_HDR_PSEUDO_AUTHORITY, 0),
    E(":path", H2G_HDR_PSEUDO_PATH, 0),
    E(":protocol", H2G_HDR_PSEUDO_PROTOCOL, 0),
    E(":status", H2G_HDR_PSEUDO_STATUS, 0),
};

#undef E

#define N_ENTRIES (sizeof(hdr_table) / sizeof(hdr_table[0]))
#define MAX_NAME 24      /* the longest name in the table */
#define MAX_SAME_LEN 8   /* most entries sharing one length (6 have 7 bytes) */

/*
 * Indexes built once from the table before main() (no thread exists
 * yet): the lookup runs for every field of every message, so it looks
 * only at the few entries of the right length, and flags are an array
 * access.  The table above stays the one place names are listed.
 */
static signed char by_len[MAX_NAME + 1][MAX_SAME_LEN];
static unsigned char flags_of[H2G_HDR_N_TOKENS];
const char *h2g_hdr_name[H2G_HDR_N_TOKENS];
unsigned char h2g_hdr_name_len[H2G_HDR_N_TOKENS];
static bool tchar[256];
unsigned char h2g_tchar_lower[256];

__attribute__((constructor)) static void hdr_index(void)
{
    memset(by_len, -1, sizeof(by_len));
    for (size_t i = 0; i < N_ENTRIES; i++) {
        signed char *b = by_len[hdr_table[i].len];
        size_t k = 0;
        while (b[k] >= 0)
            k++;
        b[k] = (signed char)i; /* sizes checked by check_hdr (every name maps) */
        flags_of[hdr_table[i].token] = (unsigned char)hdr_table[i].flags;
        h2g_hdr_name[hdr_table[i].token] = hdr_table[i].name;
        h2g_hdr_name_len[hdr_table[i].token] = (unsigned char)hdr_table[i].len;
    }
    /* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
     *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA  (RFC 9110 5.6.2) */
    for (int c = 0; c < 256; c++) {
        tchar[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        h2g_tchar_lower[c] = !tchar[c] ? 0 : (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : (unsigned char)c;
    }
}

enum h2g_hdr_token h2g_hdr_lookup(const char *name, size_t len)
{
    if (len == 0 || len > MAX_NAME)
        return H2G_HDR_OTHER;
    char c0 = name[0] >= 'A' && name[0] <= 'Z' ? (char)(name[0] - 'A' + 'a') : name[0];
    const signed char *b = by_len[len];
    for (size_t k = 0; k < MAX_SAME_LEN && b[k] >= 0; k++) {
        const struct hdr_entry *e = &hdr_table[b[k]];
        if (e->name[0] == c0 && strncasecmp(e->name, name, len) == 0)
            return e->token;
    }
    return H2G_HDR_OTHER;
}

unsigned h2g_hdr_flags(enum h2g_hdr_token t)
{
    return (unsigned)t < sizeof(flags_of) ? flags_of[t] : 0;
}

enum h2g_method h2g_method_lookup(const char *m, size_t len)
{
    /* By length first: one compare for most requests, as cheap as the
     * hand-written compares this replaced. */
#define IS(lit) (memcmp(m, lit, sizeof(lit) - 1) == 0)
    if (m == NULL)
        return H2G_METHOD_OTHER;
    switch (len) {
    case 3: return IS("GET") ? H2G_METHOD_GET : IS("PUT") ? H2G_METHOD_PUT : H2G_METHOD_OTHER;
    case 4: return IS("HEAD") ? H2G_METHOD_HEAD : IS("POST") ? H2G_METHOD_POST : H2G_METHOD_OTHER;
    case 5: return IS("PATCH") ? H2G_METHOD_PATCH : IS("TRACE") ? H2G_METHOD_TRACE : H2G_METHOD_OTHER;
    case 6: return IS("DELETE") ? H2G_METHOD_DELETE : H2G_METHOD_OTHER;
    case 7: return IS("CONNECT") ? H2G_METHOD_CONNECT : IS("OPTIONS") ? H2G_METHOD_OPTIONS : H2G_METHOD_OTHER;
    default: return H2G_METHOD_OTHER;
    }
#undef IS
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The next element of a comma-separated list at *i: empty elements and
 * OWS around it are skipped (RFC 9110 5.6.1).  false at the end. */
static bool next_element(const char *v, size_t len, size_t *i, size_t *start, size_t *end)
{
    while (*i < len && (is_ows(v[*i]) || v[*i] == ','))
        (*i)++;
    if (*i >= len)
        return false;
    *start = *i;
    while (*i < len && v[*i] != ',')
        (*i)++;
    *end = *i;
    while (*end > *start && is_ows(v[*end - 1]))
        (*end)--;
    return true;
}

bool h2g_hdr_connection_lists(const char *value, size_t value_len, const char *name, size_t name_len)
{
    size_t i = 0, start, end;
    while (next_element(value, value_len, &i, &start, &end))
        if (end - start == name_len && name_len > 0 && strncasecmp(value + start, name, name_len) == 0)
            return true;
    return false;
}

bool h2g_hdr_name_valid(const char *name, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!tchar[(unsigned char)name[i]])
            return false;
    return true;
}

bool h2g_hdr_value_safe(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        /* One compare for the common case: every byte above CR is safe. */
        if (c <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
            return false;
    }
    return true;
}

void h2g_conn_tokens_init(struct h2g_conn_tokens *ct, const struct h2g_field *f, size_t n)
{
    ct->n = 0;
    ct->overflow = false;
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len != 10 || h2g_hdr_lookup(f[i].name, 10) != H2G_HDR_CONNECTION)
            continue;
        const char *v = f[i].value;
        size_t j = 0, start, end;
        while (next_element(v, f[i].value_len, &j, &start, &end)) {
            if (ct->n == H2G_CONN_TOKENS_MAX) {
                ct->overflow = true;
                return;
            }
            ct->t[ct->n].p = v + start;
            ct->t[ct->n].len = end - start;
            ct->n++;
        }
    }
}

bool h2g_conn_tokens_has(const struct h2g_conn_tokens *ct, const struct h2g_field *f, size_t n, const char *name,
                         size_t len)
{
    if (ct->overflow) {
        for (size_t i = 0; i < n; i++)
            if (f[i].name_len == 10 && h2g_hdr_lookup(f[i].name, 10) == H2G_HDR_CONNECTION &&
                h2g_hdr_connection_lists(f[i].value, f[i].value_len, name, len))
                return true;
        return false;
    }
    for (size_t k = 0; k < ct->n; k++)
        if (ct->t[k].len == len && strncasecmp(ct->t[k].p, name, len) == 0)
            return true;
    return false;
}

int h2g_field_ref_add(struct h2g_buf *store, struct h2g_field_ref *r, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    r->name_off = (uint32_t)store->len;
    r->name_len = (uint32_t)nlen;
    if (h2g_buf_append(store, name, nlen) != 0)
        return H2G_ERR_NOMEM;
    r->value_off = (uint32_t)store->len;
    r->value_len = (uint32_t)vlen;
    return h2g_buf_append(store, value, vlen);
}

int h2g_field_refs_grow(struct h2g_field_ref **refs, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    struct h2g_field_ref *r = realloc(*refs, c * sizeof(*r));
    if (r == NULL)
        return H2G_ERR_NOMEM;
    *refs = r;
    *cap = c;
    return 0;
}

void h2g_field_refs_view(const char *base, const struct h2g_field_ref *refs, size_t n, struct h2g_field *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i].name = base + refs[i].name_off;
        out[i].name_len = refs[i].name_len;
        out[i].value = base + refs[i].value_off;
        out[i].value_len = refs[i].value_len;
    }
}

bool h2g_parse_content_length(const char *value, size_t vlen, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (value[i] < '0' || value[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(value[i] - '0');
    }
    *out = v;
    return vlen > 0;
}
