/* Tests for src/core/h2_resume.c: a session put away and brought back is,
 * to the client, the session it was (libnghttp2 in memory). */
#include <check.h>
#include <string.h>

#include "core/h2_resume.h"
#include "suites.h"

static int headers_begun;

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    headers_begun = f->hd.stream_id;
    return 0;
}

/* A server session as h2gate makes one: our SETTINGS and a 16 MiB
 * connection window submitted. */
static nghttp2_session *server(void)
{
    nghttp2_session_callbacks *cb;
    ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session *ng;
    ck_assert_int_eq(nghttp2_session_server_new(&ng, cb, NULL), 0);
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
    ck_assert(h2g_h2_resume_capture(a, &r));
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

/* A session that has served a stream keeps state a replay cannot give
 * back (the last stream id, HPACK): not put away. */
START_TEST(not_after_a_stream)
{
    nghttp2_session *a = server();
    drain(a);
    recv_all(a, client_open, sizeof(client_open));
    static const uint8_t get[] = {0, 0, 3, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x84};
    recv_all(a, get, sizeof(get));
    struct h2g_h2_resume r;
    ck_assert(!h2g_h2_resume_capture(a, &r));
    nghttp2_session_del(a);
}
END_TEST

/* A client that sent nothing but its preface and an empty SETTINGS:
 * nothing to replay but them. */
START_TEST(defaults_only)
{
    nghttp2_session *a = server();
    drain(a);
    static const uint8_t open[] = {'P', 'R', 'I', ' ', '*', ' ', 'H', 'T', 'T', 'P', '/', '2', '.', '0', '\r', '\n',
                                   '\r', '\n', 'S', 'M', '\r', '\n', '\r', '\n', 0, 0, 0, 4, 0, 0, 0, 0, 0};
    recv_all(a, open, sizeof(open));
    struct h2g_h2_resume r;
    ck_assert(h2g_h2_resume_capture(a, &r));
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
    tcase_add_test(tc, not_after_a_stream);
    tcase_add_test(tc, defaults_only);
    suite_add_tcase(s, tc);
    return s;
}
