/*
 * proxy_proto.c: the PROXY protocol header parser (src/core/proxy_proto.h),
 * the first bytes h2gate reads on a listener with proxy_protocol: true.
 *
 * Input: byte 0 picks a split point (the header arriving in two reads);
 * the rest is the connection's first bytes, in a heap block of exactly
 * their size.
 *
 * Checked: what is consumed is no longer than the input (and within the
 * version's bound); an answer other than NEED_MORE on the first piece is
 * the answer on the whole (the two reads agree with one); a DONE header
 * is NEED_MORE one byte short of its end; an error has a message and a
 * zeroed result; DONE addresses are well-formed (IPv4 in 4 bytes, the
 * rest zero; no address for LOCAL or UNKNOWN), and the address written
 * back as a v1 and as a v2 header parses to the same result.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "core/proxy_proto.h"
#include "fuzz.h"

static bool same(const struct h2g_pp_result *a, const struct h2g_pp_result *b)
{
    return a->kind == b->kind && a->family == b->family && a->src_port == b->src_port &&
           a->dst_port == b->dst_port && memcmp(a->src_addr, b->src_addr, 16) == 0 &&
           memcmp(a->dst_addr, b->dst_addr, 16) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static enum h2g_pp_status parse_copy(const uint8_t *p, size_t n, struct h2g_pp_result *r, const char **err)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, p, n);
    enum h2g_pp_status st = h2g_pp_parse(copy, n, r, err);
    free(copy);
    return st;
}

/* Writes r back as a v1 and a v2 header: both give r again. */
static void check_rewritten(const struct h2g_pp_result *r)
{
    int af = r->family == H2G_PP_INET ? AF_INET : AF_INET6;
    size_t alen = r->family == H2G_PP_INET ? 4 : 16;
    char s[64], d[64], line[160];
    FUZZ_CHECK(inet_ntop(af, r->src_addr, s, sizeof(s)) != NULL);
    FUZZ_CHECK(inet_ntop(af, r->dst_addr, d, sizeof(d)) != NULL);
    int ll = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n", af == AF_INET ? '4' : '6', s, d,
                      r->src_port, r->dst_port);
    FUZZ_CHECK(ll > 0 && ll <= H2G_PP_V1_MAX);
    struct h2g_pp_result again;
    const char *err;
    FUZZ_CHECK(parse_copy((const uint8_t *)line, (size_t)ll, &again, &err) == H2G_PP_DONE);
    FUZZ_CHECK(again.len == (size_t)ll && same(&again, r));
    uint8_t v2[16 + 36] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21};
    v2[13] = af == AF_INET ? 0x11 : 0x21;
    v2[15] = (uint8_t)(2 * alen + 4);
    memcpy(v2 + 16, r->src_addr, alen);
    memcpy(v2 + 16 + alen, r->dst_addr, alen);
    v2[16 + 2 * alen] = (uint8_t)(r->src_port >> 8);
    v2[17 + 2 * alen] = (uint8_t)r->src_port;
    v2[18 + 2 * alen] = (uint8_t)(r->dst_port >> 8);
    v2[19 + 2 * alen] = (uint8_t)r->dst_port;
    FUZZ_CHECK(parse_copy(v2, 20 + 2 * alen, &again, &err) == H2G_PP_DONE);
    FUZZ_CHECK(again.len == 20 + 2 * alen && same(&again, r));
}

static void check_done(const uint8_t *p, size_t n, const struct h2g_pp_result *r)
{
    FUZZ_CHECK(r->len > 0 && r->len <= n);
    FUZZ_CHECK(r->version == 1 || r->version == 2);
    FUZZ_CHECK(r->version == 2 || r->len <= H2G_PP_V1_MAX);
    FUZZ_CHECK(r->version == 1 || r->len <= 16 + H2G_PP_V2_MAX_BODY);
    struct h2g_pp_result shorter;
    const char *err;
    FUZZ_CHECK(parse_copy(p, r->len - 1, &shorter, &err) == H2G_PP_NEED_MORE);
    if (r->kind != H2G_PP_PROXIED) {
        FUZZ_CHECK(r->kind == H2G_PP_LOCAL || r->kind == H2G_PP_UNKNOWN);
        FUZZ_CHECK(r->family == 0 && r->src_port == 0 && r->dst_port == 0);
        FUZZ_CHECK(all_zero(r->src_addr, 16) && all_zero(r->dst_addr, 16));
        return;
    }
    FUZZ_CHECK(r->family == H2G_PP_INET || r->family == H2G_PP_INET6);
    if (r->family == H2G_PP_INET)
        FUZZ_CHECK(all_zero(r->src_addr + 4, 12) && all_zero(r->dst_addr + 4, 12));
    check_rewritten(r);
}

int fuzz_proxy_proto(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    const uint8_t *p = data + 1;
    size_t split = n > 0 ? data[0] % (n + 1) : 0;
    struct h2g_pp_result whole, first;
    const char *err_whole, *err_first;
    enum h2g_pp_status st = parse_copy(p, n, &whole, &err_whole);
    enum h2g_pp_status st1 = parse_copy(p, split, &first, &err_first);
    if (st1 != H2G_PP_NEED_MORE) {
        FUZZ_CHECK(st1 == st);
        FUZZ_CHECK(st != H2G_PP_DONE || (first.len == whole.len && same(&first, &whole)));
    }
    switch (st) {
    case H2G_PP_NEED_MORE:
        FUZZ_CHECK(err_whole == NULL && whole.len == 0);
        FUZZ_CHECK(n < 16 + H2G_PP_V2_MAX_BODY);
        break;
    case H2G_PP_ERROR: {
        struct h2g_pp_result zero;
        memset(&zero, 0, sizeof(zero));
        FUZZ_CHECK(err_whole != NULL && err_whole[0] != '\0');
        FUZZ_CHECK(memcmp(&whole, &zero, sizeof(zero)) == 0);
        break;
    }
    case H2G_PP_DONE:
        FUZZ_CHECK(err_whole == NULL);
        check_done(p, n, &whole);
        break;
    }
    return 0;
}

H2G_FUZZ_TARGET(fuzz_proxy_proto)
