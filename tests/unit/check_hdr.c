/* Tests for src/core/hdr.c: the special-name table, methods, Connection
 * lists, fields kept as offsets into a store, content-length values. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hdr.h"
#include "suites.h"

#define LOOKUP(s) h2g_hdr_lookup(s, sizeof(s) - 1)

START_TEST(lookup_tokens)
{
    ck_assert_int_eq(LOOKUP("connection"), H2G_HDR_CONNECTION);
    ck_assert_int_eq(LOOKUP("keep-alive"), H2G_HDR_KEEP_ALIVE);
    ck_assert_int_eq(LOOKUP("proxy-connection"), H2G_HDR_PROXY_CONNECTION);
    ck_assert_int_eq(LOOKUP("transfer-encoding"), H2G_HDR_TRANSFER_ENCODING);
    ck_assert_int_eq(LOOKUP("upgrade"), H2G_HDR_UPGRADE);
    ck_assert_int_eq(LOOKUP("te"), H2G_HDR_TE);
    ck_assert_int_eq(LOOKUP("host"), H2G_HDR_HOST);
    ck_assert_int_eq(LOOKUP("content-length"), H2G_HDR_CONTENT_LENGTH);
    ck_assert_int_eq(LOOKUP("cookie"), H2G_HDR_COOKIE);
    ck_assert_int_eq(LOOKUP("x-forwarded-for"), H2G_HDR_X_FORWARDED_FOR);
    ck_assert_int_eq(LOOKUP("x-forwarded-proto"), H2G_HDR_X_FORWARDED_PROTO);
    ck_assert_int_eq(LOOKUP("forwarded"), H2G_HDR_FORWARDED);
    ck_assert_int_eq(LOOKUP("trailer"), H2G_HDR_TRAILER);
    ck_assert_int_eq(LOOKUP("expect"), H2G_HDR_EXPECT);
    ck_assert_int_eq(LOOKUP("http2-settings"), H2G_HDR_HTTP2_SETTINGS);
    ck_assert_int_eq(LOOKUP("sec-websocket-key"), H2G_HDR_SEC_WEBSOCKET_KEY);
    ck_assert_int_eq(LOOKUP("sec-websocket-accept"), H2G_HDR_SEC_WEBSOCKET_ACCEPT);
    ck_assert_int_eq(LOOKUP("sec-websocket-version"), H2G_HDR_SEC_WEBSOCKET_VERSION);
    ck_assert_int_eq(LOOKUP("sec-websocket-protocol"), H2G_HDR_SEC_WEBSOCKET_PROTOCOL);
    ck_assert_int_eq(LOOKUP("sec-websocket-extensions"), H2G_HDR_SEC_WEBSOCKET_EXTENSIONS);
    ck_assert_int_eq(LOOKUP("alt-svc"), H2G_HDR_ALT_SVC);
    /* case-insensitive, exact length */
    ck_assert_int_eq(LOOKUP("Content-Length"), H2G_HDR_CONTENT_LENGTH);
    ck_assert_int_eq(LOOKUP("tE"), H2G_HDR_TE);
    ck_assert_int_eq(LOOKUP("t"), H2G_HDR_OTHER);
    ck_assert_int_eq(LOOKUP("tee"), H2G_HDR_OTHER);
    ck_assert_int_eq(LOOKUP("hosts"), H2G_HDR_OTHER);
    ck_assert_int_eq(LOOKUP("x-custom"), H2G_HDR_OTHER);
    ck_assert_int_eq(LOOKUP(""), H2G_HDR_OTHER);
    /* length-bounded: no reading past len */
    ck_assert_int_eq(h2g_hdr_lookup("hostname", 4), H2G_HDR_HOST);
    /* pseudo-header fields, without flags */
    ck_assert_int_eq(LOOKUP(":method"), H2G_HDR_PSEUDO_METHOD);
    ck_assert_int_eq(LOOKUP(":scheme"), H2G_HDR_PSEUDO_SCHEME);
    ck_assert_int_eq(LOOKUP(":authority"), H2G_HDR_PSEUDO_AUTHORITY);
    ck_assert_int_eq(LOOKUP(":path"), H2G_HDR_PSEUDO_PATH);
    ck_assert_int_eq(LOOKUP(":protocol"), H2G_HDR_PSEUDO_PROTOCOL);
    ck_assert_int_eq(LOOKUP(":status"), H2G_HDR_PSEUDO_STATUS);
    ck_assert_int_eq(LOOKUP(":other"), H2G_HDR_OTHER);
    ck_assert_int_eq(LOOKUP("method"), H2G_HDR_OTHER);
    ck_assert_uint_eq(h2g_hdr_flags(H2G_HDR_PSEUDO_PATH), 0);
}
END_TEST

/* The request pseudo-headers by their fast path agree with the table;
 * :status (a response's) and anything else are not request ones. */
START_TEST(pseudo_tokens)
{
    static const char *names[] = {":method", ":scheme", ":authority", ":path", ":protocol"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_int_eq(h2g_hdr_pseudo(names[i], strlen(names[i])), h2g_hdr_lookup(names[i], strlen(names[i])));
    ck_assert_int_eq(h2g_hdr_pseudo(":status", 7), H2G_HDR_OTHER);
    ck_assert_int_eq(h2g_hdr_pseudo(":Path", 5), H2G_HDR_OTHER);
    ck_assert_int_eq(h2g_hdr_pseudo(":pathx", 5), H2G_HDR_PSEUDO_PATH); /* length-bounded */
    ck_assert_int_eq(h2g_hdr_pseudo(":pat", 4), H2G_HDR_OTHER);
    ck_assert_int_eq(h2g_hdr_pseudo(":methods", 8), H2G_HDR_OTHER);
    ck_assert_int_eq(h2g_hdr_pseudo("", 0), H2G_HDR_OTHER);
}
END_TEST

/* Every token has its name back, and finds itself by it. */
START_TEST(names_by_token)
{
    for (int t = H2G_HDR_OTHER + 1; t < H2G_HDR_N_TOKENS; t++) {
        ck_assert_ptr_nonnull(h2g_hdr_name[t]);
        ck_assert_uint_eq(h2g_hdr_name_len[t], strlen(h2g_hdr_name[t]));
        ck_assert_int_eq(h2g_hdr_lookup(h2g_hdr_name[t], h2g_hdr_name_len[t]), t);
        ck_assert(h2g_hdr_is(h2g_hdr_name[t], h2g_hdr_name_len[t], (enum h2g_hdr_token)t));
    }
    ck_assert(h2g_hdr_is("host", 4, H2G_HDR_HOST));
    ck_assert(h2g_hdr_is("Content-Length", 14, H2G_HDR_CONTENT_LENGTH));
    ck_assert(h2g_hdr_is("hostname", 4, H2G_HDR_HOST));
    ck_assert(!h2g_hdr_is("hosts", 5, H2G_HDR_HOST));
    ck_assert(!h2g_hdr_is("hos", 3, H2G_HDR_HOST));
    ck_assert(!h2g_hdr_is("expect", 6, H2G_HDR_HOST));
    ck_assert(!h2g_hdr_is("", 0, H2G_HDR_OTHER));
    ck_assert(!h2g_hdr_is("x-custom", 8, H2G_HDR_OTHER));
}
END_TEST

START_TEST(methods)
{
    static const struct {
        const char *m;
        enum h2g_method want;
    } cases[] = {
        {"GET", H2G_METHOD_GET}, {"HEAD", H2G_METHOD_HEAD}, {"POST", H2G_METHOD_POST},
        {"PUT", H2G_METHOD_PUT}, {"DELETE", H2G_METHOD_DELETE}, {"CONNECT", H2G_METHOD_CONNECT},
        {"OPTIONS", H2G_METHOD_OPTIONS}, {"TRACE", H2G_METHOD_TRACE}, {"PATCH", H2G_METHOD_PATCH},
        /* case-sensitive (RFC 9110 9.1), exact length */
        {"get", H2G_METHOD_OTHER}, {"Connect", H2G_METHOD_OTHER}, {"GETS", H2G_METHOD_OTHER},
        {"GE", H2G_METHOD_OTHER}, {"PROPFIND", H2G_METHOD_OTHER}, {"", H2G_METHOD_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(h2g_method_lookup(cases[i].m, strlen(cases[i].m)) == cases[i].want, "%s", cases[i].m);
    ck_assert_int_eq(h2g_method_lookup("HEADER", 4), H2G_METHOD_HEAD);
    ck_assert_int_eq(h2g_method_lookup(NULL, 0), H2G_METHOD_OTHER);
}
END_TEST

START_TEST(flags)
{
    const enum h2g_hdr_token hop[] = {H2G_HDR_CONNECTION, H2G_HDR_KEEP_ALIVE, H2G_HDR_PROXY_CONNECTION,
                                      H2G_HDR_TRANSFER_ENCODING, H2G_HDR_UPGRADE, H2G_HDR_TE,
                                      H2G_HDR_HTTP2_SETTINGS};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        ck_assert(h2g_hdr_flags(hop[i]) & H2G_HDRF_HOP);
    const enum h2g_hdr_token end2end[] = {H2G_HDR_HOST, H2G_HDR_CONTENT_LENGTH, H2G_HDR_COOKIE, H2G_HDR_EXPECT,
                                          H2G_HDR_SEC_WEBSOCKET_KEY, H2G_HDR_ALT_SVC, H2G_HDR_OTHER};
    for (size_t i = 0; i < sizeof(end2end) / sizeof(end2end[0]); i++)
        ck_assert(!(h2g_hdr_flags(end2end[i]) & H2G_HDRF_HOP));
    ck_assert(h2g_hdr_flags(H2G_HDR_X_FORWARDED_FOR) & H2G_HDRF_FORWARDING);
    ck_assert(h2g_hdr_flags(H2G_HDR_X_FORWARDED_PROTO) & H2G_HDRF_FORWARDING);
    ck_assert(h2g_hdr_flags(H2G_HDR_FORWARDED) & H2G_HDRF_FORWARDING);
    ck_assert(!(h2g_hdr_flags(H2G_HDR_HOST) & H2G_HDRF_FORWARDING));
    ck_assert(h2g_hdr_flags(H2G_HDR_CONTENT_LENGTH) & H2G_HDRF_NO_TRAILER);
    ck_assert(h2g_hdr_flags(H2G_HDR_HOST) & H2G_HDRF_NO_TRAILER);
    ck_assert(h2g_hdr_flags(H2G_HDR_TRAILER) & H2G_HDRF_NO_TRAILER);
    ck_assert(h2g_hdr_flags(H2G_HDR_CONTENT_TYPE) & H2G_HDRF_NO_TRAILER);
    ck_assert(h2g_hdr_flags(H2G_HDR_AUTHORIZATION) & H2G_HDRF_NO_TRAILER);
    ck_assert(!(h2g_hdr_flags(H2G_HDR_COOKIE) & H2G_HDRF_NO_TRAILER));
    ck_assert_uint_eq(h2g_hdr_flags(H2G_HDR_OTHER), 0);
}
END_TEST

#define LISTS(v, n) h2g_hdr_connection_lists(v, sizeof(v) - 1, n, sizeof(n) - 1)

START_TEST(connection_lists)
{
    ck_assert(LISTS("close", "close"));
    ck_assert(LISTS("Keep-Alive, Upgrade", "upgrade"));
    ck_assert(LISTS("keep-alive,x-a", "x-a"));
    ck_assert(LISTS(" ,, X-A \t, ", "x-a"));
    ck_assert(LISTS("x-a\t", "x-a"));
    ck_assert(!LISTS("x-ab", "x-a"));
    ck_assert(!LISTS("x-a-b", "x-a"));
    ck_assert(!LISTS("xx-a", "x-a"));
    ck_assert(!LISTS("", "x-a"));
    ck_assert(!LISTS(", ,", "x-a"));
    ck_assert(!LISTS("x-a", ""));
    /* bounded by value_len */
    ck_assert(!h2g_hdr_connection_lists("x-ab", 2, "x-a", 3));
    ck_assert(h2g_hdr_connection_lists("x-a,zzz", 3, "x-a", 3));
}
END_TEST

#define F(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}
#define HAS(ct, f, nm) h2g_conn_tokens_has(ct, f, sizeof(f) / sizeof(f[0]), nm, sizeof(nm) - 1)

START_TEST(connection_tokens)
{
    struct h2g_field f[] = {F("connection", "keep-alive, X-A"), F("x-a", "1"), F("Connection", " ,x-b\t"),
                            F("x-c", "2")};
    struct h2g_conn_tokens ct;
    h2g_conn_tokens_init(&ct, f, 4);
    ck_assert_uint_eq(ct.n, 3);
    ck_assert(!ct.overflow);
    ck_assert(HAS(&ct, f, "x-a"));
    ck_assert(HAS(&ct, f, "x-b"));
    ck_assert(HAS(&ct, f, "keep-alive"));
    ck_assert(!HAS(&ct, f, "x-c"));
    ck_assert(!HAS(&ct, f, "x"));
    /* No Connection field: nothing is listed. */
    h2g_conn_tokens_init(&ct, f + 1, 1);
    ck_assert_uint_eq(ct.n, 0);
    /* More tokens than fit: the answer comes from parsing instead. */
    struct h2g_field g[] = {F("connection", "a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15,a16,a17,x-z")};
    h2g_conn_tokens_init(&ct, g, 1);
    ck_assert(ct.overflow);
    ck_assert(HAS(&ct, g, "x-z"));
    ck_assert(HAS(&ct, g, "a1"));
    ck_assert(!HAS(&ct, g, "a18"));
}
END_TEST

START_TEST(name_and_value_checks)
{
    ck_assert(h2g_hdr_name_valid("x-a", 3));
    ck_assert(h2g_hdr_name_valid("!#$%&'*+-.^_`|~09AZaz", 21));
    ck_assert(!h2g_hdr_name_valid("", 0));
    ck_assert(!h2g_hdr_name_valid("x a", 3));
    ck_assert(!h2g_hdr_name_valid("x:a", 3));
    ck_assert(!h2g_hdr_name_valid("x\0a", 3));
    ck_assert(!h2g_hdr_name_valid("(x)", 3));
    ck_assert(!h2g_hdr_name_valid("\xc3\xa9", 2));
    ck_assert(h2g_hdr_value_safe("a b\tc\x80", 6));
    ck_assert(h2g_hdr_value_safe("", 0));
    ck_assert(!h2g_hdr_value_safe("a\rb", 3));
    ck_assert(!h2g_hdr_value_safe("a\nb", 3));
    ck_assert(!h2g_hdr_value_safe("a\0b", 3));
}
END_TEST

START_TEST(field_refs)
{
    struct h2g_buf store = {0};
    struct h2g_field_ref *refs = NULL;
    size_t n = 0, cap = 0;
    char name[16], value[16];
    /* past the first allocation of 16: the refs stay valid as the store
     * and the array grow */
    for (int i = 0; i < 40; i++) {
        int nl = snprintf(name, sizeof(name), "x-n%d", i), vl = snprintf(value, sizeof(value), "v%d", i * 7);
        ck_assert_int_eq(h2g_field_refs_grow(&refs, n, &cap), 0);
        ck_assert_uint_gt(cap, n);
        ck_assert_int_eq(h2g_field_ref_add(&store, &refs[n], name, (size_t)nl, value, (size_t)vl), 0);
        n++;
    }
    ck_assert_uint_eq(cap, 64);
    struct h2g_field view[40];
    h2g_field_refs_view(store.data, refs, n, view);
    ck_assert_uint_eq(view[0].name_len, 4);
    ck_assert(memcmp(view[0].name, "x-n0", 4) == 0);
    ck_assert(memcmp(view[39].name, "x-n39", 5) == 0 && view[39].name_len == 5);
    ck_assert(memcmp(view[39].value, "v273", 4) == 0 && view[39].value_len == 4);
    /* an empty value still has its place */
    ck_assert_int_eq(h2g_field_refs_grow(&refs, n, &cap), 0);
    ck_assert_int_eq(h2g_field_ref_add(&store, &refs[n], "e", 1, "", 0), 0);
    ck_assert_uint_eq(refs[n].value_len, 0);
    free(refs);
    h2g_buf_clear(&store);
}
END_TEST

START_TEST(content_length_values)
{
    uint64_t v = 1;
    ck_assert(h2g_parse_content_length("0", 1, &v) && v == 0);
    ck_assert(h2g_parse_content_length("67108864", 8, &v) && v == 67108864);
    /* the largest it takes stays 9 short of UINT64_MAX (no overflow check
     * per digit) */
    ck_assert(h2g_parse_content_length("18446744073709551609", 20, &v) && v == UINT64_MAX - 6);
    ck_assert(!h2g_parse_content_length("18446744073709551615", 20, &v));
    ck_assert(!h2g_parse_content_length("", 0, &v));
    ck_assert(!h2g_parse_content_length("12a", 3, &v));
    ck_assert(!h2g_parse_content_length("-1", 2, &v));
    ck_assert(!h2g_parse_content_length(" 1", 2, &v));
}
END_TEST

Suite *hdr_suite(void)
{
    Suite *s = suite_create("hdr");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, lookup_tokens);
    tcase_add_test(tc, pseudo_tokens);
    tcase_add_test(tc, flags);
    tcase_add_test(tc, names_by_token);
    tcase_add_test(tc, methods);
    tcase_add_test(tc, connection_lists);
    tcase_add_test(tc, connection_tokens);
    tcase_add_test(tc, name_and_value_checks);
    tcase_add_test(tc, field_refs);
    tcase_add_test(tc, content_length_values);
    suite_add_tcase(s, tc);
    return s;
}
