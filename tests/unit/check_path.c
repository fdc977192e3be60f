/* Tests for src/core/path.c: one table of spellings and what routing sees. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/path.h"
#include "suites.h"

/* want NULL: refused (400). */
static const struct {
    const char *in, *want;
} cases[] = {
    /* nothing to do: the fast path */
    {"/", "/"},
    {"/public/x", "/public/x"},
    {"/app.js", "/app.js"},
    {"/a..b/c.", "/a..b/c."},
    {"/a?b", "/a?b"},
    {"*", "*"},
    /* dot-segments, raw and encoded (the spellings) */
    {"/public/../admin", "/admin"},
    {"/public/%2e%2e/admin", "/admin"},
    {"/public/%2E%2E/admin", "/admin"},
    {"/public/.%2E/admin", "/admin"},
    {"/public/%2E./admin", "/admin"},
    {"/public/%2e/x", "/public/x"},
    {"/./a", "/a"},
    {"/a/./b", "/a/b"},
    {"/a/.", "/a/"},
    {"/.", "/"},
    {"/a/b/..", "/a/"},
    {"/a/b/../", "/a/"},
    {"/a/b/../c/./d/..", "/a/c/"},
    {"/..", "/"},
    {"/../../x", "/x"},
    {"/public/../../../admin", "/admin"},
    {"//a/../b", "//b"},
    {"//..", "/"},
    {"/.well-known/x", "/.well-known/x"},
    {"/a/...", "/a/..."},
    {"/a/.../b", "/a/.../b"},
    /* unreserved escapes decoded, any case; the rest upper-cased */
    {"/%7euser", "/~user"},
    {"/%7Euser", "/~user"},
    {"/%41%42", "/AB"},
    {"/%61%7A%30%2D%5F", "/az0-_"},
    {"/a%2Fb", "/a%2Fb"},
    {"/a%2fb", "/a%2Fb"},
    {"/a%2F..%2Fb", "/a%2F..%2Fb"},
    {"/a/%2e%2e%2fb", "/a/..%2Fb"},
    {"/%252e%252e/x", "/%252e%252e/x"},
    {"/%25%32%65/x", "/%252e/x"},
    {"/%c3%a9", "/%C3%A9"},
    {"/a%3fb", "/a%3Fb"},
    {"/a%23b", "/a%23b"},
    {"/%20", "/%20"},
    /* data, not separators */
    {"/public/..;/admin", "/public/..;/admin"},
    {"/public/..\\admin", "/public/..\\admin"},
    {"/public\\..\\admin", "/public\\..\\admin"},
    {"/public/%5c..%5cadmin", "/public/%5C..%5Cadmin"},
    /* the query is left alone */
    {"/a?x=../y&z=%2e", "/a?x=../y&z=%2e"},
    {"/a/..?q", "/?q"},
    {"/a/./b?%7e=/../", "/a/b?%7e=/../"},
    {"/a?%zz", "/a?%zz"},
    {"/%7e?", "/~?"},
    /* refused */
    {"", NULL},
    {"a", NULL},
    {"../a", NULL},
    {"**", NULL},
    {"http://host/p", NULL},
    {"/%00", NULL},
    {"/a%0a", NULL},
    {"/a%0D%0Ab", NULL},
    {"/%1f", NULL},
    {"/%7f", NULL},
    {"/%7F", NULL},
    {"/a\x01", NULL},
    {"/a\tb", NULL},
    {"/a\x7f", NULL},
    {"/a/./\x1f", NULL},
    {"/a?q\n", NULL},
    {"/a?q\x7f", NULL},
    {"/%zz", NULL},
    {"/%4", NULL},
    {"/%", NULL},
    {"/a%4?b", NULL},
    {"/a%g1", NULL},
    {"/a#frag", NULL},
    {"/a/../b#x", NULL},
    {"/a?q#x", NULL},
};

START_TEST(table)
{
    const char *in = cases[_i].in, *want = cases[_i].want;
    size_t len = strlen(in);
    /* Exactly len bytes, so the sanitizers see any read past the end. */
    char *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, in, len);
    size_t n = 12345;
    int rc = h2g_path_normalize(p, len, &n);
    if (want == NULL) {
        ck_assert_msg(rc == H2G_ERR_MALFORMED, "[%s] accepted", in);
        ck_assert_msg(memcmp(p, in, len) == 0, "[%s] refused but rewritten", in);
    } else {
        ck_assert_msg(rc == 0, "[%s] refused (%d)", in, rc);
        ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0, "[%s] -> [%.*s], want [%s]", in,
                      (int)n, p, want);
    }
    free(p);
}
END_TEST

/* Normalizing twice changes nothing: what the upstream gets routes the
 * same way if it comes through again. */
START_TEST(idempotent)
{
    const char *in = cases[_i].in;
    if (cases[_i].want == NULL)
        return;
    char a[128], b[128];
    size_t len = strlen(in), n1, n2;
    memcpy(a, in, len);
    ck_assert_int_eq(h2g_path_normalize(a, len, &n1), 0);
    memcpy(b, a, n1);
    ck_assert_int_eq(h2g_path_normalize(b, n1, &n2), 0);
    ck_assert_msg(n1 == n2 && memcmp(a, b, n1) == 0, "[%s] not stable", in);
}
END_TEST

/* Only len bytes are read: a '/' after them (not part of the value)
 * does not count. */
START_TEST(bounded)
{
    char p[] = "/a/..?x/..";
    size_t n;
    ck_assert_int_eq(h2g_path_normalize(p, 5, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(p[0] == '/');
    char q[] = "/a%2e%2";
    ck_assert_int_eq(h2g_path_normalize(q, 6, &n), H2G_ERR_MALFORMED);
    /* a raw NUL is a byte like any other to len, and refused */
    char z[] = {'/', 'a', '\0', 'b'};
    ck_assert_int_eq(h2g_path_normalize(z, sizeof(z), &n), H2G_ERR_MALFORMED);
    char zq[] = {'/', 'a', '?', '\0'};
    ck_assert_int_eq(h2g_path_normalize(zq, sizeof(zq), &n), H2G_ERR_MALFORMED);
}
END_TEST

static void expect_absolute(const char *t, const char *auth, const char *rest)
{
    const char *a = NULL, *r = NULL;
    size_t alen = 0, rlen = 0;
    ck_assert_msg(h2g_path_absolute_form(t, strlen(t), &a, &alen, &r, &rlen) == 0, "refused %s", t);
    ck_assert_msg(alen == strlen(auth) && memcmp(a, auth, alen) == 0, "%s: authority [%.*s]", t, (int)alen, a);
    ck_assert_msg(rlen == strlen(rest) && memcmp(r, rest, rlen) == 0, "%s: rest [%.*s]", t, (int)rlen, r);
}

static void expect_not_absolute(const char *t)
{
    const char *a, *r;
    size_t alen, rlen;
    ck_assert_msg(h2g_path_absolute_form(t, strlen(t), &a, &alen, &r, &rlen) == H2G_ERR_MALFORMED,
                  "accepted %s", t);
}

START_TEST(absolute_form)
{
    expect_absolute("http://host/p", "host", "/p");
    expect_absolute("HTTP://Host:8080/a/../b?q", "Host:8080", "/a/../b?q");
    expect_absolute("https://[::1]:443/x", "[::1]:443", "/x");
    expect_absolute("http://host", "host", "");
    expect_absolute("http://host?q=/x", "host", "?q=/x");
    expect_absolute("http://host#f", "host", "#f");
    expect_not_absolute("/p");
    expect_not_absolute("*");
    expect_not_absolute("");
    expect_not_absolute("http:/host/p");
    expect_not_absolute("http://");
    expect_not_absolute("http:///p");
    expect_not_absolute("http://user@host/p");
    expect_not_absolute("http://user:pw@host");
    expect_not_absolute("ftp://host/p");
    expect_not_absolute("httpx://host/p");
    expect_not_absolute("http:");
}
END_TEST

Suite *path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("normalize");
    size_t n = sizeof(cases) / sizeof(cases[0]);
    tcase_add_loop_test(tc, table, 0, (int)n);
    tcase_add_loop_test(tc, idempotent, 0, (int)n);
    tcase_add_test(tc, bounded);
    tcase_add_test(tc, absolute_form);
    suite_add_tcase(s, tc);
    return s;
}
