/* Tests for src/core/balance.c: round-robin with passive health. */
#include <check.h>

#include "core/balance.h"
#include "suites.h"

START_TEST(round_robin)
{
    struct h2g_balance b;
    ck_assert_int_eq(h2g_balance_init(&b, 3), 0);
    for (int round = 0; round < 3; round++) {
        ck_assert_uint_eq(h2g_balance_pick(&b, 1000), 0);
        ck_assert_uint_eq(h2g_balance_pick(&b, 1000), 1);
        ck_assert_uint_eq(h2g_balance_pick(&b, 1000), 2);
    }
    h2g_balance_clear(&b);
    ck_assert_ptr_null(b.down_until);
    h2g_balance_clear(&b); /* twice is fine */
}
END_TEST

START_TEST(over_caller_storage)
{
    uint64_t down[3] = {0, 500, 0};
    struct h2g_balance b;
    h2g_balance_use(&b, down, 3);
    ck_assert_uint_eq(h2g_balance_pick(&b, 100), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 100), 2); /* 1 is down until 500 */
    h2g_balance_fail(&b, 0, 100, 1000);
    ck_assert_uint_eq(down[0], 1100);                /* written to the caller's array */
    ck_assert_uint_eq(h2g_balance_pick(&b, 600), 1); /* 1's penalty is over */
    h2g_balance_ok(&b, 0);
    ck_assert_uint_eq(down[0], 0);
}
END_TEST

START_TEST(single_and_empty)
{
    struct h2g_balance b;
    ck_assert_int_eq(h2g_balance_init(&b, 1), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 5), 0);
    h2g_balance_fail(&b, 0, 5, 100);
    ck_assert_uint_eq(h2g_balance_pick(&b, 6), 0); /* down, but the only one */
    h2g_balance_clear(&b);
    ck_assert_int_eq(h2g_balance_init(&b, 0), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 5), 0);
    h2g_balance_fail(&b, 3, 5, 100); /* out of range: ignored */
    h2g_balance_ok(&b, 3);
    h2g_balance_clear(&b);
}
END_TEST

START_TEST(skip_down)
{
    struct h2g_balance b;
    ck_assert_int_eq(h2g_balance_init(&b, 3), 0);
    h2g_balance_fail(&b, 1, 1000, 500);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1100), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1100), 2);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1100), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1100), 2);
    h2g_balance_clear(&b);
}
END_TEST

START_TEST(all_down_soonest)
{
    struct h2g_balance b;
    ck_assert_int_eq(h2g_balance_init(&b, 3), 0);
    h2g_balance_fail(&b, 0, 1000, 300); /* until 1300 */
    h2g_balance_fail(&b, 1, 1000, 100); /* until 1100: soonest */
    h2g_balance_fail(&b, 2, 1000, 200); /* until 1200 */
    ck_assert_uint_eq(h2g_balance_pick(&b, 1050), 1);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1050), 1);
    h2g_balance_clear(&b);
}
END_TEST

START_TEST(recovery)
{
    struct h2g_balance b;
    ck_assert_int_eq(h2g_balance_init(&b, 2), 0);
    h2g_balance_fail(&b, 0, 1000, 500);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1499), 1);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1499), 1);
    /* retry_after served: back in rotation */
    ck_assert_uint_eq(h2g_balance_pick(&b, 1500), 0);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1500), 1);
    ck_assert_uint_eq(h2g_balance_pick(&b, 1500), 0);
    /* an answer clears the penalty early */
    h2g_balance_fail(&b, 1, 2000, 10000);
    ck_assert_uint_eq(h2g_balance_pick(&b, 2001), 0);
    h2g_balance_ok(&b, 1);
    ck_assert_uint_eq(h2g_balance_pick(&b, 2001), 1);
    /* 0 means the default penalty */
    h2g_balance_fail(&b, 0, 3000, 0);
    ck_assert_uint_eq(b.down_until[0], 3000 + H2G_BALANCE_RETRY_AFTER_MS);
    h2g_balance_clear(&b);
}
END_TEST

Suite *balance_suite(void)
{
    Suite *s = suite_create("balance");
    TCase *tc = tcase_create("pick");
    tcase_add_test(tc, round_robin);
    tcase_add_test(tc, over_caller_storage);
    tcase_add_test(tc, single_and_empty);
    tcase_add_test(tc, skip_down);
    tcase_add_test(tc, all_down_soonest);
    tcase_add_test(tc, recovery);
    suite_add_tcase(s, tc);
    return s;
}
