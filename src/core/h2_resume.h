/*
 * h2_resume.h: an idle HTTP/2 server session put away and brought back.
 *
 * nghttp2 holds about 25 KB for every session (its session object, the
 * HPACK tables, the stream map, a 16 KB outbound frame buffer), idle or
 * not.  A session that never opened a stream, has nothing to send and
 * whose HPACK tables are empty is, to the client, no more than: our
 * SETTINGS (acknowledged), the client's SETTINGS and the connection's
 * flow-control windows.  h2g_h2_resume_capture keeps what the client
 * set (a few words); the nghttp2 session can then be deleted.  When the
 * client speaks again, h2g_h2_resume_replay takes a fresh session, on
 * which the caller has submitted the same SETTINGS and local window as
 * the first time, to the same place: it sends (and drops) that output,
 * and feeds it the client's preface, SETTINGS, an ACK of ours and the
 * connection WINDOW_UPDATE the client's credit adds up to.  Nothing of
 * it reaches the client.
 *
 * Pure: nghttp2 in memory, no I/O.  The session's callbacks run during
 * the replay (on_frame_recv for the synthetic frames, on_frame_send for
 * the dropped ones); the caller tells them apart.
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
};

/* Keeps what the client set on `ng`.  false when the session cannot be
 * put away and brought back: a stream was ever opened, HPACK state
 * exists, or our send window is below the initial one. */
bool h2g_h2_resume_capture(nghttp2_session *ng, struct h2g_h2_resume *r);

/* Brings a fresh server session `ng` (our SETTINGS and local window
 * already submitted) to the captured state.  0, or an nghttp2 error. */
int h2g_h2_resume_replay(nghttp2_session *ng, const struct h2g_h2_resume *r);

#endif
