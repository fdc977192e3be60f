/* Tests for src/core/h1_to_h2.c: HTTP/1.1 response fields -> nghttp2_nv. */
#include <check.h>
#include <string.h>

#include "core/h1_to_h2.h"
#include "suites.h"

#define FLD(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static void expect_nv(const nghttp2_nv *nv, const char *name, const char *value)
{
    ck_assert_uint_eq(nv->namelen, strlen(name));
    ck_assert_uint_eq(nv->valuelen, strlen(value));
    ck_assert(memcmp(nv->name, name, nv->namelen) == 0);
    ck_assert(memcmp(nv->value, value, nv->valuelen) == 0);
}

START_TEST(status_and_fields)
{
    const struct h2g_field f[] = {FLD("content-type", "text/html"), FLD("set-cookie", "a=1"),
                                  FLD("set-cookie", "b=2")};
    nghttp2_nv nva[4];
    char status[4];
    size_t n = h1_to_h2_response(404, f, 3, status, nva);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(status, "404");
    expect_nv(&nva[0], ":status", "404");
    expect_nv(&nva[1], "content-type", "text/html");
    expect_nv(&nva[2], "set-cookie", "a=1");
    expect_nv(&nva[3], "set-cookie", "b=2");
    ck_assert_ptr_eq(nva[1].value, (const uint8_t *)f[0].value); /* borrowed */
}
END_TEST

START_TEST(hop_by_hop_dropped)
{
    const struct h2g_field f[] = {
        FLD("connection", "keep-alive, X-Backend-Secret, close"), FLD("keep-alive", "timeout=5"),
        FLD("transfer-encoding", "chunked"), FLD("upgrade", "h2c"), FLD("proxy-connection", "x"),
        FLD("te", "trailers"), FLD("x-backend-secret", "s"), {"", 0, "empty name", 10},
        FLD("server", "demo"), FLD("connection", "x-second"), FLD("x-second", "2"), FLD("alt-svc", "h3=\":443\"")};
    nghttp2_nv nva[16];
    char status[4];
    size_t n = h1_to_h2_response(200, f, sizeof(f) / sizeof(f[0]), status, nva);
    ck_assert_uint_eq(n, 3);
    expect_nv(&nva[0], ":status", "200");
    expect_nv(&nva[1], "server", "demo");
    expect_nv(&nva[2], "alt-svc", "h3=\":443\"");
}
END_TEST

START_TEST(status_clamped)
{
    nghttp2_nv nva[1];
    char status[4];
    ck_assert_uint_eq(h1_to_h2_response(42, NULL, 0, status, nva), 1);
    ck_assert_str_eq(status, "502");
    h1_to_h2_response(101, NULL, 0, status, nva);
    ck_assert_str_eq(status, "101");
}
END_TEST

START_TEST(trailers)
{
    const struct h2g_field f[] = {FLD("grpc-status", "0"), FLD("content-length", "5"), FLD("host", "x"),
                                  FLD("connection", "close"), FLD("x-sum", "1")};
    nghttp2_nv nva[5];
    size_t n = h1_to_h2_trailers(f, 5, nva);
    ck_assert_uint_eq(n, 2);
    expect_nv(&nva[0], "grpc-status", "0");
    expect_nv(&nva[1], "x-sum", "1");
}
END_TEST

Suite *h1_to_h2_suite(void)
{
    Suite *s = suite_create("h1_to_h2");
    TCase *tc = tcase_create("response");
    tcase_add_test(tc, status_and_fields);
    tcase_add_test(tc, hop_by_hop_dropped);
    tcase_add_test(tc, status_clamped);
    tcase_add_test(tc, trailers);
    suite_add_tcase(s, tc);
    return s;
}
