/* Tests for src/core/proxy_proto.c: v1 and v2 headers, whole, split at
 * every byte, and malformed. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "core/proxy_proto.h"
#include "suites.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Parses p[0..n) whole, and every prefix of it first: the prefixes
 * shorter than the header are NEED_MORE. */
static enum h2g_pp_status parse_all_splits(const uint8_t *p, size_t n, struct h2g_pp_result *r, const char **err)
{
    enum h2g_pp_status st = h2g_pp_parse(p, n, r, err);
    size_t end = st == H2G_PP_DONE ? r->len : 0;
    for (size_t k = 0; k < end; k++) {
        struct h2g_pp_result pr;
        const char *e;
        ck_assert_int_eq(h2g_pp_parse(p, k, &pr, &e), H2G_PP_NEED_MORE);
        ck_assert_ptr_null(e);
    }
    return st;
}

static enum h2g_pp_status parse_str(const char *s, struct h2g_pp_result *r, const char **err)
{
    return parse_all_splits((const uint8_t *)s, strlen(s), r, err);
}

static void ck_addr4(const uint8_t *a, const char *want)
{
    char t[64];
    ck_assert_ptr_nonnull(inet_ntop(AF_INET, a, t, sizeof(t)));
    ck_assert_str_eq(t, want);
}

static void ck_addr6(const uint8_t *a, const char *want)
{
    char t[64];
    ck_assert_ptr_nonnull(inet_ntop(AF_INET6, a, t, sizeof(t)));
    ck_assert_str_eq(t, want);
}

START_TEST(v1_tcp4)
{
    struct h2g_pp_result r;
    const char *err;
    const char *s = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
    ck_assert_int_eq(parse_str(s, &r, &err), H2G_PP_DONE);
    ck_assert_uint_eq(r.len, strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"));
    ck_assert_int_eq(r.version, 1);
    ck_assert_int_eq(r.kind, H2G_PP_PROXIED);
    ck_assert_int_eq(r.family, H2G_PP_INET);
    ck_addr4(r.src_addr, "192.0.2.7");
    ck_addr4(r.dst_addr, "198.51.100.1");
    ck_assert_uint_eq(r.src_port, 56324);
    ck_assert_uint_eq(r.dst_port, 443);
}
END_TEST

START_TEST(v1_tcp6_and_unknown)
{
    struct h2g_pp_result r;
    const char *err;
    ck_assert_int_eq(parse_str("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n", &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.family, H2G_PP_INET6);
    ck_addr6(r.src_addr, "2001:db8::1");
    ck_addr6(r.dst_addr, "::1");
    ck_assert_uint_eq(r.src_port, 65535);
    ck_assert_uint_eq(r.dst_port, 0);
    ck_assert_int_eq(parse_str("PROXY UNKNOWN\r\n", &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_UNKNOWN);
    ck_assert_uint_eq(r.len, 15);
    ck_assert_int_eq(parse_str("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_UNKNOWN);
    ck_assert_int_eq(r.family, 0);
    /* The longest: 107 bytes with the CRLF. */
    const char *longest = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535"
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
    ck_assert_uint_eq(strlen(longest), 107);
    ck_assert_int_eq(parse_str(longest, &r, &err), H2G_PP_DONE);
}
END_TEST

START_TEST(v1_malformed)
{
    static const char *bad[] = {
        "GET / HTTP/1.1\r\n",
        "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX",
        "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
        "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
        "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n",
        "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n",
        "PROXY TCP4 1.2.3.4 1.2.3.4 1 +2\r\n",
        "PROXY TCP6 2001:db8::g ::1 1 2\r\n",
        "PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n",
        "PROXY\r\n",
        "PROXY \r\n",
        "PROXY UNKNOWNX\r\n",
        "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_pp_result r;
        const char *err = NULL;
        ck_assert_msg(h2g_pp_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, &err) == H2G_PP_ERROR,
                      "accepted: %s", bad[i]);
        ck_assert_ptr_nonnull(err);
        ck_assert_uint_eq(r.len, 0);
    }
    /* No CRLF within 107 bytes. */
    char line[200];
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    struct h2g_pp_result r;
    const char *err;
    ck_assert_int_eq(h2g_pp_parse((const uint8_t *)line, 106, &r, &err), H2G_PP_NEED_MORE);
    ck_assert_int_eq(h2g_pp_parse((const uint8_t *)line, 107, &r, &err), H2G_PP_ERROR);
    line[106] = '\r';
    line[107] = '\n';
    ck_assert_int_eq(h2g_pp_parse((const uint8_t *)line, 107, &r, &err), H2G_PP_ERROR);
    /* A wrong first byte is an error at once. */
    ck_assert_int_eq(h2g_pp_parse((const uint8_t *)"\x16\x03\x01", 3, &r, &err), H2G_PP_ERROR);
    ck_assert_int_eq(h2g_pp_parse((const uint8_t *)"PRI *", 5, &r, &err), H2G_PP_ERROR);
}
END_TEST

/* A v2 header: command, family byte, the body (addresses, TLVs). */
static size_t v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *body, size_t blen)
{
    memcpy(out, SIG, 12);
    out[12] = (uint8_t)(0x20 | cmd);
    out[13] = fam;
    out[14] = (uint8_t)(blen >> 8);
    out[15] = (uint8_t)blen;
    if (blen > 0)
        memcpy(out + 16, body, blen);
    return 16 + blen;
}

START_TEST(v2_inet_inet6)
{
    uint8_t buf[256];
    struct h2g_pp_result r;
    const char *err;
    const uint8_t b4[] = {192, 0, 2, 7, 10, 0, 0, 1, 0xDC, 0x04, 0x01, 0xBB};
    size_t n = v2(buf, 1, 0x11, b4, sizeof(b4));
    memcpy(buf + n, "\x16\x03\x01", 3); /* the ClientHello that follows is not consumed */
    ck_assert_int_eq(parse_all_splits(buf, n + 3, &r, &err), H2G_PP_DONE);
    ck_assert_uint_eq(r.len, n);
    ck_assert_int_eq(r.version, 2);
    ck_assert_int_eq(r.kind, H2G_PP_PROXIED);
    ck_addr4(r.src_addr, "192.0.2.7");
    ck_addr4(r.dst_addr, "10.0.0.1");
    ck_assert_uint_eq(r.src_port, 56324);
    ck_assert_uint_eq(r.dst_port, 443);
    uint8_t b6[36 + 7] = {0x20, 0x01, 0x0d, 0xb8};
    b6[15] = 9;
    b6[31] = 1;
    b6[32] = 0x12, b6[33] = 0x34, b6[34] = 0, b6[35] = 80;
    /* TLVs: an ALPN one and an empty NOOP. */
    memcpy(b6 + 36, "\x01\x00\x01h\x04\x00\x00", 7);
    n = v2(buf, 1, 0x21, b6, sizeof(b6));
    ck_assert_int_eq(parse_all_splits(buf, n, &r, &err), H2G_PP_DONE);
    ck_assert_uint_eq(r.len, n);
    ck_assert_int_eq(r.family, H2G_PP_INET6);
    ck_addr6(r.src_addr, "2001:db8::9");
    ck_addr6(r.dst_addr, "::1");
    ck_assert_uint_eq(r.src_port, 0x1234);
    ck_assert_uint_eq(r.dst_port, 80);
}
END_TEST

START_TEST(v2_local_unspec_unix)
{
    uint8_t buf[512];
    struct h2g_pp_result r;
    const char *err;
    size_t n = v2(buf, 0, 0x00, NULL, 0);
    ck_assert_int_eq(parse_all_splits(buf, n, &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_LOCAL);
    ck_assert_uint_eq(r.len, 16);
    /* LOCAL with an address block anyway: skipped. */
    const uint8_t b4[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
    n = v2(buf, 0, 0x11, b4, sizeof(b4));
    ck_assert_int_eq(parse_all_splits(buf, n, &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_LOCAL);
    ck_assert_int_eq(r.family, 0);
    ck_assert_uint_eq(r.len, 28);
    uint8_t un[216] = {0};
    n = v2(buf, 1, 0x31, un, sizeof(un));
    ck_assert_int_eq(parse_all_splits(buf, n, &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_LOCAL);
    n = v2(buf, 1, 0x00, NULL, 0);
    ck_assert_int_eq(parse_all_splits(buf, n, &r, &err), H2G_PP_DONE);
    ck_assert_int_eq(r.kind, H2G_PP_LOCAL);
}
END_TEST

START_TEST(v2_malformed)
{
    uint8_t buf[4096];
    struct h2g_pp_result r;
    const char *err;
    const uint8_t b4[16] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x01, 0x00, 0x05, 'x'};
    /* version 1 in the v2 format, command 2, DGRAM, family 4 */
    size_t n = v2(buf, 1, 0x11, b4, 12);
    buf[12] = 0x11;
    ck_assert_int_eq(h2g_pp_parse(buf, 13, &r, &err), H2G_PP_ERROR);
    buf[12] = 0x22;
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    buf[12] = 0x21;
    buf[13] = 0x12;
    ck_assert_int_eq(h2g_pp_parse(buf, 14, &r, &err), H2G_PP_ERROR);
    buf[13] = 0x41;
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    /* address block too short for its family */
    n = v2(buf, 1, 0x11, b4, 11);
    ck_assert_int_eq(h2g_pp_parse(buf, 16, &r, &err), H2G_PP_ERROR);
    n = v2(buf, 1, 0x21, b4, 16);
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    /* a TLV longer than what is left, or a truncated TLV header */
    n = v2(buf, 1, 0x11, b4, 16);
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    ck_assert_str_eq(err, "PROXY v2: malformed TLV");
    n = v2(buf, 1, 0x11, b4, 14);
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    /* the length cap: an error as soon as the length is known */
    uint8_t big[2049] = {0};
    n = v2(buf, 0, 0x00, big, 2049);
    ck_assert_int_eq(h2g_pp_parse(buf, 16, &r, &err), H2G_PP_ERROR);
    n = v2(buf, 1, 0x11, big, 2048);
    ck_assert_int_eq(h2g_pp_parse(buf, n - 1, &r, &err), H2G_PP_NEED_MORE);
    /* zero TLVs of length 0 padding: 2036 bytes = 678 TLVs and 2 left */
    ck_assert_int_eq(h2g_pp_parse(buf, n, &r, &err), H2G_PP_ERROR);
    /* a bad signature */
    n = v2(buf, 1, 0x11, b4, 12);
    buf[11] = 0x0B;
    ck_assert_int_eq(h2g_pp_parse(buf, 12, &r, &err), H2G_PP_ERROR);
    ck_assert_int_eq(h2g_pp_parse(buf, 11, &r, &err), H2G_PP_NEED_MORE);
}
END_TEST

Suite *proxy_proto_suite(void)
{
    Suite *s = suite_create("proxy_proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, v1_tcp4);
    tcase_add_test(tc, v1_tcp6_and_unknown);
    tcase_add_test(tc, v1_malformed);
    tcase_add_test(tc, v2_inet_inet6);
    tcase_add_test(tc, v2_local_unspec_unix);
    tcase_add_test(tc, v2_malformed);
    suite_add_tcase(s, tc);
    return s;
}
