/*
 * h2_session.h: the HTTP/2 server session of one client connection.
 *
 * Lifecycle: made by the connection through h2_session_ops (ALPN "h2",
 * the cleartext preface, or conn_switch_session for an HTTP/1.1
 * "Upgrade: h2c", whose request becomes stream 1), owned by the
 * connection, called only through the ops and freed by it.  It owns one
 * nghttp2 server session and every h2g_stream of it (stream
 * user data; freed in on_stream_close).  Output goes to the conn's
 * bufferevent through nghttp2_session_send, at most H2_OUT_CAP buffered:
 * above that nghttp2 is told WOULDBLOCK and DATA stays deferred, which
 * stops the upstreams (stream.h).  On a cleartext connection whose
 * socket takes whole rounds, the cap doubles round by round up to
 * H2_OUT_BULK (fewer, larger writes for bulk data) and falls back to
 * H2_OUT_CAP at the first write the socket does not take whole: a slow
 * client makes us hold at most H2_OUT_BULK once, H2_OUT_CAP after.
 * Sending is batched: one flush per event-loop turn however many
 * streams made progress.
 */
#ifndef H2G_H2_SESSION_H
#define H2G_H2_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h2g_h2_session;
struct h2g_session_ops;

extern const struct h2g_session_ops h2_session_ops;

/* Per-session counters (the Node http2 Http2Session state and
 * performance entry fields); read from the owning worker only. */
struct h2g_h2_stats {
    uint64_t bytes_in, bytes_out;   /* whole frames, as on the wire */
    uint64_t frames_in, frames_out;
    uint64_t streams_opened, streams_closed;
    uint64_t stream_us_total;       /* sum of stream lifetimes */
    unsigned peak_streams;
    uint64_t ping_rtt_us;           /* 0 until our PING was answered */
};
struct h2g_stream;

#define H2_OUT_CAP (128 * 1024)
#define H2_OUT_BULK (1024 * 1024)

unsigned h2_session_open_streams(const struct h2g_h2_session *h);
const struct h2g_h2_stats *h2_session_stats(const struct h2g_h2_session *h);
/* Introspection (h2gatectl): open streams (iterate with LIST_NEXT(s, link))
 * and flow-control windows. */
struct h2g_stream *h2_session_first_stream(const struct h2g_h2_session *h);
int32_t h2_session_local_window(const struct h2g_h2_session *h);
int32_t h2_session_remote_window(const struct h2g_h2_session *h);
/* Put away while idle (core/h2_resume.h): no nghttp2 session until the
 * client speaks again. */
bool h2_session_dormant(const struct h2g_h2_session *h);

#endif
