/* Tests for src/core/h2_to_h2.c: the header list sent to HTTP/2 upstreams. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/h2_to_h2.h"
#include "suites.h"

#define FLD(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static const struct h2g_forward_info fwd4 = {"192.0.2.7", false, "https"};
static const struct h2g_forward_info fwd6 = {"2001:db8::1", true, "http"};

/* The list as "name: value\n" lines, to compare byte for byte. */
static void expect_list(const struct h2g_request_head *r, const struct h2g_forward_info *fwd, const char *want)
{
    struct h2g_h2_request out = {0};
    const char *err = h2_to_h2_request(r, fwd, &out);
    ck_assert_msg(err == NULL, "unexpected error: %s", err ? err : "");
    char got[2048];
    size_t len = 0;
    for (size_t i = 0; i < out.n; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%.*s: %.*s\n", (int)out.nva[i].namelen,
                                (const char *)out.nva[i].name, (int)out.nva[i].valuelen,
                                (const char *)out.nva[i].value);
    ck_assert_str_eq(got, want);
    h2g_h2_request_clear(&out);
}

START_TEST(h2_client)
{
    const struct h2g_field f[] = {FLD("accept", "*/*"),          FLD("te", "trailers"),
                                  FLD("content-type", "application/grpc"), FLD("x-forwarded-for", "6.6.6.6"),
                                  FLD("cookie", "a=1"),           FLD("cookie", "b=2"),
                                  FLD("content-length", "5")};
    struct h2g_request_head r = {
        .method = "POST", .method_len = 4, .scheme = "https", .scheme_len = 5,
        .authority = "example.com", .authority_len = 11, .path = "/svc/M", .path_len = 6,
        .fields = f, .n_fields = 7,
    };
    expect_list(&r, &fwd4,
                ":method: POST\n:scheme: https\n:authority: example.com\n:path: /svc/M\n"
                "accept: */*\nte: trailers\ncontent-type: application/grpc\ncookie: a=1\ncookie: b=2\n"
                "content-length: 5\n"
                "x-forwarded-for: 192.0.2.7\nx-forwarded-proto: https\n"
                "forwarded: for=192.0.2.7;proto=https;host=example.com\n");
}
END_TEST

START_TEST(h1_client)
{
    /* An HTTP/1.1 client: no :scheme, no :authority, mixed-case names,
     * connection-specific fields. */
    const struct h2g_field f[] = {FLD("Host", "a.example:8080"), FLD("Connection", "keep-alive, X-Hop"),
                                  FLD("X-Hop", "1"),             FLD("Keep-Alive", "timeout=5"),
                                  FLD("TE", "gzip"),             FLD("Upgrade", "h2c"),
                                  FLD("Transfer-Encoding", "chunked"), FLD("User-Agent", "curl/8")};
    struct h2g_request_head r = {
        .method = "GET", .method_len = 3, .path = "/x", .path_len = 2, .fields = f, .n_fields = 8,
    };
    expect_list(&r, &fwd6,
                ":method: GET\n:scheme: http\n:authority: a.example:8080\n:path: /x\n"
                "user-agent: curl/8\n"
                "x-forwarded-for: 2001:db8::1\nx-forwarded-proto: http\n"
                "forwarded: for=\"[2001:db8::1]\";proto=http;host=\"a.example:8080\"\n");
}
END_TEST

START_TEST(refused)
{
    struct h2g_h2_request out = {0};
    struct h2g_request_head r = {.method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    ck_assert_ptr_nonnull(h2_to_h2_request(&r, &fwd4, &out)); /* no authority */
    ck_assert_uint_eq(out.n, 0);
    r.authority = "h";
    r.authority_len = 1;
    r.protocol = "";
    ck_assert_ptr_nonnull(h2_to_h2_request(&r, &fwd4, &out));
    r.protocol = NULL;
    r.path = NULL;
    ck_assert_ptr_nonnull(h2_to_h2_request(&r, &fwd4, &out));
    r.path = "/";
    ck_assert_ptr_null(h2_to_h2_request(&r, &fwd4, &out));
    ck_assert_uint_eq(out.n, 7);
    h2g_h2_request_clear(&out);
}
END_TEST

START_TEST(extended_connect)
{
    /* An HTTP/2 client's extended CONNECT, and an HTTP/1.1 client's
     * Upgrade as h1_session gives it (GET with :protocol). */
    const struct h2g_field f[] = {FLD("sec-websocket-version", "13"), FLD("sec-websocket-protocol", "chat")};
    struct h2g_request_head r = {
        .method = "CONNECT", .method_len = 7, .scheme = "http", .scheme_len = 4,
        .authority = "a.test", .authority_len = 6, .path = "/ws", .path_len = 3,
        .protocol = "websocket", .protocol_len = 9, .fields = f, .n_fields = 2,
    };
    const char *want = ":method: CONNECT\n:scheme: http\n:authority: a.test\n:path: /ws\n:protocol: websocket\n"
                       "sec-websocket-version: 13\nsec-websocket-protocol: chat\n"
                       "x-forwarded-for: 192.0.2.7\nx-forwarded-proto: https\n"
                       "forwarded: for=192.0.2.7;proto=https;host=a.test\n";
    expect_list(&r, &fwd4, want);
    const struct h2g_field h1[] = {FLD("Host", "a.test"), FLD("Connection", "Upgrade"), FLD("Upgrade", "websocket"),
                                   FLD("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                   FLD("Sec-WebSocket-Version", "13"), FLD("Sec-WebSocket-Protocol", "chat")};
    struct h2g_request_head r1 = {
        .method = "GET", .method_len = 3, .path = "/ws", .path_len = 3,
        .protocol = "websocket", .protocol_len = 9, .fields = h1, .n_fields = 6,
    };
    expect_list(&r1, &fwd4,
                ":method: CONNECT\n:scheme: https\n:authority: a.test\n:path: /ws\n:protocol: websocket\n"
                "sec-websocket-version: 13\nsec-websocket-protocol: chat\n"
                "x-forwarded-for: 192.0.2.7\nx-forwarded-proto: https\n"
                "forwarded: for=192.0.2.7;proto=https;host=a.test\n");
}
END_TEST

Suite *h2_to_h2_suite(void)
{
    Suite *s = suite_create("h2_to_h2");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, h2_client);
    tcase_add_test(tc, h1_client);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, extended_connect);
    suite_add_tcase(s, tc);
    return s;
}
