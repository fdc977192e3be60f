/* Tests for src/core/addrset.c: TTL clamping and address-set comparison. */
#include <check.h>
#include <stdint.h>

#include "core/addrset.h"
#include "suites.h"

static struct h2g_ipaddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct h2g_ipaddr x = {.family = 4, .bytes = {a, b, c, d}};
    return x;
}

START_TEST(keep_clamped)
{
    ck_assert_uint_eq(h2g_addrset_keep_ms(-5), H2G_ADDRSET_TTL_MIN_MS);
    ck_assert_uint_eq(h2g_addrset_keep_ms(0), H2G_ADDRSET_TTL_MIN_MS);
    ck_assert_uint_eq(h2g_addrset_keep_ms(1), 1000);
    ck_assert_uint_eq(h2g_addrset_keep_ms(60), 60000);
    ck_assert_uint_eq(h2g_addrset_keep_ms(300), H2G_ADDRSET_TTL_MAX_MS);
    ck_assert_uint_eq(h2g_addrset_keep_ms(301), H2G_ADDRSET_TTL_MAX_MS);
    ck_assert_uint_eq(h2g_addrset_keep_ms(INT64_MAX), H2G_ADDRSET_TTL_MAX_MS);
}
END_TEST

START_TEST(equal_and_families)
{
    struct h2g_ipaddr a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 1), c = v4(10, 0, 0, 2);
    ck_assert(h2g_ipaddr_equal(&a, &b));
    ck_assert(!h2g_ipaddr_equal(&a, &c));
    struct h2g_ipaddr six = {.family = 6, .bytes = {10, 0, 0, 1}};
    ck_assert(!h2g_ipaddr_equal(&a, &six)); /* same leading bytes, other family */
    struct h2g_ipaddr six2 = six;
    six2.bytes[15] = 1;
    ck_assert(!h2g_ipaddr_equal(&six, &six2)); /* all 16 bytes count */
}
END_TEST

START_TEST(same_any_order)
{
    struct h2g_ipaddr s1[3] = {v4(1, 1, 1, 1), v4(2, 2, 2, 2), v4(3, 3, 3, 3)};
    struct h2g_ipaddr s2[3] = {v4(3, 3, 3, 3), v4(1, 1, 1, 1), v4(2, 2, 2, 2)};
    struct h2g_ipaddr s3[3] = {v4(3, 3, 3, 3), v4(1, 1, 1, 1), v4(4, 4, 4, 4)};
    ck_assert(h2g_addrset_same(s1, 3, s2, 3));
    ck_assert(!h2g_addrset_same(s1, 3, s3, 3));
    ck_assert(!h2g_addrset_same(s1, 3, s2, 2));
    ck_assert(h2g_addrset_same(s1, 0, s2, 0));
    ck_assert(h2g_addrset_contains(s1, 3, &s2[0]));
    ck_assert(!h2g_addrset_contains(s1, 2, &s2[0]));
}
END_TEST

START_TEST(add_once_and_cap)
{
    struct h2g_ipaddr set[2];
    size_t n = 0;
    struct h2g_ipaddr a = v4(1, 1, 1, 1), b = v4(2, 2, 2, 2), c = v4(3, 3, 3, 3);
    ck_assert(h2g_addrset_add(set, &n, 2, &a));
    ck_assert(h2g_addrset_add(set, &n, 2, &a)); /* already there */
    ck_assert_uint_eq(n, 1);
    ck_assert(h2g_addrset_add(set, &n, 2, &b));
    ck_assert(!h2g_addrset_add(set, &n, 2, &c)); /* full */
    ck_assert_uint_eq(n, 2);
    ck_assert(h2g_addrset_add(set, &n, 2, &b)); /* full, but there */
}
END_TEST

START_TEST(failed_family_kept)
{
    struct h2g_ipaddr six = {.family = 6, .bytes = {0xfd, [15] = 5}};
    struct h2g_ipaddr old[3] = {v4(1, 1, 1, 1), six, v4(2, 2, 2, 2)};
    struct h2g_ipaddr set[4] = {v4(3, 3, 3, 3)};
    size_t n = 1;
    /* A answered (3.3.3.3), AAAA failed: the old AAAA stays, old A go */
    h2g_addrset_keep_families(set, &n, 4, old, 3, false, true);
    ck_assert_uint_eq(n, 2);
    ck_assert(h2g_addrset_contains(set, n, &six));
    ck_assert(!h2g_addrset_contains(set, n, &old[0]));
    /* nothing failed: nothing added */
    h2g_addrset_keep_families(set, &n, 4, old, 3, false, false);
    ck_assert_uint_eq(n, 2);
    /* A failed too: the old A come back, up to the cap */
    h2g_addrset_keep_families(set, &n, 3, old, 3, true, true);
    ck_assert_uint_eq(n, 3);
    ck_assert(h2g_addrset_contains(set, n, &old[0]));
}
END_TEST

Suite *addrset_suite(void)
{
    Suite *s = suite_create("addrset");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, keep_clamped);
    tcase_add_test(tc, equal_and_families);
    tcase_add_test(tc, same_any_order);
    tcase_add_test(tc, add_once_and_cap);
    tcase_add_test(tc, failed_family_kept);
    suite_add_tcase(s, tc);
    return s;
}
