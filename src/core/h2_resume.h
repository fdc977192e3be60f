/*
 * h2_resume.h: an idle HTTP/2 server session put away and brought back.
 *
 * nghttp2 holds about 25 KB for every session (its session object, the
 * HPACK tables, the stream map, a 16 KB outbound frame buffer), idle or
 * not.  A session with no stream open, nothing to send and nothing of
 * the client's HPACK table left (h2_session.c has the client empty it
 * first: SETTINGS_HEADER_TABLE_SIZE 0) is, to the client, no more than:
 * our SETTINGS (acknowledged), the client's SETTINGS, the connection's
 * flow-control windows and the last stream id.  h2g_h2_resume_capture
 * keeps those (a few words); the nghttp2 session can then be deleted.
 * When the client speaks again, h2g_h2_resume_replay takes a fresh
 * session, on which the caller has submitted the same SETTINGS and local
 * window as the first time, to the same place: it sends (and drops) that
 * output, and feeds it the client's preface, SETTINGS, an ACK of ours,
 * the last stream's request (answered there and then, with as many DATA
 * bytes as the client's window is short of) and the connection
 * WINDOW_UPDATE the client's credit adds up to.  Nothing of it reaches
 * the client.
 *
 * Our own HPACK table is not kept: the fresh encoder starts empty, and
 * the client's decoder keeps what we inserted before, older than all
 * that comes next.  A decoder evicts its oldest entries first, so the
 * entries the new encoder inserts and refers to sit at the same indices
 * on both sides (RFC 7541 2.3.3, 4.4): the stale ones only fill the end
 * of the client's table until they are evicted.
 *
 * Pure: nghttp2 in memory, no I/O.  The session's callbacks run during
 * the replay (on_begin_headers and on_frame_recv for the synthetic
 * frames, on_frame_send for the dropped ones); the caller tells them
 * apart.
 */
#ifndef H2G_H2_RESUME_H
#define H2G_H2_RESUME_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

/* SETTINGS ids 1..9 (RFC 9113 6.5.2, RFC 8441, RFC 9218). */
#define H2G_RESUME_NSET 9

struct h2g_h2_resume {
    uint32_t value[H2G_RESUME_NSET + 1]; /* by SETTINGS id */
    uint16_t set;                        /* bit id: the client changed it from the default */
    int32_t remote_window;               /* the connection window the client gave us */
    int32_t last_stream;                 /* the client's last stream id, 0 when none */
};

/* Keeps what the client set on `ng`, whose last client stream id is
 * `last_stream` (0: none; nghttp2 does not say which ids it refused).
 * false when the session cannot be put away and brought back: the
 * client's HPACK table is not empty, something is owed either way, or
 * our send window is short of more than one stream's window can replay. */
bool h2g_h2_resume_capture(nghttp2_session *ng, int32_t last_stream, struct h2g_h2_resume *r);

/* Brings a fresh server session `ng` (our SETTINGS and local window
 * already submitted) to the captured state.  0, or an nghttp2 error. */
int h2g_h2_resume_replay(nghttp2_session *ng, const struct h2g_h2_resume *r);

#endif
