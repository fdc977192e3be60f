/*
 * hdr.c: the one table of special field names (STYLE habit 11).
 *
 * Every name h2gate treats specially is listed once here with its token
 * and flags; translation code (h2_to_h1, h1_to_h2) asks the table instead
 * of comparing strings itself.
 */
#include "hdr.h"

#include <string.h>
#include <strings.h>

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
};

#undef E

#define N_ENTRIES (sizeof(hdr_table) / sizeof(hdr_table[0]))

enum h2g_hdr_token h2g_hdr_lookup(const char *name, size_t len)
{
    /* Some thirty entries: a linear scan filtered on length and first
     * letter is as fast as a hash here (this runs for every field of every
     * message) and keeps the table readable. */
    if (len == 0)
        return H2G_HDR_OTHER;
    char c0 = name[0] >= 'A' && name[0] <= 'Z' ? (char)(name[0] - 'A' + 'a') : name[0];
    for (size_t i = 0; i < N_ENTRIES; i++) {
        if (hdr_table[i].len == len && hdr_table[i].name[0] == c0 &&
            strncasecmp(hdr_table[i].name, name, len) == 0)
            return hdr_table[i].token;
    }
    return H2G_HDR_OTHER;
}

unsigned h2g_hdr_flags(enum h2g_hdr_token t)
{
    if (t == H2G_HDR_OTHER)
        return 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        if (hdr_table[i].token == t)
            return hdr_table[i].flags;
    }
    return 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool h2g_hdr_connection_lists(const char *value, size_t value_len, const char *name, size_t name_len)
{
    size_t i = 0;
    while (i < value_len) {
        while (i < value_len && (is_ows(value[i]) || value[i] == ','))
            i++;
        size_t start = i;
        while (i < value_len && value[i] != ',')
            i++;
        size_t end = i;
        while (end > start && is_ows(value[end - 1]))
            end--;
        if (end - start == name_len && name_len > 0 && strncasecmp(value + start, name, name_len) == 0)
            return true;
    }
    return false;
}

bool h2g_hdr_name_valid(const char *name, size_t len)
{
    /* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
     *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == 0 || strchr("!#$%&'*+-.^_`|~", c) == NULL)
            return false;
    }
    return true;
}

bool h2g_hdr_value_safe(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
            return false;
    }
    return true;
}
