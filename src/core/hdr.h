/*
 * hdr.h: header fields, the one table of special field names and the
 * methods h2gate tells apart.
 *
 * Names on both sides are lowercase here (HTTP/2 requires it; h1_parse
 * lowercases HTTP/1 names as it copies them).  The table gives each
 * special name a token and flags, so no other code scatters strcmp()s
 * over names or methods.
 */
#ifndef H2G_HDR_H
#define H2G_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

/* A borrowed view of one field. */
struct h2g_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* A field kept as offsets into a store (an h2g_buf holding names and
 * values back to back): it stays valid as the store grows. */
struct h2g_field_ref {
    uint32_t name_off, name_len, value_off, value_len;
};

/* Appends name and value to store and points r at them: 0, or
 * H2G_ERR_NOMEM. */
int h2g_field_ref_add(struct h2g_buf *store, struct h2g_field_ref *r, const char *name, size_t nlen,
                      const char *value, size_t vlen);
/* Room for one more in *refs (n of them, *cap allocated; doubling from
 * 16): 0, or H2G_ERR_NOMEM with *refs as it was. */
int h2g_field_refs_grow(struct h2g_field_ref **refs, size_t n, size_t *cap);
/* Views of n fields stored at base, into out (n of them). */
void h2g_field_refs_view(const char *base, const struct h2g_field_ref *refs, size_t n, struct h2g_field *out);

/* A content-length value (RFC 9110 8.6: digits only, at least one): true
 * with *out, false when malformed or past UINT64_MAX. */
bool h2g_parse_content_length(const char *value, size_t vlen, uint64_t *out);

enum h2g_hdr_token {
    H2G_HDR_OTHER = 0,
    H2G_HDR_CONNECTION,
    H2G_HDR_KEEP_ALIVE,
    H2G_HDR_PROXY_CONNECTION,
    H2G_HDR_TRANSFER_ENCODING,
    H2G_HDR_UPGRADE,
    H2G_HDR_TE,
    H2G_HDR_HOST,
    H2G_HDR_CONTENT_LENGTH,
    H2G_HDR_COOKIE,
    H2G_HDR_X_FORWARDED_FOR,
    H2G_HDR_X_FORWARDED_PROTO,
    H2G_HDR_FORWARDED,
    H2G_HDR_TRAILER,
    H2G_HDR_EXPECT,
    H2G_HDR_HTTP2_SETTINGS,
    H2G_HDR_SEC_WEBSOCKET_KEY,
    H2G_HDR_SEC_WEBSOCKET_ACCEPT,
    H2G_HDR_SEC_WEBSOCKET_VERSION,
    H2G_HDR_SEC_WEBSOCKET_PROTOCOL,
    H2G_HDR_SEC_WEBSOCKET_EXTENSIONS,
    H2G_HDR_ALT_SVC,
    /* Added for the trailer rules of RFC 9110 6.5.1 (not hop-by-hop). */
    H2G_HDR_CONTENT_TYPE,
    H2G_HDR_CONTENT_ENCODING,
    H2G_HDR_CONTENT_RANGE,
    H2G_HDR_AUTHORIZATION,
    H2G_HDR_PROXY_AUTHORIZATION,
    H2G_HDR_CACHE_CONTROL,
    H2G_HDR_RANGE,
    H2G_HDR_MAX_FORWARDS,
    /* HTTP/2 pseudo-header fields (RFC 9113 8.3, RFC 8441 4): no flags,
     * they never reach a field array. */
    H2G_HDR_PSEUDO_METHOD,
    H2G_HDR_PSEUDO_SCHEME,
    H2G_HDR_PSEUDO_AUTHORITY,
    H2G_HDR_PSEUDO_PATH,
    H2G_HDR_PSEUDO_PROTOCOL,
    H2G_HDR_PSEUDO_STATUS,
    H2G_HDR_N_TOKENS
};

enum {
    H2G_HDRF_HOP = 1 << 0,        /* connection-specific: never forwarded */
    H2G_HDRF_FORWARDING = 1 << 1, /* replaced by h2gate on requests */
    H2G_HDRF_NO_TRAILER = 1 << 2, /* must not appear in trailers */
};

/* Token for a lowercase name; H2G_HDR_OTHER if not special.  The compare
 * is case-insensitive, so a name that was not lowercased still maps. */
enum h2g_hdr_token h2g_hdr_lookup(const char *name, size_t len);
/* Flags for a token. */
unsigned h2g_hdr_flags(enum h2g_hdr_token t);

/* Names and lengths by token, for h2g_hdr_is (filled before main). */
extern const char *h2g_hdr_name[H2G_HDR_N_TOKENS];
extern unsigned char h2g_hdr_name_len[H2G_HDR_N_TOKENS];
/* Is name[0..len) the name of token t (any case)?  For code that looks
 * for one field among many: a length compare rejects most fields, as
 * cheap as a hand-written compare, and the name is still the table's. */
static inline bool h2g_hdr_is(const char *name, size_t len, enum h2g_hdr_token t)
{
    return len == h2g_hdr_name_len[t] && len > 0 && strncasecmp(name, h2g_hdr_name[t], len) == 0;
}

/* The token of a pseudo-header name (it starts with ':'), H2G_HDR_OTHER
 * for one a request may not carry.  Per request field on the hot path:
 * by length, then one compare, where h2g_hdr_lookup would hash.  Pseudo-
 * header names are lowercase (RFC 9113 8.2.1; nghttp2 refuses others). */
static inline enum h2g_hdr_token h2g_hdr_pseudo(const char *name, size_t len)
{
    switch (len) {
    case 5: return memcmp(name, ":path", 5) == 0 ? H2G_HDR_PSEUDO_PATH : H2G_HDR_OTHER;
    case 7:
        return memcmp(name, ":method", 7) == 0   ? H2G_HDR_PSEUDO_METHOD
               : memcmp(name, ":scheme", 7) == 0 ? H2G_HDR_PSEUDO_SCHEME
                                                 : H2G_HDR_OTHER;
    case 9: return memcmp(name, ":protocol", 9) == 0 ? H2G_HDR_PSEUDO_PROTOCOL : H2G_HDR_OTHER;
    case 10: return memcmp(name, ":authority", 10) == 0 ? H2G_HDR_PSEUDO_AUTHORITY : H2G_HDR_OTHER;
    default: return H2G_HDR_OTHER;
    }
}

/* Request methods h2gate treats specially.  Methods are case-sensitive
 * (RFC 9110 9.1): "get" is H2G_METHOD_OTHER. */
enum h2g_method {
    H2G_METHOD_OTHER = 0,
    H2G_METHOD_GET,
    H2G_METHOD_HEAD,
    H2G_METHOD_POST,
    H2G_METHOD_PUT,
    H2G_METHOD_DELETE,
    H2G_METHOD_CONNECT,
    H2G_METHOD_OPTIONS,
    H2G_METHOD_TRACE,
    H2G_METHOD_PATCH,
};
/* The method m[0..len) is (exact bytes); H2G_METHOD_OTHER for any other,
 * and for m == NULL. */
enum h2g_method h2g_method_lookup(const char *m, size_t len);
/* Does a Connection field value (comma-separated tokens, any case) list
 * `name` (lowercase)?  Empty list elements and OWS around tokens are
 * skipped (RFC 9110 5.6.1). */
bool h2g_hdr_connection_lists(const char *value, size_t value_len, const char *name, size_t name_len);

/* A tchar byte lowercased; 0 for a byte that is not a tchar (one table
 * lookup both validates and lowercases a field name as it is copied). */
extern unsigned char h2g_tchar_lower[256];
/* Is every byte of the name a tchar (RFC 9110 5.6.2) and the name
 * non-empty? */
bool h2g_hdr_name_valid(const char *name, size_t len);
/* Does the value hold no CR, LF or NUL (what would let it break out of
 * its line in HTTP/1.1)? */
bool h2g_hdr_value_safe(const char *value, size_t len);

/* The tokens of a message's Connection fields, split once: every other
 * field is then checked against them without re-parsing (a message with
 * more than H2G_CONN_TOKENS_MAX tokens falls back to parsing). */
#define H2G_CONN_TOKENS_MAX 16
struct h2g_conn_tokens {
    size_t n;
    bool overflow;
    struct {
        const char *p;
        size_t len;
    } t[H2G_CONN_TOKENS_MAX];
};
void h2g_conn_tokens_init(struct h2g_conn_tokens *ct, const struct h2g_field *f, size_t n);
/* Does a Connection field among f (the fields ct was built from) list
 * `name`? */
bool h2g_conn_tokens_has(const struct h2g_conn_tokens *ct, const struct h2g_field *f, size_t n, const char *name,
                         size_t len);

#endif
