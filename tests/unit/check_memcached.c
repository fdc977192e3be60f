/* Tests for src/core/memcached.c: replies to "get" and "add". */
#include <check.h>
#include <string.h>

#include "core/memcached.h"
#include "suites.h"

static const char *get(const char *text, enum h2g_mc_reply *r, size_t *used, size_t *off, size_t *vlen)
{
    return h2g_mc_parse_get(text, strlen(text), 64, r, used, off, vlen);
}

START_TEST(get_replies)
{
    enum h2g_mc_reply r;
    size_t used = 0, off = 0, vlen = 0;
    ck_assert_ptr_null(get("END\r\n", &r, &used, &off, &vlen));
    ck_assert_int_eq(r, H2G_MC_MISS);
    ck_assert_uint_eq(used, 5);

    const char *v = "VALUE h2gate:ticket-keys 0 6\r\nab\r\ncd\r\nEND\r\n";
    ck_assert_ptr_null(get(v, &r, &used, &off, &vlen));
    ck_assert_int_eq(r, H2G_MC_VALUE);
    ck_assert_uint_eq(used, strlen(v));
    ck_assert_uint_eq(vlen, 6);
    ck_assert_int_eq(memcmp(v + off, "ab\r\ncd", 6), 0);
    /* With a CAS unique. */
    ck_assert_ptr_null(get("VALUE k 5 1 99\r\nx\r\nEND\r\n", &r, &used, &off, &vlen));
    ck_assert_int_eq(r, H2G_MC_VALUE);
    ck_assert_uint_eq(vlen, 1);

    /* Every prefix is incomplete, never an error. */
    for (size_t n = 0; n < strlen(v); n++) {
        ck_assert_ptr_null(h2g_mc_parse_get(v, n, 64, &r, &used, &off, &vlen));
        ck_assert_int_eq(r, H2G_MC_INCOMPLETE);
    }
}
END_TEST

START_TEST(get_errors)
{
    enum h2g_mc_reply r;
    size_t used, off, vlen;
    ck_assert_ptr_nonnull(strstr(get("SERVER_ERROR out of memory\r\n", &r, &used, &off, &vlen), "SERVER_ERROR"));
    ck_assert_ptr_nonnull(strstr(get("CLIENT_ERROR bad\r\n", &r, &used, &off, &vlen), "CLIENT_ERROR"));
    ck_assert_ptr_nonnull(strstr(get("ERROR\r\n", &r, &used, &off, &vlen), "ERROR"));
    ck_assert_ptr_nonnull(get("STORED\r\n", &r, &used, &off, &vlen));
    ck_assert_ptr_nonnull(get("END\n", &r, &used, &off, &vlen));
    ck_assert_ptr_nonnull(get("VALUE k 0 x\r\n", &r, &used, &off, &vlen));
    ck_assert_ptr_nonnull(get("VALUE k 0\r\n", &r, &used, &off, &vlen));
    ck_assert_ptr_nonnull(get("VALUE k 0 -1\r\n", &r, &used, &off, &vlen));
    ck_assert_ptr_nonnull(strstr(get("VALUE k 0 65\r\n", &r, &used, &off, &vlen), "too large"));
    ck_assert_ptr_nonnull(get("VALUE k 0 1\r\nx\r\nEXD\r\n", &r, &used, &off, &vlen));
    char line[1100];
    memset(line, 'V', sizeof(line));
    ck_assert_ptr_nonnull(h2g_mc_parse_get(line, sizeof(line), 64, &r, &used, &off, &vlen));
}
END_TEST

START_TEST(store_replies)
{
    enum h2g_mc_reply r;
    size_t used = 0;
    ck_assert_ptr_null(h2g_mc_parse_store("STORED\r\n", 8, &r, &used));
    ck_assert_int_eq(r, H2G_MC_STORED);
    ck_assert_uint_eq(used, 8);
    ck_assert_ptr_null(h2g_mc_parse_store("NOT_STORED\r\nEND", 15, &r, &used));
    ck_assert_int_eq(r, H2G_MC_NOT_STORED);
    ck_assert_uint_eq(used, 12);
    ck_assert_ptr_null(h2g_mc_parse_store("STOR", 4, &r, &used));
    ck_assert_int_eq(r, H2G_MC_INCOMPLETE);
    ck_assert_ptr_nonnull(h2g_mc_parse_store("EXISTS\r\n", 8, &r, &used));
    ck_assert_ptr_nonnull(strstr(h2g_mc_parse_store("SERVER_ERROR x\r\n", 16, &r, &used), "SERVER_ERROR"));
}
END_TEST

Suite *memcached_suite(void)
{
    Suite *s = suite_create("memcached");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, get_replies);
    tcase_add_test(tc, get_errors);
    tcase_add_test(tc, store_replies);
    suite_add_tcase(s, tc);
    return s;
}
