/* Tests for src/core/h2_to_h1.c: byte-exact HTTP/1.1 request heads. */
#include <check.h>
#include <string.h>

#include "core/errors.h"
#include "core/h2_to_h1.h"
#include "suites.h"

#define FLD(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static struct h2g_request_head req_get(const struct h2g_field *f, size_t n)
{
    struct h2g_request_head r = {
        .method = "GET", .method_len = 3,
        .scheme = "https", .scheme_len = 5,
        .authority = "example.com", .authority_len = 11,
        .path = "/index.html?q=1", .path_len = 15,
        .fields = f, .n_fields = n,
    };
    return r;
}

static const struct h2g_forward_info fwd4 = {"192.0.2.7", false, "https"};
static const struct h2g_forward_info fwd6 = {"2001:db8::1", true, "http"};

/* Runs the conversion, asserts success and a byte-exact result. */
static void expect_head(const struct h2g_request_head *r, const struct h2g_forward_info *fwd,
                        enum h2g_body_framing fr, uint64_t cl, const char *want)
{
    struct h2g_buf out = {0};
    const char *err = h2_to_h1_request(r, fwd, fr, cl, &out);
    ck_assert_msg(err == NULL, "unexpected error: %s", err ? err : "");
    h2g_buf_append(&out, "", 1);
    ck_assert_str_eq(out.data, want);
    h2g_buf_clear(&out);
}

static void expect_refused(const struct h2g_request_head *r)
{
    struct h2g_buf out = {0};
    h2g_buf_puts(&out, "keep");
    const char *err = h2_to_h1_request(r, &fwd4, H2G_BODY_NONE, 0, &out);
    ck_assert_ptr_nonnull(err);
    ck_assert_uint_eq(out.len, 4); /* nothing appended */
    h2g_buf_clear(&out);
}

START_TEST(simple_get)
{
    const struct h2g_field f[] = {FLD("accept", "*/*"), FLD("user-agent", "curl/8")};
    struct h2g_request_head r = req_get(f, 2);
    expect_head(&r, &fwd4, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\n"
                "Host: example.com\r\n"
                "accept: */*\r\n"
                "user-agent: curl/8\r\n"
                "X-Forwarded-For: 192.0.2.7\r\n"
                "X-Forwarded-Proto: https\r\n"
                "Forwarded: for=192.0.2.7;proto=https;host=example.com\r\n"
                "\r\n");
}
END_TEST

START_TEST(cookies_joined)
{
    const struct h2g_field f[] = {FLD("cookie", "a=1"), FLD("accept", "*/*"), FLD("cookie", "b=2"),
                                  FLD("cookie", "c=3")};
    struct h2g_request_head r = req_get(f, 4);
    expect_head(&r, NULL, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\n"
                "Host: example.com\r\n"
                "cookie: a=1; b=2; c=3\r\n"
                "accept: */*\r\n"
                "\r\n");
}
END_TEST

START_TEST(te_trailers_kept_other_dropped)
{
    const struct h2g_field f1[] = {FLD("te", "trailers")};
    struct h2g_request_head r = req_get(f1, 1);
    expect_head(&r, NULL, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nte: trailers\r\n\r\n");
    const struct h2g_field f2[] = {FLD("te", "gzip"), FLD("te", "trailers, deflate")};
    r = req_get(f2, 2);
    expect_head(&r, NULL, H2G_BODY_NONE, 0, "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
}
END_TEST

START_TEST(connection_specific_dropped)
{
    /* nghttp2 refuses these on h2, but an HTTP/1.1 client's request goes
     * through the same function. */
    const struct h2g_field f[] = {
        FLD("connection", "keep-alive, X-Private"), FLD("keep-alive", "timeout=5"),
        FLD("proxy-connection", "keep-alive"), FLD("transfer-encoding", "chunked"),
        FLD("upgrade", "websocket"), FLD("x-private", "secret"), FLD("http2-settings", "AAA"),
        FLD("x-public", "ok"), FLD("host", "other.example"), FLD("content-length", "99"),
        FLD("x-forwarded-for", "6.6.6.6"), FLD("x-forwarded-proto", "ftp"), FLD("forwarded", "for=evil"),
    };
    struct h2g_request_head r = req_get(f, sizeof(f) / sizeof(f[0]));
    r.method = "POST";
    r.method_len = 4;
    expect_head(&r, &fwd4, H2G_BODY_LENGTH, 12,
                "POST /index.html?q=1 HTTP/1.1\r\n"
                "Host: example.com\r\n"
                "x-public: ok\r\n"
                "X-Forwarded-For: 192.0.2.7\r\n"
                "X-Forwarded-Proto: https\r\n"
                "Forwarded: for=192.0.2.7;proto=https;host=example.com\r\n"
                "Content-Length: 12\r\n"
                "\r\n");
}
END_TEST

START_TEST(forwarded_ipv6_and_port)
{
    struct h2g_request_head r = req_get(NULL, 0);
    r.authority = "example.com:8443";
    r.authority_len = 16;
    expect_head(&r, &fwd6, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\n"
                "Host: example.com:8443\r\n"
                "X-Forwarded-For: 2001:db8::1\r\n"
                "X-Forwarded-Proto: http\r\n"
                "Forwarded: for=\"[2001:db8::1]\";proto=http;host=\"example.com:8443\"\r\n"
                "\r\n");
    r.authority = "[::1]:443";
    r.authority_len = 9;
    expect_head(&r, &fwd4, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\n"
                "Host: [::1]:443\r\n"
                "X-Forwarded-For: 192.0.2.7\r\n"
                "X-Forwarded-Proto: https\r\n"
                "Forwarded: for=192.0.2.7;proto=https;host=\"[::1]:443\"\r\n"
                "\r\n");
}
END_TEST

START_TEST(framing)
{
    struct h2g_request_head r = req_get(NULL, 0);
    r.method = "PUT";
    r.method_len = 3;
    expect_head(&r, NULL, H2G_BODY_CHUNKED, 0,
                "PUT /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect_head(&r, NULL, H2G_BODY_LENGTH, 0,
                "PUT /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n");
    expect_head(&r, NULL, H2G_BODY_LENGTH, 18446744073709551615ULL,
                "PUT /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 18446744073709551615\r\n\r\n");
}
END_TEST

START_TEST(host_fallback)
{
    const struct h2g_field f[] = {FLD("host", "legacy.example"), FLD("accept", "a")};
    struct h2g_request_head r = req_get(f, 2);
    r.authority = NULL;
    r.authority_len = 0;
    expect_head(&r, &fwd4, H2G_BODY_NONE, 0,
                "GET /index.html?q=1 HTTP/1.1\r\n"
                "Host: legacy.example\r\n"
                "accept: a\r\n"
                "X-Forwarded-For: 192.0.2.7\r\n"
                "X-Forwarded-Proto: https\r\n"
                "Forwarded: for=192.0.2.7;proto=https;host=legacy.example\r\n"
                "\r\n");
    /* neither :authority nor Host */
    r = req_get(f + 1, 1);
    r.authority = NULL;
    expect_refused(&r);
    /* two Host fields and no :authority: ambiguous */
    const struct h2g_field two[] = {FLD("host", "a.example"), FLD("host", "b.example")};
    r = req_get(two, 2);
    r.authority = NULL;
    expect_refused(&r);
}
END_TEST

START_TEST(options_star)
{
    struct h2g_request_head r = req_get(NULL, 0);
    r.method = "OPTIONS";
    r.method_len = 7;
    r.path = "*";
    r.path_len = 1;
    expect_head(&r, NULL, H2G_BODY_NONE, 0, "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n");
}
END_TEST

START_TEST(connect_forms)
{
    struct h2g_request_head r = req_get(NULL, 0);
    r.method = "CONNECT";
    r.method_len = 7;
    r.path = NULL;
    r.path_len = 0;
    r.authority = "db.example:5432";
    r.authority_len = 15;
    expect_head(&r, NULL, H2G_BODY_NONE, 0, "CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n");

    /* RFC 8441 extended CONNECT -> Upgrade request */
    const struct h2g_field f[] = {FLD("sec-websocket-version", "13"), FLD("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")};
    r = req_get(f, 2);
    r.method = "CONNECT";
    r.method_len = 7;
    r.protocol = "websocket";
    r.protocol_len = 9;
    r.path = "/chat";
    r.path_len = 5;
    expect_head(&r, NULL, H2G_BODY_NONE, 0,
                "GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
}
END_TEST

START_TEST(refuses_unsafe_input)
{
    const struct h2g_field cr[] = {FLD("x-a", "b\r\nInjected: 1")};
    struct h2g_request_head r = req_get(cr, 1);
    expect_refused(&r);
    const struct h2g_field lf[] = {FLD("x-a", "b\nc")};
    r = req_get(lf, 1);
    expect_refused(&r);
    const struct h2g_field nul[] = {{"x-a", 3, "b\0c", 3}};
    r = req_get(nul, 1);
    expect_refused(&r);
    const struct h2g_field badname[] = {FLD("x a", "b")};
    r = req_get(badname, 1);
    expect_refused(&r);
    const struct h2g_field crname[] = {FLD("x\r\na", "b")};
    r = req_get(crname, 1);
    expect_refused(&r);
    const struct h2g_field empty[] = {FLD("", "b")};
    r = req_get(empty, 1);
    expect_refused(&r);

    r = req_get(NULL, 0);
    r.method = NULL;
    expect_refused(&r);
    r = req_get(NULL, 0);
    r.path = NULL;
    expect_refused(&r);
    r = req_get(NULL, 0);
    r.path = "/a b";
    r.path_len = 4;
    expect_refused(&r);
    r = req_get(NULL, 0);
    r.path = "/a\r\n";
    r.path_len = 4;
    expect_refused(&r);
    r = req_get(NULL, 0);
    r.authority = "a\r\nb";
    r.authority_len = 4;
    expect_refused(&r);
    r = req_get(NULL, 0);
    r.method = "G T";
    expect_refused(&r);
}
END_TEST

START_TEST(trailers)
{
    const struct h2g_field f[] = {FLD("x-checksum", "abc"), FLD("content-length", "5"),
                                  FLD("transfer-encoding", "chunked"), FLD("host", "x"),
                                  FLD("grpc-status", "0"), FLD("x-bad", "a\r\nb")};
    struct h2g_buf out = {0};
    ck_assert_int_eq(h2_to_h1_trailers(f, 6, &out), 0);
    h2g_buf_append(&out, "", 1);
    ck_assert_str_eq(out.data, "0\r\nx-checksum: abc\r\ngrpc-status: 0\r\n\r\n");
    h2g_buf_reset(&out);
    ck_assert_int_eq(h2_to_h1_trailers(NULL, 0, &out), 0);
    h2g_buf_append(&out, "", 1);
    ck_assert_str_eq(out.data, "0\r\n\r\n");
    h2g_buf_clear(&out);
}
END_TEST

Suite *h2_to_h1_suite(void)
{
    Suite *s = suite_create("h2_to_h1");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, simple_get);
    tcase_add_test(tc, cookies_joined);
    tcase_add_test(tc, te_trailers_kept_other_dropped);
    tcase_add_test(tc, connection_specific_dropped);
    tcase_add_test(tc, forwarded_ipv6_and_port);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, host_fallback);
    tcase_add_test(tc, options_star);
    tcase_add_test(tc, connect_forms);
    tcase_add_test(tc, refuses_unsafe_input);
    tcase_add_test(tc, trailers);
    suite_add_tcase(s, tc);
    return s;
}
