/* Tests for src/core/h2_resume.c: a session put away and brought back is,
 * to the client, the session it was (libnghttp2 in memory). */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "core/h2_resume.h"
#include "suites.h"

static int headers_begun;

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    headers_begun = f->hd.stream_id;
    return 0;
}

/* A server session as h2gate makes one (window updates only for what it
 * consumed): our SETTINGS and a 16 MiB connection window submitted. */
static nghttp2_session *server(void)
{
    nghttp2_session_callbacks *cb;
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_option *opt;
    ck_assert_int_eq(nghttp2_option_new(&opt), 0);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_no_closed_streams(opt, 1);
    nghttp2_session *ng;
    ck_assert_int_eq(nghttp2_session_server_new2(&ng, cb, NULL, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 128},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    ck_assert_int_eq(nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, iv, 2), 0);
    ck_assert_int_eq(nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, 16 << 20), 0);
    return ng;
}

static void drain(nghttp2_session *ng)
{
    const uint8_t *d;
    while (nghttp2_session_mem_send(ng, &d) > 0)
        ;
}

static void recv_all(nghttp2_session *ng, const uint8_t *p, size_t n)
{
    ck_assert_int_eq(nghttp2_session_mem_recv(ng, p, n), (ssize_t)n);
    drain(ng);
}

/* The client's opening: preface, SETTINGS (header table 0, push off,
 * 32 KiB frames, a 1 MiB stream window, 100 streams), a connection
 * WINDOW_UPDATE of 15 MiB, and the ACK of ours. */
static const uint8_t client_open[] = {
    'P', 'R', 'I', ' ', '*', ' ', 'H', 'T', 'T', 'P', '/', '2', '.', '0', '\r', '\n', '\r', '\n', 'S', 'M', '\r', '\n',
    '\r', '\n',
    0, 0, 30, 4, 0, 0, 0, 0, 0,
    0, 1, 0, 0, 0, 0,
    0, 2, 0, 0, 0, 0,
    0, 5, 0, 0, 0x80, 0,
    0, 4, 0, 0x10, 0, 0,
    0, 3, 0, 0, 0, 100,
    0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0, 0,
    0, 0, 0, 4, 1, 0, 0, 0, 0,
};

START_TEST(put_away_and_back)
{
    nghttp2_session *a = server();
    drain(a);
    recv_all(a, client_open, sizeof(client_open));
    struct h2g_h2_resume r;
    ck_assert(h2g_h2_resume_capture(a, 0, &r));
    ck_assert_int_eq(r.remote_window, 65535 + 0xf00000);

    nghttp2_session *b = server();
    ck_assert_int_eq(h2g_h2_resume_replay(b, &r), 0);
    for (int id = 1; id <= H2G_RESUME_NSET; id++)
        if (id != 7)
            ck_assert_msg(nghttp2_session_get_remote_settings(a, id) == nghttp2_session_get_remote_settings(b, id),
                      "SETTINGS id %d: %u then %u", id, nghttp2_session_get_remote_settings(a, id),
                      nghttp2_session_get_remote_settings(b, id));
    ck_assert_int_eq(nghttp2_session_get_remote_window_size(b), nghttp2_session_get_remote_window_size(a));
    ck_assert_int_eq(nghttp2_session_get_local_window_size(b), nghttp2_session_get_local_window_size(a));
    ck_assert(!nghttp2_session_want_write(b));
    ck_assert_int_eq(nghttp2_session_get_last_proc_stream_id(b), 0);

    /* the client goes on where it was: a request on stream 1, its HPACK
     * with a dynamic table of size 0 as it asked */
    static const uint8_t get[] = {0, 0, 3, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x84};
    headers_begun = 0;
    ck_assert_int_eq(nghttp2_session_mem_recv(b, get, sizeof(get)), (ssize_t)sizeof(get));
    ck_assert_int_eq(headers_begun, 1);
    nghttp2_session_del(a);
    nghttp2_session_del(b);
}
END_TEST

/* GET / on stream `id`: static entries and a literal :authority, not
 * indexed (the client's HPACK table stays empty). */
static void get(nghttp2_session *ng, uint8_t id, bool end_stream)
{
    const uint8_t f[] = {0, 0, 6, 1, end_stream ? 5 : 4, 0, 0, 0, id, 0x82, 0x86, 0x84, 0x01, 0x01, 'a'};
    recv_all(ng, f, sizeof(f));
}

static ssize_t body_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    size_t *left = src->ptr;
    size_t n = *left < len ? *left : len;
    memset(buf, 'x', n);
    *left -= n;
    if (*left == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* A 200 with `n` body bytes on stream `id`, sent. */
static void answer(nghttp2_session *ng, int32_t id, size_t n)
{
    nghttp2_nv st = {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE};
    nghttp2_data_provider prd = {.source.ptr = &n, .read_callback = body_read};
    ck_assert_int_eq(nghttp2_submit_response(ng, id, &st, 1, &prd), 0);
    drain(ng);
    ck_assert_uint_eq(n, 0);
}

static const uint8_t client_open_defaults[] = {'P', 'R', 'I', ' ', '*', ' ', 'H', 'T', 'T', 'P', '/', '2',
                                               '.', '0', '\r', '\n', '\r', '\n', 'S', 'M', '\r', '\n',
                                               '\r', '\n', 0, 0, 0, 4, 0, 0, 0, 0, 0};

/* A server session that has read a client's preface and empty SETTINGS. */
static nghttp2_session *opened(void)
{
    nghttp2_session *a = server();
    drain(a);
    recv_all(a, client_open_defaults, sizeof(client_open_defaults));
    return a;
}

/* `a` cannot be put away; deleted. */
static void not_captured(nghttp2_session *a, int32_t last_stream)
{
    struct h2g_h2_resume r;
    ck_assert(!h2g_h2_resume_capture(a, last_stream, &r));
    nghttp2_session_del(a);
}

/* Is the session ended by what it was just given (a GOAWAY queued)? */
static bool ended(nghttp2_session *ng)
{
    drain(ng);
    return !nghttp2_session_want_read(ng);
}

/* After streams: nghttp2 is brought to the same last stream id, so a
 * frame for a closed stream is taken as one (a WINDOW_UPDATE ignored, a
 * HEADERS ignored as nghttp2 does for a stream it forgot: h2_session's
 * frame scan judges those), not as one for an idle stream (a connection
 * error); and our send window, short of what the client has not given
 * back, is as short. */
START_TEST(after_streams)
{
    nghttp2_session *a = opened();
    get(a, 1, true);
    answer(a, 1, 1000);
    get(a, 3, true);
    answer(a, 3, 500);
    ck_assert_int_eq(nghttp2_session_get_remote_window_size(a), 65535 - 1500);
    struct h2g_h2_resume r;
    ck_assert(h2g_h2_resume_capture(a, 3, &r));
    ck_assert_int_eq(r.last_stream, 3);

    nghttp2_session *b = server();
    ck_assert_int_eq(h2g_h2_resume_replay(b, &r), 0);
    ck_assert(!nghttp2_session_want_write(b));
    ck_assert_int_eq(nghttp2_session_get_last_proc_stream_id(b), 3);
    ck_assert_int_eq(nghttp2_session_get_remote_window_size(b), 65535 - 1500);
    ck_assert_int_eq(nghttp2_session_get_local_window_size(b), nghttp2_session_get_local_window_size(a));
    static const uint8_t wu1[] = {0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0x10, 0};
    recv_all(b, wu1, sizeof(wu1));
    ck_assert(!ended(b));
    headers_begun = 0;
    get(b, 3, true);
    ck_assert_int_eq(headers_begun, 0);
    ck_assert(!ended(b));
    get(b, 5, true);
    ck_assert_int_eq(headers_begun, 5);
    ck_assert(!ended(b));

    /* without the last stream, stream 1 would be idle: the same
     * WINDOW_UPDATE ends the session */
    struct h2g_h2_resume none = r;
    none.last_stream = 0;
    none.remote_window = 65535;
    nghttp2_session *c = server();
    ck_assert_int_eq(h2g_h2_resume_replay(c, &none), 0);
    recv_all(c, wu1, sizeof(wu1));
    ck_assert(ended(c));
    nghttp2_session_del(a);
    nghttp2_session_del(b);
    nghttp2_session_del(c);
}
END_TEST

/* The client's HPACK table must be empty; our own need not be. */
START_TEST(not_with_client_table)
{
    nghttp2_session *a = opened();
    /* :authority a, with incremental indexing (0x41) */
    static const uint8_t f[] = {0, 0, 6, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0x41, 0x01, 'a'};
    recv_all(a, f, sizeof(f));
    answer(a, 1, 10);
    not_captured(a, 1);
}
END_TEST

/* Request body received and consumed but not yet given back is owed to
 * the client: given back (a WINDOW_UPDATE), the session can go. */
START_TEST(body_owed_first)
{
    nghttp2_session *a = opened();
    get(a, 1, false);
    static const uint8_t data[9 + 100] = {0, 0, 100, 0, 1, 0, 0, 0, 1};
    recv_all(a, data, sizeof(data));
    ck_assert_int_eq(nghttp2_session_consume(a, 1, 100), 0);
    answer(a, 1, 0);
    struct h2g_h2_resume r;
    ck_assert(!h2g_h2_resume_capture(a, 1, &r));
    ck_assert_int_eq(nghttp2_session_get_effective_recv_data_length(a), 100);
    ck_assert_int_eq(nghttp2_submit_window_update(a, NGHTTP2_FLAG_NONE, 0, 100), 0);
    drain(a);
    ck_assert(h2g_h2_resume_capture(a, 1, &r));
    nghttp2_session *b = server();
    ck_assert_int_eq(h2g_h2_resume_replay(b, &r), 0);
    ck_assert_int_eq(nghttp2_session_get_local_window_size(b), nghttp2_session_get_local_window_size(a));
    nghttp2_session_del(a);
    nghttp2_session_del(b);
}
END_TEST

/* More owed to the client than one stream's window can replay. */
START_TEST(not_when_short_beyond_a_stream)
{
    nghttp2_session *a = opened();
    /* the client's streams get 1,000 bytes of window */
    static const uint8_t set[] = {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0x03, 0xe8};
    recv_all(a, set, sizeof(set));
    get(a, 1, true);
    answer(a, 1, 1000);
    get(a, 3, true);
    answer(a, 3, 1000);
    not_captured(a, 3);
}
END_TEST

/* A client that sent nothing but its preface and an empty SETTINGS:
 * nothing to replay but them. */
START_TEST(defaults_only)
{
    nghttp2_session *a = opened();
    struct h2g_h2_resume r;
    ck_assert(h2g_h2_resume_capture(a, 0, &r));
    ck_assert_uint_eq(r.set, 0);
    nghttp2_session *b = server();
    ck_assert_int_eq(h2g_h2_resume_replay(b, &r), 0);
    ck_assert_int_eq(nghttp2_session_get_remote_window_size(b), 65535);
    ck_assert(!nghttp2_session_want_write(b));
    nghttp2_session_del(a);
    nghttp2_session_del(b);
}
END_TEST

Suite *h2_resume_suite(void)
{
    Suite *s = suite_create("h2_resume");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, put_away_and_back);
    tcase_add_test(tc, after_streams);
    tcase_add_test(tc, not_with_client_table);
    tcase_add_test(tc, body_owed_first);
    tcase_add_test(tc, not_when_short_beyond_a_stream);
    tcase_add_test(tc, defaults_only);
    suite_add_tcase(s, tc);
    return s;
}
