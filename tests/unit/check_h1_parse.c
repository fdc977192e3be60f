/* Tests for src/core/h1_parse.c: strict HTTP/1.1 parsing over llhttp. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/h1_parse.h"
#include "suites.h"

/* Every callback appends a line to a log, so one string compare checks a
 * whole parse; body bytes are merged so the log does not depend on how
 * the input was split. */
struct rec {
    struct h2g_buf log;
    bool in_data;
    int head_rc;     /* returned by on_head */
    int data_rc;     /* returned by on_data */
};

static void logf_(struct rec *r, const char *s)
{
    r->in_data = false;
    h2g_buf_puts(&r->log, s);
}

static void log_fields(struct rec *r, const struct h2g_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h2g_buf_printf(&r->log, " %.*s=%.*s", (int)f[i].name_len, f[i].name, (int)f[i].value_len,
                       f[i].value);
}

static const char *body_str(enum h1_body_kind k)
{
    switch (k) {
    case H1_BODY_NONE: return "none";
    case H1_BODY_LENGTH: return "length";
    case H1_BODY_CHUNKED: return "chunked";
    case H1_BODY_CLOSE: return "close";
    }
    return "?";
}

static int rec_head(void *arg, const struct h1_head *h)
{
    struct rec *r = arg;
    r->in_data = false;
    if (h->method != NULL)
        h2g_buf_printf(&r->log, "[%.*s %.*s 1.%d", (int)h->method_len, h->method, (int)h->target_len,
                       h->target, h->version_minor);
    else
        h2g_buf_printf(&r->log, "[%d 1.%d", h->status, h->version_minor);
    h2g_buf_printf(&r->log, " %s", body_str(h->body));
    if (h->body == H1_BODY_LENGTH)
        h2g_buf_printf(&r->log, "=%llu", (unsigned long long)h->content_length);
    if (h->keep_alive)
        h2g_buf_puts(&r->log, " ka");
    if (h->upgrade)
        h2g_buf_puts(&r->log, " up");
    log_fields(r, h->fields, h->n_fields);
    h2g_buf_puts(&r->log, "]");
    return r->head_rc;
}

static int rec_data(void *arg, const char *p, size_t len)
{
    struct rec *r = arg;
    if (!r->in_data)
        h2g_buf_puts(&r->log, "<");
    else
        r->log.len--; /* reopen the previous "<...>" */
    h2g_buf_append(&r->log, p, len);
    h2g_buf_puts(&r->log, ">");
    r->in_data = true;
    return r->data_rc;
}

static int rec_trailers(void *arg, const struct h2g_field *f, size_t n)
{
    struct rec *r = arg;
    logf_(r, "{T");
    log_fields(r, f, n);
    h2g_buf_puts(&r->log, "}");
    return 0;
}

static int rec_complete(void *arg)
{
    logf_(arg, "C");
    return 0;
}

static const struct h1_parser_cb rec_cb = {rec_head, rec_data, rec_trailers, rec_complete};

/*
 * Feeds data in pieces ending at the split points (then the rest), the way
 * a connection would: after a complete message h1_parser_next() and go on
 * with the unconsumed bytes.  Stops at an upgrade or an error.  Logs "|"
 * for each message pause and "^" for an upgrade stop.  *used: bytes
 * consumed in total.
 */
static int drive(struct h1_parser *p, struct rec *r, const char *data, size_t len, const size_t *splits,
                 size_t n_splits, size_t *used)
{
    size_t off = 0;
    for (size_t s = 0; s <= n_splits; s++) {
        size_t end = s < n_splits ? splits[s] : len;
        while (off < end) {
            size_t c = 0;
            int rc = h1_parser_feed(p, data + off, end - off, &c);
            off += c;
            if (rc == H2G_ERR_PAUSED) {
                if (p->upgraded) {
                    logf_(r, "^");
                    *used = off;
                    return rc;
                }
                logf_(r, "|");
                h1_parser_next(p);
                continue;
            }
            if (rc != 0) {
                *used = off;
                return rc;
            }
            ck_assert_uint_eq(c, end - off + c);
        }
    }
    *used = off;
    return 0;
}

/* Parses whole, byte by byte and split at every point; all must give the
 * same log and result.  Returns the log of the whole parse (static). */
static const char *parse_all_ways(bool response, const char *msg, bool head_req, bool finish, int *rc_out,
                                  size_t *used_out)
{
    static char first[4096];
    size_t len = strlen(msg);
    for (size_t mode = 0; mode <= len + 1; mode++) {
        struct h1_parser p;
        struct rec r = {0};
        h1_parser_init(&p, response, 8192, &rec_cb, &r);
        h1_parser_expect_head(&p, head_req);
        size_t used = 0;
        int rc;
        if (mode == 0) {
            rc = drive(&p, &r, msg, len, NULL, 0, &used);
        } else if (mode == 1) {
            size_t *sp = malloc(len * sizeof(*sp));
            for (size_t i = 0; i < len; i++)
                sp[i] = i;
            rc = drive(&p, &r, msg, len, sp, len, &used);
            free(sp);
        } else {
            size_t sp = mode - 1;
            rc = drive(&p, &r, msg, len, &sp, 1, &used);
        }
        if (rc == 0 && finish) {
            rc = h1_parser_finish(&p);
            h2g_buf_printf(&r.log, "!%d", rc);
        }
        h2g_buf_append(&r.log, "", 1);
        if (mode == 0) {
            snprintf(first, sizeof(first), "%s", r.log.data);
            *rc_out = rc;
            *used_out = used;
        } else {
            ck_assert_msg(strcmp(first, r.log.data) == 0, "split mode %zu: '%s' vs whole '%s'", mode, r.log.data,
                          first);
            ck_assert_int_eq(rc, *rc_out);
            if (rc == 0 || rc == H2G_ERR_PAUSED)
                ck_assert_uint_eq(used, *used_out);
        }
        h2g_buf_clear(&r.log);
        h1_parser_clear(&p);
    }
    return first;
}

#define CHECK_PARSE(resp, msg, head_req, finish, want_log, want_rc)                                     \
    do {                                                                                                \
        int rc_;                                                                                        \
        size_t used_;                                                                                   \
        const char *log_ = parse_all_ways(resp, msg, head_req, finish, &rc_, &used_);                  \
        ck_assert_str_eq(log_, want_log);                                                               \
        ck_assert_int_eq(rc_, want_rc);                                                                 \
    } while (0)

START_TEST(resp_content_length)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", false, false,
                "[200 1.1 length=5 ka content-length=5 x-a=b]<hello>C|", 0);
}
END_TEST

START_TEST(resp_chunked_trailers)
{
    CHECK_PARSE(true,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Checksum: abc\r\nServer-Timing: t;dur=1\r\n\r\n",
                false, false,
                "[200 1.1 chunked ka transfer-encoding=chunked]<hello!>{T x-checksum=abc "
                "server-timing=t;dur=1}C|",
                0);
}
END_TEST

START_TEST(resp_chunked_no_trailers)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false,
                false, "[200 1.1 chunked ka transfer-encoding=chunked]<abc>C|", 0);
}
END_TEST

START_TEST(resp_close_delimited)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes", false, true,
                "[200 1.1 close content-type=text/plain]<some bytes>C!0", 0);
}
END_TEST

START_TEST(resp_truncated)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", false, true,
                "[200 1.1 length=10 ka content-length=10]<hello>!-4", H2G_ERR_INCOMPLETE);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, true,
                "[200 1.1 chunked ka transfer-encoding=chunked]<hel>!-4", H2G_ERR_INCOMPLETE);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Len", false, true, "!-4", H2G_ERR_INCOMPLETE);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", false, true,
                "[200 1.1 chunked ka transfer-encoding=chunked]!-4", H2G_ERR_INCOMPLETE);
}
END_TEST

START_TEST(resp_finish_at_boundary)
{
    /* Nothing started, or a message complete: EOF is clean. */
    CHECK_PARSE(true, "", false, true, "!0", 0);
    struct h1_parser p;
    struct rec r = {0};
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    const char *m = "HTTP/1.1 204 No Content\r\n\r\n";
    size_t used;
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, strlen(m));
    ck_assert_int_eq(h1_parser_finish(&p), 0);
    h2g_buf_clear(&r.log);
    h1_parser_clear(&p);
}
END_TEST

START_TEST(resp_100_continue)
{
    CHECK_PARSE(true,
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                false, false, "[100 1.1 none ka][103 1.1 none ka link=</a>][200 1.1 length=2 ka content-length=2]<hi>C|",
                0);
}
END_TEST

START_TEST(resp_no_body_statuses)
{
    CHECK_PARSE(true, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, false,
                "[204 1.1 none ka content-length=5]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", false, false,
                "[304 1.1 none ka etag=\"x\"]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, false,
                "[200 1.1 none ka content-length=100]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, false,
                "[200 1.1 none ka transfer-encoding=chunked]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.1 none ka content-length=0]C|", 0);
}
END_TEST

START_TEST(resp_101_stops)
{
    const char *m = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                    "\x81\x05hello";
    int rc;
    size_t used;
    const char *log = parse_all_ways(true, m, false, false, &rc, &used);
    ck_assert_str_eq(log, "[101 1.1 none up upgrade=websocket connection=Upgrade]^");
    ck_assert_int_eq(rc, H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, strlen(m) - 7);
    /* Without the Upgrade fields a 101 still ends HTTP on the connection. */
    log = parse_all_ways(true, "HTTP/1.1 101 Switching Protocols\r\n\r\nraw", false, false, &rc, &used);
    ck_assert_str_eq(log, "[101 1.1 none up]^");
    ck_assert_uint_eq(used, 36);
}
END_TEST

START_TEST(resp_framing_errors)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false,
                false, "", H2G_ERR_MALFORMED);
    /* Identical duplicates and lists are refused as well (RFC 9110 8.6
     * allows either; refusing is the safe choice for a proxy). */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", false,
                false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", false, false, "",
                H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, false,
                "[200 1.1 chunked ka transfer-encoding=chunked]", H2G_ERR_MALFORMED);
}
END_TEST

START_TEST(resp_bad_status_line)
{
    CHECK_PARSE(true, "HTTP/1.1 2000 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 abc OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/2.0 200 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.2 200 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/0.9 200 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "ICY 200 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "hello world\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, " HTTP/1.1 200 OK\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
}
END_TEST

START_TEST(resp_strict_syntax)
{
    /* obs-fold (RFC 9112 5.2) */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n", false, false, "",
                H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-A: b\r\n\tc\r\nContent-Length: 0\r\n\r\n", false, false, "",
                H2G_ERR_MALFORMED);
    /* bare LF, in the status line, a field line and the end of the head */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n", false, false, "", H2G_ERR_MALFORMED);
    /* bare CR */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    /* whitespace before the colon, empty name, bad name bytes */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\n: b\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX(A): b\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    /* control bytes in a value */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-A: b\001c\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    /* bare LF and obs-fold in trailers */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\nY: 2\r\n\r\n", false,
                false, "[200 1.1 chunked ka transfer-encoding=chunked]", H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n 2\r\n\r\n", false,
                false, "[200 1.1 chunked ka transfer-encoding=chunked]", H2G_ERR_MALFORMED);
    /* bare LF in chunk framing */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", false, false,
                "[200 1.1 chunked ka transfer-encoding=chunked]", H2G_ERR_MALFORMED);
}
END_TEST

START_TEST(resp_values_trimmed_names_lowercased)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nX-Mixed-CASE:   spaced value  \r\nEmpty:\r\nContent-Length: 0\r\n\r\n",
                false, false, "[200 1.1 none ka x-mixed-case=spaced value empty= content-length=0]C|", 0);
}
END_TEST

START_TEST(resp_too_large)
{
    char big[600];
    int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: %0400d\r\nContent-Length: 0\r\n\r\n", 7);
    ck_assert_int_gt(n, 400);
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    h1_parser_init(&p, true, 256, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, big, (size_t)n, &used), H2G_ERR_TOO_LARGE);
    ck_assert_int_eq(p.err, H2G_ERR_TOO_LARGE);
    ck_assert_uint_eq(r.log.len, 0);
    /* sticky */
    ck_assert_int_eq(h1_parser_feed(&p, "x", 1, &used), H2G_ERR_TOO_LARGE);
    h1_parser_clear(&p);
    /* exactly at the cap is fine */
    h1_parser_init(&p, true, (size_t)n, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, big, (size_t)n, &used), H2G_ERR_PAUSED);
    h1_parser_clear(&p);
    h1_parser_init(&p, true, (size_t)n - 1, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, big, (size_t)n, &used), H2G_ERR_TOO_LARGE);
    h1_parser_clear(&p);
    /* trailers have their own cap */
    h1_parser_init(&p, true, 80, &rec_cb, &r);
    const char *t = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                    "X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    ck_assert_int_eq(h1_parser_feed(&p, t, strlen(t), &used), H2G_ERR_TOO_LARGE);
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_too_many_fields)
{
    struct h2g_buf b = {0};
    h2g_buf_puts(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    for (int i = 0; i < H1_MAX_FIELDS - 1; i++)
        h2g_buf_printf(&b, "X-%d: v\r\n", i);
    size_t at_cap = b.len;
    h2g_buf_puts(&b, "\r\n");
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    h1_parser_init(&p, true, 1 << 20, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, b.data, b.len, &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(p.head.n_fields, H1_MAX_FIELDS);
    h1_parser_clear(&p);
    b.len = at_cap;
    h2g_buf_puts(&b, "X-One-More: v\r\n\r\n");
    h1_parser_init(&p, true, 1 << 20, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, b.data, b.len, &used), H2G_ERR_TOO_LARGE);
    h1_parser_clear(&p);
    /* The cap is checked once the extra name is complete: a byte llhttp
     * refuses in it is the error, whether or not the input is cut inside
     * the name (fuzz/regress/h1_response/field-cap-order). */
    b.len = at_cap;
    h2g_buf_puts(&b, "X-One\001More: v\r\n\r\n");
    for (size_t cut = 0; cut <= 3; cut++) {
        h1_parser_init(&p, true, 1 << 20, &rec_cb, &r);
        int rc = 0;
        if (cut > 0)
            rc = h1_parser_feed(&p, b.data, at_cap + cut, &used);
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(h1_parser_feed(&p, b.data + at_cap + cut, b.len - at_cap - cut, &used),
                         H2G_ERR_MALFORMED);
        h1_parser_clear(&p);
    }
    h2g_buf_clear(&b);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_keep_alive)
{
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.1 none connection=close content-length=0]C|", 0);
    CHECK_PARSE(true, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.0 none content-length=0]C|", 0);
    CHECK_PARSE(true, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.0 none ka connection=keep-alive content-length=0]C|", 0);

    /* After the message, head.keep_alive and llhttp agree. */
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    const char *m = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert(!p.head.keep_alive);
    ck_assert(!llhttp_should_keep_alive(&p.ll));
    h1_parser_clear(&p);
    m = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert(p.head.keep_alive);
    ck_assert(llhttp_should_keep_alive(&p.ll));
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_pipelined)
{
    const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                    "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                    "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK_PARSE(true, m, false, false,
                "[200 1.1 length=3 ka content-length=3]<one>C|"
                "[404 1.1 chunked ka transfer-encoding=chunked]<two>C|[204 1.1 none ka]C|",
                0);

    /* The pause lands exactly at the end of each message. */
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, 41);
    /* Paused: more input is refused until next(). */
    size_t u2;
    ck_assert_int_eq(h1_parser_feed(&p, m + used, strlen(m) - used, &u2), H2G_ERR_PAUSED);
    ck_assert_uint_eq(u2, 0);
    h1_parser_next(&p);
    ck_assert_int_eq(h1_parser_feed(&p, m + used, strlen(m) - used, &u2), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used + u2, strlen(m) - 27);
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_head_pointers_survive_trailers)
{
    /* Trailers are copied apart, so the head's fields stay valid. */
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    const char *m = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: kept\r\n\r\n"
                    "0\r\nX-T1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                    "X-T2: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n"
                    "X-T3: cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\r\n\r\n";
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(p.head.n_fields, 2);
    ck_assert(p.head.fields[1].value_len == 4 && memcmp(p.head.fields[1].value, "kept", 4) == 0);
    ck_assert_uint_eq(p.n_tfields, 3);
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_head_pointers_survive_growing_trailers)
{
    /* More trailer fields than the head had (16 slots to start): the
     * field arrays grow during the trailers, and the head's fields, read
     * after the message, must still be there (found by fuzzing: the
     * head's array was reallocated under it). */
    struct h2g_buf m = {0};
    h2g_buf_puts(&m, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: kept\r\n\r\n0\r\n");
    for (int i = 0; i < 40; i++)
        h2g_buf_printf(&m, "X-T%d: %d\r\n", i, i);
    h2g_buf_puts(&m, "\r\n");
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m.data, m.len, &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(p.n_tfields, 40);
    ck_assert(p.tfields[39].value_len == 2 && memcmp(p.tfields[39].value, "39", 2) == 0);
    ck_assert_uint_eq(p.head.n_fields, 2);
    ck_assert(p.head.fields[0].name_len == 17 && memcmp(p.head.fields[0].name, "transfer-encoding", 17) == 0);
    ck_assert(p.head.fields[1].value_len == 4 && memcmp(p.head.fields[1].value, "kept", 4) == 0);
    h1_parser_clear(&p);
    h2g_buf_clear(&m);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(empty_name_first)
{
    /* An empty field name as the very first bytes stored (a response
     * head stores no start line; trailers have a store of their own):
     * refused, without arithmetic on the still unallocated store. */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\n: b\r\nContent-Length: 0\r\n\r\n", false, false, "",
                H2G_ERR_MALFORMED);
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n: b\r\n\r\n", false, false,
                "[200 1.1 chunked ka transfer-encoding=chunked]", H2G_ERR_MALFORMED);
    /* Empty value too: nothing stored at all when the fields are built. */
    CHECK_PARSE(true, "HTTP/1.1 200 OK\r\n:\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
}
END_TEST

static int abort_cb(void *arg, const struct h1_head *h)
{
    return H2G_ERR_NOMEM;
}

static int pause_data(void *arg, const char *d, size_t len)
{
    struct rec *r = arg;
    h2g_buf_append(&r->log, d, len);
    return H2G_ERR_PAUSED;
}

START_TEST(callbacks_abort_and_pause)
{
    struct h1_parser p;
    struct rec r = {0};
    size_t used;
    const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd";
    const struct h1_parser_cb ab = {abort_cb, NULL, NULL, NULL};
    h1_parser_init(&p, true, 8192, &ab, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_NOMEM);
    h1_parser_clear(&p);

    const struct h1_parser_cb pc = {NULL, pause_data, NULL, NULL};
    h1_parser_init(&p, true, 8192, &pc, &r);
    /* body in two pieces: each on_data pause stops feeding */
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m) - 2, &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, strlen(m) - 2);
    h1_parser_next(&p);
    ck_assert_int_eq(h1_parser_feed(&p, m + used, 2, &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, 2);
    h1_parser_next(&p);
    /* resumed, the message completes without more input */
    ck_assert_int_eq(h1_parser_feed(&p, "", 0, &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(h1_parser_finish(&p), 0);
    h2g_buf_append(&r.log, "", 1);
    ck_assert_str_eq(r.log.data, "abcd");
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(resp_status_line_forms)
{
    /* The reason phrase may be empty or absent (RFC 9112 4). */
    CHECK_PARSE(true, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.1 none ka content-length=0]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, false,
                "[200 1.1 none ka content-length=0]C|", 0);
    CHECK_PARSE(true, "HTTP/1.1 503 Service Unavailable Now\r\nContent-Length: 0\r\n\r\n", false, false,
                "[503 1.1 none ka content-length=0]C|", 0);
}
END_TEST

START_TEST(resp_eof_after_interim)
{
    CHECK_PARSE(true, "HTTP/1.1 100 Continue\r\n\r\n", false, true, "[100 1.1 none ka]!-4",
                H2G_ERR_INCOMPLETE);
}
END_TEST

START_TEST(resp_head_request_is_per_response)
{
    /* expect_head applies to one response; the caller sets it again. */
    struct h1_parser p;
    struct rec r = {0};
    size_t used, u2;
    const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    h1_parser_init(&p, true, 8192, &rec_cb, &r);
    h1_parser_expect_head(&p, true);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, 38);
    h1_parser_next(&p);
    ck_assert_int_eq(h1_parser_feed(&p, m + used, strlen(m) - used, &u2), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used + u2, strlen(m));
    h2g_buf_append(&r.log, "", 1);
    ck_assert_str_eq(r.log.data, "[200 1.1 none ka content-length=3]C[200 1.1 length=3 ka content-length=3]<abc>C");
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

/* --- requests --- */

START_TEST(req_get)
{
    CHECK_PARSE(false, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", false, false,
                "[GET /a?b=c 1.1 none ka host=example.com accept=*/*]C|", 0);
    CHECK_PARSE(false, "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false, false, "[GET / 1.1 none ka host=a]C|",
                0);
}
END_TEST

START_TEST(req_post_and_chunked)
{
    CHECK_PARSE(false, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz", false, false,
                "[POST /up 1.1 length=3 ka host=a content-length=3]<xyz>C|", 0);
    CHECK_PARSE(false,
                "PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-S: 1\r\n\r\n",
                false, false, "[PUT /up 1.1 chunked ka host=a transfer-encoding=chunked]<ab>{T x-s=1}C|", 0);
    /* pipelined requests */
    CHECK_PARSE(false, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                false, false, "[GET /1 1.1 none ka host=a]C|[GET /2 1.1 none host=a connection=close]C|", 0);
}
END_TEST

START_TEST(req_upgrade_stops)
{
    const char *m = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes";
    int rc;
    size_t used;
    const char *log = parse_all_ways(false, m, false, false, &rc, &used);
    ck_assert_str_eq(log, "[GET /chat 1.1 none up host=a upgrade=websocket connection=Upgrade]C^");
    ck_assert_int_eq(rc, H2G_ERR_PAUSED);
    ck_assert_uint_eq(used, strlen(m) - 6);

    /* An upgrade request with a body: the body first, then the stop. */
    m = "POST /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nhiPRI";
    log = parse_all_ways(false, m, false, false, &rc, &used);
    ck_assert_str_eq(log, "[POST /up 1.1 length=2 up host=a upgrade=h2c connection=upgrade content-length=2]<hi>C^");
    ck_assert_uint_eq(used, strlen(m) - 3);

    m = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\ntls bytes";
    log = parse_all_ways(false, m, false, false, &rc, &used);
    ck_assert_str_eq(log, "[CONNECT example.com:443 1.1 none up host=example.com:443]C^");
    ck_assert_uint_eq(used, strlen(m) - 9);

    /* A CONNECT has no content (RFC 9110 9.3.6): llhttp would start the
     * tunnel right after the head, where the client says a body is. */
    CHECK_PARSE(false, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 3\r\n\r\nabc", false, false, "",
                H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                false, false, "", H2G_ERR_MALFORMED);
    m = "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\n\r\nx";
    log = parse_all_ways(false, m, false, false, &rc, &used);
    ck_assert_str_eq(log, "[CONNECT a:443 1.1 none up host=a:443 content-length=0]C^");
}
END_TEST

START_TEST(req_upgrade_declined)
{
    /* The caller may decline an upgrade and go on parsing HTTP/1.1. */
    const char *m = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    struct h1_parser p;
    struct rec r = {0};
    size_t used, u2;
    h1_parser_init(&p, false, 8192, &rec_cb, &r);
    ck_assert_int_eq(h1_parser_feed(&p, m, strlen(m), &used), H2G_ERR_PAUSED);
    ck_assert(p.upgraded);
    ck_assert(p.head.upgrade);
    h1_parser_next(&p);
    ck_assert(!p.upgraded);
    ck_assert_int_eq(h1_parser_feed(&p, m + used, strlen(m) - used, &u2), H2G_ERR_PAUSED);
    ck_assert_uint_eq(used + u2, strlen(m));
    ck_assert(p.head.target_len == 2 && memcmp(p.head.target, "/2", 2) == 0);
    h1_parser_clear(&p);
    h2g_buf_clear(&r.log);
}
END_TEST

START_TEST(req_malformed)
{
    CHECK_PARSE(false, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "GET /\tx HTTP/1.1\r\nHost: a\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "GET /\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "GET / HTTP/1.1\nHost: a\n\n", false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxx", false, false, "",
                H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                false, false, "", H2G_ERR_MALFORMED);
    CHECK_PARSE(false, "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", false, false, "", H2G_ERR_MALFORMED);
}
END_TEST

Suite *h1_parse_suite(void)
{
    Suite *s = suite_create("h1_parse");
    TCase *tc = tcase_create("response");
    tcase_add_test(tc, resp_content_length);
    tcase_add_test(tc, resp_chunked_trailers);
    tcase_add_test(tc, resp_chunked_no_trailers);
    tcase_add_test(tc, resp_close_delimited);
    tcase_add_test(tc, resp_truncated);
    tcase_add_test(tc, resp_finish_at_boundary);
    tcase_add_test(tc, resp_100_continue);
    tcase_add_test(tc, resp_no_body_statuses);
    tcase_add_test(tc, resp_101_stops);
    tcase_add_test(tc, resp_framing_errors);
    tcase_add_test(tc, resp_bad_status_line);
    tcase_add_test(tc, resp_strict_syntax);
    tcase_add_test(tc, resp_values_trimmed_names_lowercased);
    tcase_add_test(tc, resp_too_large);
    tcase_add_test(tc, resp_too_many_fields);
    tcase_add_test(tc, resp_keep_alive);
    tcase_add_test(tc, resp_pipelined);
    tcase_add_test(tc, resp_head_pointers_survive_trailers);
    tcase_add_test(tc, resp_head_pointers_survive_growing_trailers);
    tcase_add_test(tc, empty_name_first);
    tcase_add_test(tc, callbacks_abort_and_pause);
    tcase_add_test(tc, resp_status_line_forms);
    tcase_add_test(tc, resp_eof_after_interim);
    tcase_add_test(tc, resp_head_request_is_per_response);
    suite_add_tcase(s, tc);
    tc = tcase_create("request");
    tcase_add_test(tc, req_get);
    tcase_add_test(tc, req_post_and_chunked);
    tcase_add_test(tc, req_upgrade_stops);
    tcase_add_test(tc, req_upgrade_declined);
    tcase_add_test(tc, req_malformed);
    suite_add_tcase(s, tc);
    return s;
}
