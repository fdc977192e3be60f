/* Tests for src/runtime/slab.c: objects of one size packed in chunks,
 * given back whole. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "runtime/recycle.h"
#include "runtime/slab.h"
#include "suites.h"

#define N 1000
#define SIZE 440

START_TEST(pack_and_reuse)
{
    struct h2g_slab s = {0};
    static unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = h2g_slab_calloc(&s, SIZE);
        ck_assert_ptr_nonnull(p[i]);
        for (int j = 0; j < SIZE; j++)
            ck_assert_uint_eq(p[i][j], 0);
        memset(p[i], 0xa5, SIZE); /* dirty: the next user must get zeroes */
    }
    ck_assert_uint_eq(s.live, N);
#if H2G_RECYCLE && !defined(H2G_FAILALLOC)
    /* side by side: N objects of 448 bytes in ceil(N / 146) chunks */
    size_t chunks = 0;
    for (int i = 0; i < N; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = ((uintptr_t)p[j] >> 16) == ((uintptr_t)p[i] >> 16);
        chunks += !seen;
    }
    ck_assert_uint_le(chunks, (N + 145) / 146);
    /* a freed object is the next one handed out, zeroed */
    unsigned char *q = p[500];
    h2g_slab_free(&s, q);
    p[500] = h2g_slab_calloc(&s, SIZE);
    ck_assert_ptr_eq(p[500], q);
    ck_assert_uint_eq(p[500][0], 0);
#endif
    for (int i = 0; i < N; i += 2)
        h2g_slab_free(&s, p[i]);
    for (int i = 1; i < N; i += 2)
        h2g_slab_free(&s, p[i]);
    ck_assert_uint_eq(s.live, 0);
#if H2G_RECYCLE && !defined(H2G_FAILALLOC)
    ck_assert_ptr_null(s.partial); /* every chunk empty: one kept, the others freed */
    ck_assert_ptr_nonnull(s.spare);
#endif
    /* the spare serves again */
    unsigned char *r = h2g_slab_calloc(&s, SIZE);
    ck_assert_ptr_nonnull(r);
    h2g_slab_free(&s, r);
    h2g_slab_release(&s);
}
END_TEST

Suite *slab_suite(void)
{
    Suite *s = suite_create("slab");
    TCase *tc = tcase_create("runtime");
    tcase_add_test(tc, pack_and_reuse);
    suite_add_tcase(s, tc);
    return s;
}
