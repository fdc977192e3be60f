#include "core/proxy_proto.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v1_sig[] = "PROXY ";
#define V1_SIG_LEN 6
static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
#define V2_HEAD_LEN 16

static enum h2g_pp_status fail(const char **err, const char *msg)
{
    *err = msg;
    return H2G_PP_ERROR;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* One v1 address token p[0..len) of the family: 0, or -1. */
static int v1_addr(const uint8_t *p, size_t len, enum h2g_pp_family fam, uint8_t *addr)
{
    char text[46];
    if (len == 0 || len >= sizeof(text))
        return -1;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        bool ok = (ch >= '0' && ch <= '9') || ch == '.' ||
                  (fam == H2G_PP_INET6 && (ch == ':' || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')));
        if (!ok)
            return -1;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    return inet_pton(fam == H2G_PP_INET ? AF_INET : AF_INET6, text, addr) == 1 ? 0 : -1;
}

/* One v1 port token: decimal 0-65535 without leading zeros; 0, or -1. */
static int v1_port(const uint8_t *p, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5 || (p[0] == '0' && len > 1))
        return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* The v1 line's fields after "PROXY ", p[0..len) without the CRLF. */
static enum h2g_pp_status v1_fields(const uint8_t *p, size_t len, struct h2g_pp_result *out, const char **err)
{
    if (len >= 7 && memcmp(p, "UNKNOWN", 7) == 0 && (len == 7 || p[7] == ' ')) {
        /* The rest of the line is to be ignored (proxy-protocol.txt 2.1). */
        out->kind = H2G_PP_UNKNOWN;
        return H2G_PP_DONE;
    }
    if (len < 5 || (memcmp(p, "TCP4 ", 5) != 0 && memcmp(p, "TCP6 ", 5) != 0))
        return fail(err, "PROXY v1: protocol is not TCP4, TCP6 or UNKNOWN");
    out->family = p[3] == '4' ? H2G_PP_INET : H2G_PP_INET6;
    /* Four fields, each ended by one space but the last (by the line's end). */
    const uint8_t *f[4];
    size_t fl[4];
    size_t at = 5;
    for (int i = 0; i < 4; i++) {
        size_t e = at;
        while (e < len && p[e] != ' ')
            e++;
        f[i] = p + at;
        fl[i] = e - at;
        if ((i < 3 && e == len) || (i == 3 && e != len))
            return fail(err, "PROXY v1: not four fields separated by single spaces");
        at = e + 1;
    }
    if (v1_addr(f[0], fl[0], out->family, out->src_addr) != 0 ||
        v1_addr(f[1], fl[1], out->family, out->dst_addr) != 0)
        return fail(err, "PROXY v1: malformed address");
    if (v1_port(f[2], fl[2], &out->src_port) != 0 || v1_port(f[3], fl[3], &out->dst_port) != 0)
        return fail(err, "PROXY v1: malformed port");
    out->kind = H2G_PP_PROXIED;
    return H2G_PP_DONE;
}

static enum h2g_pp_status parse_v1(const uint8_t *buf, size_t n, struct h2g_pp_result *out, const char **err)
{
    if (memcmp(buf, v1_sig, min_size(n, V1_SIG_LEN)) != 0)
        return fail(err, "not a PROXY protocol header");
    size_t scan = min_size(n, H2G_PP_V1_MAX);
    for (size_t i = V1_SIG_LEN; i < scan; i++) {
        if (buf[i] == '\n')
            return fail(err, "PROXY v1: LF without CR");
        if (buf[i] != '\r')
            continue;
        if (i + 2 > H2G_PP_V1_MAX)
            return fail(err, "PROXY v1: header longer than 107 bytes");
        if (i + 1 == n)
            return H2G_PP_NEED_MORE;
        if (buf[i + 1] != '\n')
            return fail(err, "PROXY v1: CR without LF");
        out->len = i + 2;
        out->version = 1;
        return v1_fields(buf + V1_SIG_LEN, i - V1_SIG_LEN, out, err);
    }
    if (n >= H2G_PP_V1_MAX)
        return fail(err, "PROXY v1: header longer than 107 bytes");
    return H2G_PP_NEED_MORE;
}

/* The fixed part's checks, on the bytes of it that arrived: 0, or -1 with *err. */
static int v2_head(const uint8_t *buf, size_t n, const char **err)
{
    if (memcmp(buf, v2_sig, min_size(n, sizeof(v2_sig))) != 0) {
        *err = "not a PROXY protocol header";
        return -1;
    }
    if (n > 12 && ((buf[12] >> 4) != 2 || (buf[12] & 0x0F) > 1)) {
        *err = "PROXY v2: unknown version or command";
        return -1;
    }
    if (n > 13) {
        unsigned fam = buf[13] >> 4, tr = buf[13] & 0x0F;
        bool inet = fam == 1 || fam == 2;
        if (fam > 3 || tr > 2 || (inet && (buf[12] & 0x0F) == 1 && tr != 1)) {
            *err = "PROXY v2: unsupported address family or transport";
            return -1;
        }
    }
    if (n >= V2_HEAD_LEN) {
        size_t len = (size_t)buf[14] << 8 | buf[15];
        unsigned fam = buf[13] >> 4;
        if (len > H2G_PP_V2_MAX_BODY) {
            *err = "PROXY v2: header longer than 2048 bytes";
            return -1;
        }
        if ((buf[12] & 0x0F) == 1 && ((fam == 1 && len < 12) || (fam == 2 && len < 36))) {
            *err = "PROXY v2: address block too short";
            return -1;
        }
    }
    return 0;
}

/* TLVs tile body[0..len) exactly: 0, or -1. */
static int v2_tlvs(const uint8_t *body, size_t len)
{
    size_t at = 0;
    while (at < len) {
        if (len - at < 3)
            return -1;
        size_t tl = (size_t)body[at + 1] << 8 | body[at + 2];
        if (tl > len - at - 3)
            return -1;
        at += 3 + tl;
    }
    return 0;
}

static enum h2g_pp_status parse_v2(const uint8_t *buf, size_t n, struct h2g_pp_result *out, const char **err)
{
    if (v2_head(buf, n, err) != 0)
        return H2G_PP_ERROR;
    if (n < V2_HEAD_LEN)
        return H2G_PP_NEED_MORE;
    size_t len = (size_t)buf[14] << 8 | buf[15];
    if (n < V2_HEAD_LEN + len)
        return H2G_PP_NEED_MORE;
    unsigned fam = buf[13] >> 4;
    out->len = V2_HEAD_LEN + len;
    out->version = 2;
    if ((buf[12] & 0x0F) == 0 || fam == 0 || fam == 3) {
        out->kind = H2G_PP_LOCAL;
        return H2G_PP_DONE;
    }
    const uint8_t *b = buf + V2_HEAD_LEN;
    size_t alen = fam == 1 ? 4 : 16;
    out->kind = H2G_PP_PROXIED;
    out->family = fam == 1 ? H2G_PP_INET : H2G_PP_INET6;
    memcpy(out->src_addr, b, alen);
    memcpy(out->dst_addr, b + alen, alen);
    out->src_port = (uint16_t)(b[2 * alen] << 8 | b[2 * alen + 1]);
    out->dst_port = (uint16_t)(b[2 * alen + 2] << 8 | b[2 * alen + 3]);
    size_t ab = 2 * alen + 4;
    if (v2_tlvs(b + ab, len - ab) != 0) {
        memset(out, 0, sizeof(*out));
        return fail(err, "PROXY v2: malformed TLV");
    }
    return H2G_PP_DONE;
}

enum h2g_pp_status h2g_pp_parse(const uint8_t *buf, size_t n, struct h2g_pp_result *out, const char **err)
{
    memset(out, 0, sizeof(*out));
    *err = NULL;
    if (n == 0)
        return H2G_PP_NEED_MORE;
    enum h2g_pp_status st;
    if (buf[0] == 'P')
        st = parse_v1(buf, n, out, err);
    else if (buf[0] == 0x0D)
        st = parse_v2(buf, n, out, err);
    else
        st = fail(err, "not a PROXY protocol header");
    if (st != H2G_PP_DONE)
        memset(out, 0, sizeof(*out));
    return st;
}
