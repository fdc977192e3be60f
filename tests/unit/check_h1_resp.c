/* Tests for src/core/h1_resp.c: reason phrases, HTTP/1.1 response heads, the
 * last chunk. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "core/h1_resp.h"
#include "suites.h"

START_TEST(phrases)
{
    ck_assert_str_eq(h2g_reason_phrase(100), "Continue");
    ck_assert_str_eq(h2g_reason_phrase(101), "Switching Protocols");
    ck_assert_str_eq(h2g_reason_phrase(200), "OK");
    ck_assert_str_eq(h2g_reason_phrase(304), "Not Modified");
    ck_assert_str_eq(h2g_reason_phrase(400), "Bad Request");
    ck_assert_str_eq(h2g_reason_phrase(404), "Not Found");
    ck_assert_str_eq(h2g_reason_phrase(408), "Request Timeout");
    ck_assert_str_eq(h2g_reason_phrase(413), "Content Too Large");
    ck_assert_str_eq(h2g_reason_phrase(421), "Misdirected Request");
    ck_assert_str_eq(h2g_reason_phrase(429), "Too Many Requests");
    ck_assert_str_eq(h2g_reason_phrase(431), "Request Header Fields Too Large");
    ck_assert_str_eq(h2g_reason_phrase(502), "Bad Gateway");
    ck_assert_str_eq(h2g_reason_phrase(503), "Service Unavailable");
    ck_assert_str_eq(h2g_reason_phrase(504), "Gateway Timeout");
    /* Not registered: the class's name (RFC 9110 15). */
    ck_assert_str_eq(h2g_reason_phrase(199), "Informational");
    ck_assert_str_eq(h2g_reason_phrase(299), "Successful");
    ck_assert_str_eq(h2g_reason_phrase(306), "Redirection");
    ck_assert_str_eq(h2g_reason_phrase(499), "Client Error");
    ck_assert_str_eq(h2g_reason_phrase(599), "Server Error");
    /* No class: an empty phrase, never NULL. */
    ck_assert_str_eq(h2g_reason_phrase(600), "");
    ck_assert_str_eq(h2g_reason_phrase(99), "");
    ck_assert_str_eq(h2g_reason_phrase(-1), "");
    /* Every status of the five classes has a phrase a status line can
     * carry. */
    for (int st = 100; st < 600; st++) {
        const char *p = h2g_reason_phrase(st);
        ck_assert_msg(p[0] != '\0' && strpbrk(p, "\r\n") == NULL, "status %d", st);
    }
}
END_TEST

/* The head of r, NUL-terminated, checked against its measured length. */
static const char *head(const struct h2g_h1_resp *r)
{
    static char buf[512];
    size_t len = h2g_h1_resp_head(NULL, 0, r);
    ck_assert_uint_lt(len, sizeof(buf));
    ck_assert_uint_eq(h2g_h1_resp_head(buf, sizeof(buf) - 1, r), len);
    buf[len] = '\0';
    return buf;
}

START_TEST(local_answers)
{
    struct h2g_h1_resp r = {.status = 400, .content_length = 0, .connection = H2G_H1_CONN_CLOSE};
    ck_assert_str_eq(head(&r), "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    r.status = 408;
    ck_assert_str_eq(head(&r), "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    struct h2g_h1_resp cont = {.status = 100, .content_length = -1};
    ck_assert_str_eq(head(&cont), "HTTP/1.1 100 Continue\r\n\r\n");
    struct h2g_h1_resp up = {.status = 101, .content_length = -1, .connection = H2G_H1_CONN_UPGRADE, .upgrade = "h2c"};
    ck_assert_str_eq(head(&up), "HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: Upgrade\r\n\r\n");
    struct h2g_h1_resp est = {.status = 200, .reason = "Connection Established", .content_length = -1};
    ck_assert_str_eq(head(&est), "HTTP/1.1 200 Connection Established\r\n\r\n");
    struct h2g_h1_resp big = {.status = 200, .content_length = INT64_MAX};
    ck_assert_str_eq(head(&big), "HTTP/1.1 200 OK\r\ncontent-length: 9223372036854775807\r\n\r\n");
}
END_TEST

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}

START_TEST(relayed)
{
    nghttp2_nv fields[] = {NV("content-type", "text/plain"), NV("x-a", "")};
    nghttp2_nv extra[] = {NV("alt-svc", "h2=\":443\"")};
    struct h2g_h1_resp r = {.status = 404,
                            .fields = fields,
                            .n_fields = 2,
                            .extra = extra,
                            .n_extra = 1,
                            .content_length = -1,
                            .chunked = true,
                            .connection = H2G_H1_CONN_KEEP_ALIVE};
    ck_assert_str_eq(head(&r), "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\nx-a: \r\n"
                               "alt-svc: h2=\":443\"\r\ntransfer-encoding: chunked\r\n"
                               "connection: keep-alive\r\n\r\n");
    nghttp2_nv ws[] = {NV("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")};
    struct h2g_h1_resp sw = {.status = 101, .fields = ws, .n_fields = 1, .content_length = -1,
                             .connection = H2G_H1_CONN_UPGRADE, .upgrade = "websocket"};
    ck_assert_str_eq(head(&sw), "HTTP/1.1 101 Switching Protocols\r\n"
                                "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                "upgrade: websocket\r\nconnection: Upgrade\r\n\r\n");
}
END_TEST

START_TEST(buffer_bounds)
{
    struct h2g_h1_resp r = {.status = 503, .content_length = 0, .connection = H2G_H1_CONN_CLOSE};
    const char *want = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    size_t len = strlen(want);
    char buf[128];
    ck_assert_uint_eq(h2g_h1_resp_head(NULL, 0, &r), len);
    /* Too small: the length is still told, and nothing past cap is
     * touched. */
    memset(buf, 'x', sizeof(buf));
    ck_assert_uint_eq(h2g_h1_resp_head(buf, len - 1, &r), len);
    for (size_t i = len - 1; i < sizeof(buf); i++)
        ck_assert_int_eq(buf[i], 'x');
    /* Exactly the size. */
    ck_assert_uint_eq(h2g_h1_resp_head(buf, len, &r), len);
    ck_assert(memcmp(buf, want, len) == 0);
    ck_assert_int_eq(buf[len], 'x');
}
END_TEST

START_TEST(last_chunk)
{
    char buf[128];
    size_t len = h2g_h1_last_chunk(buf, sizeof(buf), NULL, 0);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(buf, "0\r\n\r\n", 5) == 0);
    nghttp2_nv t[] = {NV("grpc-status", "0"), NV("x-b", "2")};
    const char *want = "0\r\ngrpc-status: 0\r\nx-b: 2\r\n\r\n";
    len = h2g_h1_last_chunk(NULL, 0, t, 2);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_uint_eq(h2g_h1_last_chunk(buf, len, t, 2), len);
    ck_assert(memcmp(buf, want, len) == 0);
}
END_TEST

Suite *h1_resp_suite(void)
{
    Suite *s = suite_create("h1_resp");
    TCase *tc = tcase_create("h1_resp");
    tcase_add_test(tc, phrases);
    tcase_add_test(tc, local_answers);
    tcase_add_test(tc, relayed);
    tcase_add_test(tc, buffer_bounds);
    tcase_add_test(tc, last_chunk);
    suite_add_tcase(s, tc);
    return s;
}
