#include "edge/h2_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/blockcache.h"
#include "edge/conn.h"
#include "core/errors.h"
#include "runtime/evbuf.h"
#include "runtime/heap_trim.h"
#include "edge/listener.h"
#include "runtime/log.h"
#include "runtime/sockread.h"
#include "stream/stream.h"
#include "runtime/stats.h"
#include "runtime/services.h"
#include "runtime/slab.h"
#include "core/units.h"
#include "core/h2_resume.h"

struct h2g_h2_session {
    struct h2g_conn *conn;
    nghttp2_session *ng;
    size_t ng_bytes;         /* bytes nghttp2 holds now (HPACK tables, queues, streams) */
    struct event *sweep_ev;  /* timeouts.stream_idle, while streams are open */
    unsigned invalid_frames; /* max_session_invalid_frames */
    unsigned rejected_streams; /* max_session_rejected_streams */
    struct h2g_h2_stats stats;
    uint64_t ping_sent_us;   /* our PING in flight, for the RTT */
    uint32_t stop_ping_seq;  /* the last stop PING sent (stop_after_round_trip) */
    bool stop_ping_inflight;
    bool stop_ping_wanted;   /* streams wait for the next stop PING */
    double rst_tokens;       /* stream_reset_burst / _rate bucket */
    /* The client's frames as it sent them (scan_frames), ahead of nghttp2. */
    uint32_t scan_left;      /* bytes of the current frame (at first: the preface) to skip */
    uint8_t scan_hd[9];      /* a frame header cut by the end of a read */
    uint8_t scan_hd_len;
    size_t scan_ahead;       /* input scanned that nghttp2 has not taken yet */
    int32_t last_stream_id;  /* highest client stream id opened (HEADERS), -1 before */
    uint32_t remote_iw;      /* the client's SETTINGS_INITIAL_WINDOW_SIZE */
    uint64_t ended[4];       /* the 256 odd ids up to last_stream_id: the client ended its side */
    /* Ids skipped by the client: [lo, hi] pairs, GAPS_MAX at most; made
     * at the first skip (128 bytes most sessions never need). */
    int32_t *gaps;
    unsigned n_gaps;
    bool gaps_overflow;      /* too many to track: stop judging */
    bool patch_settings;     /* our first SETTINGS is still to be written */
    uint8_t out_grow;        /* the output cap is H2_OUT_CAP << out_grow (flush) */
    uint64_t rst_last_us;
    struct event *flush_ev;  /* deferred flush, once per loop turn */
    struct evbuffer *frame_buf; /* a DATA payload on its way to the output (send_data_cb) */
    LIST_HEAD(, h2g_stream) streams; /* every open stream, owned */
    unsigned n_streams;
    bool flush_pending;
    bool got_frame;          /* the preface and a first frame arrived */
    bool draining;           /* shutdown notice sent (RFC 9113 6.8) */
    bool goaway_final;       /* the last GOAWAY with the real last stream id sent */
    bool dead;               /* fatal error: no more nghttp2 calls */
    bool in_recv;            /* inside nghttp2_session_mem_recv */
    bool recv_ended;         /* a callback of that read ended the session (recv_result) */
    bool settings_acked;     /* the client acknowledged our SETTINGS */
    /* Dormant (ng NULL, no flush or sweep event): an idle session, put
     * away until the client speaks again (maybe_sleep). */
    struct h2g_h2_resume resume;
    bool quiet;              /* no stream for QUIET_MS: may be put away */
    bool shedding;           /* our SETTINGS_HEADER_TABLE_SIZE 0 is in flight */
    bool table_shed;         /* ...and acknowledged: the client's table is 0 */
    bool replaying;          /* wake: the frames are h2_resume's, not the client's */
    bool calm_ours;          /* we ended it with ENHANCE_YOUR_CALM, the refusal counted */
};

static const struct h2g_stream_ops h2_stream_ops;
static void schedule_flush(struct h2g_h2_session *h);
static bool reset_allowed(struct h2g_h2_session *h);
static void finish_goaway(struct h2g_h2_session *h);
static void check_initial_window(struct h2g_h2_session *h, const nghttp2_settings *set);

/* --- memory accounting (limits.max_session_memory) --- */

/* Blocks come from the thread's block cache (blockcache.h), which also
 * records each block's size, so free can uncount it. */
static void *mem_malloc(size_t size, void *ud)
{
    struct h2g_h2_session *h = ud;
    void *p = h2g_block_alloc(size);
    if (p != NULL)
        h->ng_bytes += size;
    return p;
}

static void mem_free(void *ptr, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (ptr == NULL)
        return;
    h->ng_bytes -= h2g_block_size(ptr);
    h2g_block_free(ptr);
}

static void *mem_calloc(size_t n, size_t size, void *ud)
{
    struct h2g_h2_session *h = ud;
    void *p = h2g_block_calloc(n, size);
    if (p != NULL)
        h->ng_bytes += n * size;
    return p;
}

static void *mem_realloc(void *ptr, size_t size, void *ud)
{
    struct h2g_h2_session *h = ud;
    size_t old = ptr ? h2g_block_size(ptr) : 0;
    void *q = h2g_block_realloc(ptr, size);
    if (q != NULL)
        h->ng_bytes = h->ng_bytes - old + size;
    return q;
}

/* What the session holds now: nghttp2's own state, our streams and their
 * buffers, and output not yet written to the socket. */
static size_t session_memory(const struct h2g_h2_session *h)
{
    size_t n = h->ng_bytes + evbuffer_get_length(bufferevent_get_output(h->conn->bev));
    const struct h2g_stream *s;
    LIST_FOREACH(s, &h->streams, link) {
        n += sizeof(*s) + s->store.cap;
        if (s->req_body)
            n += evbuffer_get_length(s->req_body);
        if (s->resp_body)
            n += evbuffer_get_length(s->resp_body);
    }
    return n;
}

/* Is the session over limits.max_session_memory?  The exact sum walks
 * every stream's buffers (cold memory, for each new stream); it is only
 * needed when an upper bound -- each stream at its caps: head store,
 * request body within its window, response buffer (a tunnel's, the
 * larger) and one read -- says the limit could be crossed. */
static bool session_memory_over(const struct h2g_h2_session *h)
{
    const struct h2g_limits *lim = &h->conn->config->limits;
    size_t per_stream = sizeof(struct h2g_stream) + 2 * (size_t)lim->max_header_list_size + 1024 +
                        lim->initial_window_size + H2G_STREAM_RESP_CAP + H2G_TUNNEL_BULK_CAP + H2G_TUNNEL_BATCH;
    size_t bound = h->ng_bytes + evbuffer_get_length(bufferevent_get_output(h->conn->bev)) +
                   (size_t)h->n_streams * per_stream;
    if (bound <= lim->max_session_memory)
        return false;
    return session_memory(h) > lim->max_session_memory;
}

/* GOAWAY(code), after which the session ends; a GOAWAY that cannot be
 * queued (out of memory) ends it at once. */
static void end_session(struct h2g_h2_session *h, uint32_t code)
{
    if (h->in_recv)
        h->recv_ended = true;
    if (nghttp2_session_terminate_session(h->ng, code) != 0 && !h->dead) {
        h->dead = true;
        conn_close(h->conn, false);
    }
}

/* Counts a refusal that ends the session, once per session: a client
 * may cross a limit again before the GOAWAY is out. */
static void count_session_refusal(struct h2g_h2_session *h, enum h2g_refusal r)
{
    if (h->calm_ours)
        return;
    h->calm_ours = true;
    STAT_INC(&h->conn->svc->stats, refusals[r]);
}

static void enhance_your_calm(struct h2g_h2_session *h, enum h2g_refusal r, const char *why)
{
    LOG_WARN("conn=%llu: %s: GOAWAY ENHANCE_YOUR_CALM", (unsigned long long)h->conn->id, why);
    count_session_refusal(h, r);
    end_session(h, NGHTTP2_ENHANCE_YOUR_CALM);
}

/* A stream refused at creation; too many of them is a misbehaving peer. */
/* A stream refused before any response (RST_STREAM sent by nghttp2 or
 * by us, or a 431); too many of them is a misbehaving peer (Node's
 * maxSessionRejectedStreams). */
static void count_rejected(struct h2g_h2_session *h)
{
    STAT_INC(&h->conn->svc->stats, refused_streams);
    if (++h->rejected_streams > h->conn->config->limits.max_session_rejected_streams)
        enhance_your_calm(h, H2G_REFUSAL_REJECTED_STREAMS, "max_session_rejected_streams exceeded");
}

#define SESSION(s) ((struct h2g_h2_session *)(s)->session)

/*
 * nghttp2 could not queue a frame a stream or the session depends on (out
 * of memory): without it a stream would wait forever, or the client's
 * window stay shut.  The session ends with GOAWAY(INTERNAL_ERROR), sent
 * by the next flush, which then closes the connection; when even the
 * GOAWAY cannot be queued, the connection is closed at once.  Safe from
 * nghttp2's callbacks (nothing is sent from here).
 */
static void session_nomem(struct h2g_h2_session *h, const char *what)
{
    if (h->dead)
        return;
    LOG_WARN("conn=%llu: out of memory (%s): closing the connection", (unsigned long long)h->conn->id, what);
    end_session(h, NGHTTP2_INTERNAL_ERROR);
    schedule_flush(h);
}

/* RST_STREAM for a stream of ours (once its client side ends it). */
static void reset_stream(struct h2g_h2_session *h, struct h2g_stream *s, uint32_t code)
{
    s->reset = true;
    if (nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, s->id, code) != 0)
        session_nomem(h, "RST_STREAM");
}

/*
 * A response complete before its request (an upstream that answered
 * early, a 413, a 408): the client is asked to stop sending with
 * RST_STREAM(NO_ERROR) (RFC 9113 8.1) one round trip later, measured by a
 * PING sent after the response.  Until its ACK, what the client sent
 * before it could see the response still arrives on an open stream, read
 * and judged as any frame (a reset sent at once would make those frames
 * "ignored", and whether a client's mistake is answered would depend on
 * how fast the upstream was), and a small body usually ends first (curl
 * 7.88 reports an upload that is reset as failed).  One stop PING is in
 * flight per session at most; streams that come meanwhile wait for the
 * next.  A client that acknowledges nothing is stopped by stream_idle.
 */
#define STOP_PING_TAG "h2gS"

static void send_stop_ping(struct h2g_h2_session *h)
{
    uint8_t data[8];
    uint32_t seq = ++h->stop_ping_seq;
    memcpy(data, STOP_PING_TAG, 4);
    data[4] = (uint8_t)(seq >> 24);
    data[5] = (uint8_t)(seq >> 16);
    data[6] = (uint8_t)(seq >> 8);
    data[7] = (uint8_t)seq;
    if (nghttp2_submit_ping(h->ng, NGHTTP2_FLAG_NONE, data) == 0)
        h->stop_ping_inflight = true;
}

static void stop_after_round_trip(struct h2g_h2_session *h, struct h2g_stream *s)
{
    if (!h->stop_ping_inflight) {
        send_stop_ping(h);
        s->stop_ping = h->stop_ping_seq;
    } else {
        s->stop_ping = h->stop_ping_seq + 1;
        h->stop_ping_wanted = true;
    }
}

/* A PING ACK: true if it was a stop PING (then handled). */
static bool stop_ping_acked(struct h2g_h2_session *h, const uint8_t *data)
{
    if (memcmp(data, STOP_PING_TAG, 4) != 0)
        return false;
    uint32_t seq = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) | ((uint32_t)data[6] << 8) | data[7];
    h->stop_ping_inflight = false;
    struct h2g_stream *s;
    LIST_FOREACH(s, &h->streams, link) {
        if (s->stop_ping != 0 && s->stop_ping <= seq) {
            s->stop_ping = 0;
            if (!s->req_end && !s->reset)
                reset_stream(h, s, NGHTTP2_NO_ERROR);
        }
    }
    if (h->stop_ping_wanted) {
        h->stop_ping_wanted = false;
        send_stop_ping(h);
    }
    return true;
}

static void arm_timer(struct h2g_h2_session *h, uint64_t ms)
{
    if (h->conn->state >= H2G_CONN_CLOSING)
        return; /* the timer bounds the close now (conn.c) */
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(h->conn->timer, &tv); /* the connection's (h2_session_on_timer) */
}

static void schedule_flush(struct h2g_h2_session *h)
{
    if (!h->flush_pending && !h->dead && h->ng != NULL) {
        h->flush_pending = true;
        event_active(h->flush_ev, EV_WRITE, 0);
    }
}

static void fatal(struct h2g_h2_session *h, const char *what, int rv)
{
    LOG_INFO("conn=%llu: h2 session ended: %s: %s", (unsigned long long)h->conn->id, what,
             nghttp2_strerror(rv));
    h->dead = true;
    conn_close(h->conn, true);
}

/* Output caps one flush fills (while the socket takes all it is given),
 * FLUSH_BUDGET bytes at most; the rest is written on the next loop turn
 * (EV_WRITE), so a connection with much to send does not keep the others
 * waiting. */
#define FLUSH_ROUNDS 8
#define FLUSH_BUDGET (2 * H2_OUT_BULK)

static size_t out_cap(const struct h2g_h2_session *h)
{
    return (size_t)H2_OUT_CAP << h->out_grow;
}

/* Sends what nghttp2 has queued, an output cap at a time, then closes
 * the connection if the session is over. */
static void flush(struct h2g_h2_session *h)
{
    h->flush_pending = false;
    if (h->dead || h->ng == NULL)
        return;
    size_t written = 0;
    for (int round = 1;; round++) {
        int rv = nghttp2_session_send(h->ng);
        if (rv != 0) {
            fatal(h, "send", rv);
            return;
        }
        if (h->conn->tls)
            break;
        /* Cleartext: written now, not on the next loop turn's EV_WRITE
         * (an epoll round and two epoll_ctl less); the bufferevent takes
         * over only what the socket does not accept.  Once the socket
         * takes everything again, writes are direct again: the output
         * is refilled and written until nghttp2 has nothing left, not
         * one cap per loop turn.  A round that produced nothing ends
         * the flush, whatever nghttp2_session_want_write says. */
        struct bufferevent *bev = h->conn->bev;
        size_t len = evbuffer_get_length(bufferevent_get_output(bev));
        bool produced = len > 0;
        if (produced) {
            if ((round == FLUSH_ROUNDS || written >= FLUSH_BUDGET) && nghttp2_session_want_write(h->ng)) {
                bufferevent_enable(bev, EV_WRITE);
                break;
            }
            if (!sockwrite_now(bev, -1)) {
                h->out_grow = 0;
                break;
            }
            written += len;
            /* The socket took a whole round the cap cut short: it can
             * take a larger one. */
            if (len >= out_cap(h) && out_cap(h) < H2_OUT_BULK)
                h->out_grow++;
        }
        if (h->conn->state == H2G_CONN_SESSION && (bufferevent_get_enabled(bev) & EV_WRITE))
            bufferevent_disable(bev, EV_WRITE);
        if (!produced || !nghttp2_session_want_write(h->ng))
            break;
    }
    if (!nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng)) {
        h->dead = true;
        conn_close(h->conn, true);
    }
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    flush(arg);
}

/* timeouts.stream_idle: one timer per session, not per stream; tunnels
 * have their own (tunnel_idle). */
static void arm_sweep(struct h2g_h2_session *h)
{
    uint64_t ms = h->conn->config->timeouts.stream_idle;
    uint64_t step = ms / 4 > 250 ? ms / 4 : (ms < 250 ? ms : 250);
    struct timeval tv = h2g_ms_timeval(step);
    evtimer_add(h->sweep_ev, &tv);
}

/*
 * A session that has served streams is put away (maybe_sleep) only after
 * QUIET_MS without one: a client between two requests is not made to pay
 * for a wake, nor to lose its HPACK table, and a client that tests how we
 * answer a sequence of frames (h2spec waits 5 s at most) is not sent a
 * SETTINGS frame in the middle of it.  The stream sweep's timer, unused
 * while no stream is open, times it.
 */
#define QUIET_MS 5000

static void arm_quiet(struct h2g_h2_session *h)
{
    struct timeval tv = h2g_ms_timeval(QUIET_MS);
    evtimer_add(h->sweep_ev, &tv);
}

static void maybe_sleep(struct h2g_h2_session *h);

/* Quiet: what the client sent is all consumed, its window is given back
 * whole; and the client's HPACK table, which a woken session would not
 * know, must be emptied, which only the client can do: it is asked to
 * (SETTINGS_HEADER_TABLE_SIZE 0, RFC 7541 4.2), and the session sleeps
 * when it has acknowledged (on_frame_recv). */
static void go_quiet(struct h2g_h2_session *h)
{
    h->quiet = true;
    int32_t owed = nghttp2_session_get_effective_recv_data_length(h->ng);
    if (owed > 0 && nghttp2_submit_window_update(h->ng, NGHTTP2_FLAG_NONE, 0, owed) != 0)
        return; /* out of memory: stays awake */
    if (nghttp2_session_get_hd_inflate_dynamic_table_size(h->ng) > 0 && !h->shedding) {
        nghttp2_settings_entry none = {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 0};
        if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, &none, 1) != 0)
            return;
        h->shedding = true;
    }
    flush(h);
    maybe_sleep(h);
}

/* The client may use the configured HPACK table again. */
static void unshed_table(struct h2g_h2_session *h)
{
    nghttp2_settings_entry back = {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, h->conn->config->limits.header_table_size};
    if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, &back, 1) == 0)
        h->table_shed = false;
    schedule_flush(h);
}

/* Our SETTINGS acknowledged: the first, or go_quiet's, whose table size
 * of 0 is in force now (the session sleeps after this read). */
static void on_settings_ack(struct h2g_h2_session *h)
{
    h->settings_acked = true;
    if (h->shedding && nghttp2_session_get_local_settings(h->ng, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE) == 0) {
        h->shedding = false;
        h->table_shed = true;
        if (!h->quiet)
            unshed_table(h); /* a stream came meanwhile */
    }
}

/* The connection is being closed (by the session, or by conn.c: the
 * client went away, the write timeout): its timers may still fire in the
 * same loop turn, and must do nothing. */
static bool closing(const struct h2g_h2_session *h)
{
    return h->dead || h->conn->state >= H2G_CONN_CLOSING;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_h2_session *h = arg;
    if (closing(h))
        return;
    if (h->n_streams == 0) { /* the quiet timer (arm_quiet) */
        go_quiet(h);
        return;
    }
    uint64_t now = h2g_mono_ms(), limit = h->conn->config->timeouts.stream_idle;
    struct h2g_stream *s;
    bool stuck = false, any = false;
    LIST_FOREACH(s, &h->streams, link) {
        /* Reset streams are gone as soon as the RST_STREAM is written; a
         * client that takes nothing is the connection's write timeout's. */
        if (s->reset)
            continue;
        if (stream_tunnel_live(s))
            continue; /* timed by tunnel_idle */
        if (now - s->last_active_ms < limit)
            continue;
        if (s->stop_ping != 0) {
            /* Answered, and the client neither ended its request nor
             * acknowledged the stop PING: stopped all the same, the
             * response was whole. */
            reset_stream(h, s, NGHTTP2_NO_ERROR);
            any = true;
            continue;
        }
        if (!s->dispatched) {
            /* A header block left unfinished: nothing but its
             * CONTINUATION may follow, the whole connection waits. */
            stuck = true;
            continue;
        }
        stream_timed_out(s);
        any = true;
    }
    if (stuck) {
        LOG_INFO("conn=%llu: request head not complete within stream_idle: closing the connection",
                 (unsigned long long)h->conn->id);
        STAT_INC(&h->conn->svc->stats, timeouts[H2G_TIMEOUT_REQUEST_HEAD]);
        nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
        nghttp2_session_send(h->ng);
        h->dead = true;
        conn_close(h->conn, true); /* the flush is bounded (conn.c) */
        return;
    }
    if (any)
        flush(h);
    if (!h->dead && h->n_streams > 0)
        arm_sweep(h);
}

static int wake(struct h2g_h2_session *h);

/* The connection's timer: the handshake, then the idle timeout, or the
 * grace after a shutdown notice.  Always the session's to deal with
 * (true), even when it closes the connection. */
static bool h2_session_on_timer(void *arg)
{
    struct h2g_h2_session *h = arg;
    if (closing(h) || wake(h) != 0)
        return true;
    if (h->draining && !h->goaway_final) {
        finish_goaway(h);
        return true;
    }
    if (!h->got_frame) {
        LOG_INFO("conn=%llu: no HTTP/2 preface within the handshake timeout", (unsigned long long)h->conn->id);
        STAT_INC(&h->conn->svc->stats, timeouts[H2G_TIMEOUT_HANDSHAKE]);
        h->dead = true;
        conn_close(h->conn, false);
        return true;
    }
    if (h->n_streams == 0) {
        STAT_INC(&h->conn->svc->stats, timeouts[H2G_TIMEOUT_IDLE]);
        nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
        flush(h);
        /* The GOAWAY could not be written (the client reads nothing):
         * the connection goes anyway, after a bounded flush. */
        if (!h->dead) {
            h->dead = true;
            conn_close(h->conn, true);
        }
    }
    return true;
}

/* --- nghttp2 callbacks --- */

/*
 * nghttp2 treats a HEADERS beyond its acknowledged
 * SETTINGS_MAX_CONCURRENT_STREAMS as a connection error; RFC 9113 5.1.2
 * allows (and operators expect) a stream error, REFUSED_STREAM.  So
 * nghttp2 is given a higher internal ceiling, the client is told the
 * configured value (patched into our first SETTINGS frame on its way
 * out), and on_begin_headers refuses streams beyond it.
 */
#define STREAMS_HEADROOM 100

static void patch_first_settings(struct h2g_h2_session *h, uint8_t *p, size_t len)
{
    h->patch_settings = false;
    if (len < 9 || p[3] != NGHTTP2_SETTINGS || (p[4] & NGHTTP2_FLAG_ACK))
        return;
    size_t flen = ((size_t)p[0] << 16) | ((size_t)p[1] << 8) | p[2];
    if (flen + 9 > len)
        return;
    uint32_t v = h->conn->config->limits.max_concurrent_streams;
    for (size_t off = 9; off + 6 <= 9 + flen; off += 6) {
        if (p[off] == 0 && p[off + 1] == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) {
            p[off + 2] = (uint8_t)(v >> 24);
            p[off + 3] = (uint8_t)(v >> 16);
            p[off + 4] = (uint8_t)(v >> 8);
            p[off + 5] = (uint8_t)v;
        }
    }
}

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (evbuffer_get_length(out) >= out_cap(h))
        return NGHTTP2_ERR_WOULDBLOCK;
    if (h->patch_settings) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, len, &v, 1) < 1)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        memcpy(v.iov_base, data, len);
        patch_first_settings(h, v.iov_base, len);
        v.iov_len = len;
        evbuffer_commit_space(out, &v, 1);
        h->stats.bytes_out += len;
        return (ssize_t)len;
    }
    if (evbuffer_add(out, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    h->stats.bytes_out += len;
    return (ssize_t)len;
}

/* DATA payloads move from the stream's buffer to the socket buffer
 * without a copy (NGHTTP2_DATA_FLAG_NO_COPY). */
static int send_data_cb(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                        nghttp2_data_source *source, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct h2g_stream *s = source->ptr;
    struct evbuffer *out = bufferevent_get_output(h->conn->bev);
    if (evbuffer_get_length(out) >= out_cap(h))
        return NGHTTP2_ERR_WOULDBLOCK;
    /* A frame goes out whole or not at all (evbuf.h): a header without
     * its payload would break every frame after it.  Out of memory, the
     * stream alone is reset (nghttp2 sends RST_STREAM INTERNAL_ERROR). */
    if (length > 0 && conn_seals_each_chain(h->conn)) {
        /* Copied into the output's chains rather than linked in as chains
         * of their own: OpenSSL seals each output chain in a record of
         * its own, so frames packed together make few records. */
        unsigned char *p = evbuffer_pullup(s->resp_body, (ev_ssize_t)length);
        struct evbuf_piece whole[2] = {{framehd, 9}, {p, length}};
        if (p == NULL || evbuf_add_all(out, whole, 2) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        evbuffer_drain(s->resp_body, length);
    } else if (s->frame_whole) {
        /* The common case (data_read_cb cuts frames on chain ends):
         * relinking whole chains allocates nothing, so once the header is
         * in (evbuffer_add appends all of it or nothing) the frame is
         * whole. */
        if (evbuffer_add(out, framehd, 9) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (length > 0)
            evbuffer_remove_buffer(s->resp_body, out, length);
    } else {
        struct evbuf_piece hd = {framehd, 9};
        /* The payload first, into a buffer of its own kept for the next
         * frame: once it is there, only linking remains. */
        if (h->frame_buf == NULL && (h->frame_buf = evbuffer_new()) == NULL)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (evbuf_move(s->resp_body, h->frame_buf, length) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (evbuf_add_all(out, &hd, 1) != 0) {
            evbuffer_prepend_buffer(s->resp_body, h->frame_buf);
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        evbuffer_add_buffer(out, h->frame_buf);
    }
    s->bytes_out += length;
    s->last_active_ms = h2g_mono_ms();
    h->stats.bytes_out += 9 + length;
    stream_response_drained(s);
    return 0;
}

/* Smallest DATA payload worth a frame while more is waiting: a client
 * that opens its window a few bytes at a time must not make us send
 * 10-byte frames forever (timeouts.stream_idle ends a stream that never
 * opens its window enough). */
#define MIN_DATA_FRAME 1024

static ssize_t data_read_cb(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *ud)
{
    struct h2g_stream *s = source->ptr;
    size_t avail = s->resp_body ? evbuffer_get_length(s->resp_body) : 0;
    if (avail == 0 && !s->resp_complete)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = avail < length ? avail : length;
    /* Cut on the first chain's end when it holds a frame's worth: the
     * frame then moves to the output without a copy (send_data_cb), and
     * upstream reads (SOCKREAD_FRAME_CHUNK) make chains of one frame. */
    struct evbuffer_iovec first;
    s->frame_whole = n == avail;
    if (n < avail && evbuffer_peek(s->resp_body, -1, NULL, &first, 1) > 0) {
        if (first.iov_len < n && first.iov_len >= MIN_DATA_FRAME)
            n = first.iov_len;
        s->frame_whole = first.iov_len == n;
    }
    if (n < avail && n < MIN_DATA_FRAME) {
        uint32_t iw = nghttp2_session_get_remote_settings(ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
        if (n < iw / 4) {
            s->window_starved = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    if (n > 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && s->resp_complete) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->n_resp_trailers > 0) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (nghttp2_submit_trailer(ng, stream_id, s->resp_trailers, s->n_resp_trailers) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST || h->replaying)
        return 0;
    h->quiet = false;
    if (h->table_shed)
        unshed_table(h);
    struct h2g_stream *s = stream_new(&h->conn->facts, &h2_stream_ops, h, frame->hd.stream_id);
    if (s == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* out of memory: this stream is reset */
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, s);
    LIST_INSERT_HEAD(&h->streams, s, link);
    if (h->n_streams++ == 0) {
        evtimer_del(h->conn->timer);
        arm_sweep(h);
    }
    h->stats.streams_opened++;
    if (h->n_streams > h->stats.peak_streams)
        h->stats.peak_streams = h->n_streams;
    if (h->n_streams > h->conn->config->limits.max_concurrent_streams) {
        LOG_INFO("conn=%llu stream=%d: refused: max_concurrent_streams", (unsigned long long)h->conn->id,
                 frame->hd.stream_id);
        s->rejected = true;
        STAT_INC(&h->conn->svc->stats, refusals[H2G_REFUSAL_CONCURRENT_STREAMS]);
        reset_stream(h, s, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    /* Credit-based, as in Node: streams already open may take the session
     * past the limit, new ones are refused while it is. */
    if (session_memory_over(h)) {
        LOG_INFO("conn=%llu stream=%d: refused: max_session_memory", (unsigned long long)h->conn->id,
                 frame->hd.stream_id);
        s->rejected = true;
        STAT_INC(&h->conn->svc->stats, refusals[H2G_REFUSAL_MAX_SESSION_MEMORY]);
        reset_stream(h, s, NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL || s->rejected)
        return 0;
    int rc;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        rc = stream_add_field(s, (const char *)name, namelen, (const char *)value, valuelen);
    else
        rc = stream_add_trailer(s, (const char *)name, namelen, (const char *)value, valuelen);
    if (rc == H2G_ERR_TOO_LARGE)
        return 0; /* answered with 431 once the head is complete */
    if (rc == H2G_ERR_NOMEM)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* this stream alone is reset */
    if (rc != 0) {
        s->rejected = true;
        reset_stream((struct h2g_h2_session *)ud, s, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (!h->got_frame) {
        h->got_frame = true;
        if (h->n_streams == 0)
            arm_timer(h, h->conn->config->timeouts.idle);
    }
    h->stats.frames_in++;
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
        check_initial_window(h, &frame->settings);
    if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK))
        on_settings_ack(h);
    if (frame->hd.type == NGHTTP2_RST_STREAM && !reset_allowed(h)) {
        enhance_your_calm(h, H2G_REFUSAL_RESET_FLOOD, "stream_reset_rate exceeded (rapid reset)");
        return 0;
    }
    if (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        ++h->invalid_frames > h->conn->config->limits.max_session_invalid_frames) {
        /* Empty DATA frames carry nothing: a flood of them is abuse. */
        enhance_your_calm(h, H2G_REFUSAL_INVALID_FRAMES, "empty DATA frame flood");
        return 0;
    }
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) &&
        !stop_ping_acked(h, frame->ping.opaque_data)) {
        if (h->ping_sent_us != 0) {
            h->stats.ping_rtt_us = h2g_mono_us() - h->ping_sent_us;
            h->ping_sent_us = 0;
        }
        /* A round trip after the shutdown notice: every request the
         * client sent before seeing it has arrived. */
        if (h->draining && !h->goaway_final)
            finish_goaway(h);
    }
    if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) {
        /* Streams held back for a bigger window may go on now. */
        struct h2g_stream *w;
        LIST_FOREACH(w, &h->streams, link) {
            if (w->window_starved && (frame->hd.stream_id == 0 || frame->hd.stream_id == w->id)) {
                w->window_starved = false;
                if (nghttp2_session_resume_data(ng, w->id) == NGHTTP2_ERR_NOMEM) {
                    w->resp_failed = true;
                    reset_stream(h, w, NGHTTP2_INTERNAL_ERROR);
                }
            }
        }
    }
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL || s->rejected)
        return 0;
    s->last_active_ms = h2g_mono_ms();
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            if (s->too_many_fields)
                count_rejected(h);
            /* Known before routing: a request without a body is sent
             * upstream without one (no chunked framing). */
            if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
                s->req_end = true;
            stream_dispatch(s);
        }
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            stream_request_end(s);
        break;
    case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            stream_request_end(s);
        break;
    case NGHTTP2_RST_STREAM:
        s->client_reset = true; /* nghttp2 closes the stream next */
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t stream_id, const uint8_t *data,
                              size_t len, void *ud)
{
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (s == NULL || s->rejected) {
        if (nghttp2_session_consume(ng, stream_id, len) == NGHTTP2_ERR_NOMEM)
            session_nomem(ud, "WINDOW_UPDATE");
        return 0;
    }
    s->last_active_ms = h2g_mono_ms();
    if (stream_request_data(s, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code, void *ud)
{
    struct h2g_h2_session *h = ud;
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, stream_id);
    if (s == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(ng, stream_id, NULL);
    LOG_DEBUG("conn=%llu stream=%d: closed (%s)", (unsigned long long)h->conn->id, stream_id,
              nghttp2_http2_strerror(error_code));
    if (error_code != NGHTTP2_NO_ERROR && !s->resp_complete)
        s->resp_failed = true;
    /* Body bytes nobody will read now (a reset stream, an upstream that
     * answered early) would keep their share of the connection's window
     * for good: hand it back. */
    if (s->bytes_in > s->bytes_acked &&
        nghttp2_session_consume_connection(ng, (size_t)(s->bytes_in - s->bytes_acked)) == NGHTTP2_ERR_NOMEM)
        session_nomem(h, "WINDOW_UPDATE");
    LIST_REMOVE(s, link);
    s->end_us = h2g_mono_us(); /* the metrics' and the access log's end too */
    h->stats.stream_us_total += s->end_us - s->start_us;
    h->stats.streams_closed++;
    stream_free(s);
    if (--h->n_streams == 0) {
        evtimer_del(h->sweep_ev);
        if (!h->draining) {
            arm_timer(h, h->conn->config->timeouts.idle);
            arm_quiet(h);
        }
        else if (h->goaway_final)
            end_session(h, NGHTTP2_NO_ERROR);
    }
    return 0;
}

/*
 * Frames on streams the client has closed (RFC 9113 5.1).  nghttp2 is
 * told to keep no closed streams (keeping them costs about 300
 * instructions per proxied request, this scan about 100), so it drops
 * any frame on a stream it no longer knows, and it knows nothing of ids
 * the client skipped.  Which of those frames are
 * errors depends only on what the client itself sent, so it is judged
 * here, from the frame headers, before nghttp2 reads them:
 *  - DATA or HEADERS after the client's END_STREAM or RST_STREAM on that
 *    stream: STREAM_CLOSED (a connection error: 5.1 "closed"; after an
 *    RST_STREAM the RFC asks for a stream error, 5.4.1 lets it be one of
 *    the connection).  The client knows what it sent, so this holds
 *    however the stream ended on our side;
 *  - HEADERS on an id the client skipped: PROTOCOL_ERROR (5.1.1), DATA
 *    there: STREAM_CLOSED (skipped ids are closed);
 *  - anything else on a stream we closed is dropped, as nghttp2 does: a
 *    stream we reset (a refused stream, an early answer's NO_ERROR, a
 *    timeout's CANCEL) may still receive what the client sent before our
 *    RST_STREAM reached it, and 5.1 says to ignore that; streams above
 *    the last id of our GOAWAY are dropped for the same reason (6.8).
 *    WINDOW_UPDATE, RST_STREAM and PRIORITY are never judged: they may
 *    follow an END_STREAM.
 * "Ended" is one bit per odd id over the last 256 client stream ids (a
 * ring, 32 bytes); older streams are not judged, nor are ids skipped once
 * more than GAPS_MAX (16) gaps were made.
 */
#define ENDED_WINDOW 256
#define GAPS_MAX 16

static bool in_gap(const struct h2g_h2_session *h, int32_t id)
{
    for (unsigned i = 0; i < h->n_gaps; i++)
        if (id >= h->gaps[2 * i] && id <= h->gaps[2 * i + 1])
            return true;
    return false;
}

static bool ended_in_window(const struct h2g_h2_session *h, int32_t id)
{
    return id <= h->last_stream_id && (h->last_stream_id - id) / 2 < ENDED_WINDOW;
}

#define ENDED_WORD(id) ((uint32_t)(id) / 128 % 4)
#define ENDED_BIT(id) ((uint64_t)1 << ((uint32_t)(id) / 2 % 64))

/* The client opened stream id (above every id before it). */
static void open_stream_id(struct h2g_h2_session *h, int32_t id)
{
    if (id > h->last_stream_id + 2) {
        if (h->gaps == NULL && !h->gaps_overflow)
            h->gaps = h2g_block_alloc(2 * GAPS_MAX * sizeof(*h->gaps));
        if (h->gaps != NULL && h->n_gaps < GAPS_MAX) {
            h->gaps[2 * h->n_gaps] = h->last_stream_id + 2;
            h->gaps[2 * h->n_gaps + 1] = id - 2;
            h->n_gaps++;
        } else {
            h->gaps_overflow = true; /* too many, or out of memory: stop judging */
        }
    }
    /* The ring's slots of the ids now entering the window held ids 512
     * below.  In 64 bits: from -1 (no stream yet) the first id may be
     * 2^31-1, and a step past an id that high would overflow. */
    if (((int64_t)id - h->last_stream_id) / 2 >= ENDED_WINDOW)
        memset(h->ended, 0, sizeof(h->ended));
    else
        for (int64_t i = (int64_t)h->last_stream_id + 2; i <= id; i += 2)
            h->ended[ENDED_WORD(i)] &= ~ENDED_BIT(i);
    h->last_stream_id = id;
}

/* 0, or the error code of a connection error for this frame. */
static uint32_t judge_frame(struct h2g_h2_session *h, uint8_t type, uint8_t flags, int32_t id)
{
    if ((id & 1) == 0) /* stream 0, or not a client's id: nghttp2 judges */
        return 0;
    if (type == NGHTTP2_RST_STREAM) {
        if (ended_in_window(h, id))
            h->ended[ENDED_WORD(id)] |= ENDED_BIT(id);
        return 0;
    }
    if (type != NGHTTP2_DATA && type != NGHTTP2_HEADERS)
        return 0;
    if (id > h->last_stream_id) {
        if (type == NGHTTP2_DATA) /* on an idle stream: nghttp2 says PROTOCOL_ERROR */
            return 0;
        open_stream_id(h, id);
    } else if (!h->gaps_overflow && in_gap(h, id)) {
        return type == NGHTTP2_HEADERS ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_STREAM_CLOSED;
    } else if (!ended_in_window(h, id)) {
        return 0;
    } else if (h->ended[ENDED_WORD(id)] & ENDED_BIT(id)) {
        return NGHTTP2_STREAM_CLOSED;
    }
    if (flags & NGHTTP2_FLAG_END_STREAM)
        h->ended[ENDED_WORD(id)] |= ENDED_BIT(id);
    return 0;
}

/* Reads the frame headers in p[0..len) (the input after what was scanned
 * before); returns the offset in p where the first frame that is an
 * error starts (0 if it started in an earlier read) and sets *code and
 * *id, or returns len. */
static size_t scan_frames(struct h2g_h2_session *h, const uint8_t *p, size_t len, uint32_t *code, int32_t *id)
{
    size_t off = 0;
    while (off < len) {
        if (h->scan_left > 0) {
            size_t k = len - off < h->scan_left ? len - off : h->scan_left;
            off += k;
            h->scan_left -= (uint32_t)k;
            continue;
        }
        size_t start = h->scan_hd_len == 0 ? off : 0;
        const uint8_t *hd = p + off;
        if (h->scan_hd_len > 0 || len - off < 9) {
            size_t want = 9 - (size_t)h->scan_hd_len;
            size_t k = want < len - off ? want : len - off;
            memcpy(h->scan_hd + h->scan_hd_len, p + off, k);
            h->scan_hd_len += (uint8_t)k;
            off += k;
            if (h->scan_hd_len < 9)
                break;
            h->scan_hd_len = 0;
            hd = h->scan_hd;
        } else {
            off += 9;
        }
        h->scan_left = ((uint32_t)hd[0] << 16) | ((uint32_t)hd[1] << 8) | hd[2];
        *id = (int32_t)((((uint32_t)hd[5] & 0x7f) << 24) | ((uint32_t)hd[6] << 16) | ((uint32_t)hd[7] << 8) | hd[8]);
        *code = judge_frame(h, hd[3], hd[4], *id);
        if (*code != 0)
            return start;
    }
    return len;
}

/* RFC 9113 6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change that takes a
 * stream's window past 2^31-1 is a connection error (nghttp2 resets only
 * the stream).  Runs after nghttp2 applied the rest of the frame. */
static void check_initial_window(struct h2g_h2_session *h, const nghttp2_settings *set)
{
    for (size_t i = 0; i < set->niv; i++) {
        if (set->iv[i].settings_id != NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
            continue;
        int64_t delta = (int64_t)set->iv[i].value - (int64_t)h->remote_iw;
        h->remote_iw = set->iv[i].value;
        if (delta <= 0)
            continue;
        const struct h2g_stream *s;
        LIST_FOREACH(s, &h->streams, link) {
            int32_t w = nghttp2_session_get_stream_remote_window_size(h->ng, s->id);
            if (w >= 0 && (int64_t)w + delta > INT32_MAX) {
                end_session(h, NGHTTP2_FLOW_CONTROL_ERROR);
                return;
            }
        }
    }
}

static int on_invalid_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error_code, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (++h->invalid_frames > h->conn->config->limits.max_session_invalid_frames)
        enhance_your_calm(h, H2G_REFUSAL_INVALID_FRAMES, "max_session_invalid_frames exceeded");
    return 0;
}

static void ops_consumed(struct h2g_stream *s, size_t n);

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct h2g_h2_session *h = ud;
    h->stats.frames_out++;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        const struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
        if (s == NULL || !s->head_sent)
            count_rejected(h);
    }
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        STAT_INC(&h->conn->svc->stats, goaways);
        /* One we did not ask for: nghttp2's own, for a SETTINGS frame
         * of more than limits.max_settings entries (its stream reset
         * backstop says INTERNAL_ERROR). */
        if (frame->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM)
            count_session_refusal(h, H2G_REFUSAL_MAX_SETTINGS);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        /* The response is complete and the request is not (an upstream
         * that answered early: 413, 401, a redirect; a 408): nobody will
         * read the rest of the body, and a stream left half-open is one
         * the client keeps for free.  The exchange goes at once; what is
         * buffered is dropped and its window given back, as is all that
         * comes until the stream is reset, a round trip later
         * (stop_after_round_trip).  Not for an established tunnel: the
         * target closing its side leaves the other direction open. */
        struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
        if (s != NULL && !s->req_end && !s->reset && !(stream_is_tunnel(s) && s->status / 100 == 2)) {
            stream_drop_upstream(s);
            if (s->req_body != NULL)
                evbuffer_drain(s->req_body, evbuffer_get_length(s->req_body));
            if (s->bytes_in > s->bytes_acked)
                ops_consumed(s, (size_t)(s->bytes_in - s->bytes_acked));
            stop_after_round_trip(h, s);
        }
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM || frame->hd.type == NGHTTP2_GOAWAY)
        LOG_DEBUG("conn=%llu stream=%d: sent %s (%s)", (unsigned long long)h->conn->id, frame->hd.stream_id,
                  frame->hd.type == NGHTTP2_GOAWAY ? "GOAWAY" : "RST_STREAM",
                  nghttp2_http2_strerror(frame->hd.type == NGHTTP2_GOAWAY ? frame->goaway.error_code
                                                                        : frame->rst_stream.error_code));
    return 0;
}

/* A response head nghttp2 would not send (max_send_header_block_length)
 * would leave the stream hanging: reset it. */
static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error_code, void *ud)
{
    struct h2g_h2_session *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    LOG_WARN("conn=%llu stream=%d: response head not sent: %s", (unsigned long long)h->conn->id, frame->hd.stream_id,
             nghttp2_strerror(lib_error_code));
    struct h2g_stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    s->resp_failed = true;
    reset_stream(h, s, NGHTTP2_INTERNAL_ERROR);
    return 0;
}

/* limits.stream_reset_burst / stream_reset_rate (rapid reset,
 * CVE-2023-44487): a token bucket over the client's RST_STREAM frames.
 * nghttp2's own limiter stays as a backstop but answers INTERNAL_ERROR;
 * this one says ENHANCE_YOUR_CALM. */
static bool reset_allowed(struct h2g_h2_session *h)
{
    const struct h2g_limits *lim = &h->conn->config->limits;
    uint64_t now = h2g_mono_us();
    if (h->rst_last_us == 0) {
        h->rst_tokens = lim->stream_reset_burst;
    } else {
        double add = (double)(now - h->rst_last_us) / 1e6 * lim->stream_reset_rate;
        h->rst_tokens = h->rst_tokens + add > lim->stream_reset_burst ? lim->stream_reset_burst : h->rst_tokens + add;
    }
    h->rst_last_us = now;
    if (h->rst_tokens < 1)
        return false;
    h->rst_tokens -= 1;
    return true;
}

static int error_cb(nghttp2_session *ng, int lib_error_code, const char *msg, size_t len, void *ud)
{
    struct h2g_h2_session *h = ud;
    LOG_DEBUG("conn=%llu: nghttp2: %.*s", (unsigned long long)h->conn->id, (int)len, msg);
    return 0;
}

/* --- the client side of streams --- */

static int ops_send_head(struct h2g_stream *s, const nghttp2_nv *nva, size_t n, bool no_body)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = data_read_cb};
    if (stream_is_tunnel(s) && s->status / 100 == 2)
        conn_carries_tunnel(h->conn);
    int rv = nghttp2_submit_response(h->ng, s->id, nva, n, no_body ? NULL : &prd);
    if (rv != 0) {
        /* Out of memory (the only error for a stream we know): without
         * its HEADERS the stream would wait forever. */
        LOG_WARN("conn=%llu stream=%d: response head not queued: %s", (unsigned long long)h->conn->id, s->id,
                 nghttp2_strerror(rv));
        s->resp_failed = true;
        reset_stream(h, s, NGHTTP2_INTERNAL_ERROR);
    }
    schedule_flush(h);
    return rv;
}

/* Resuming a deferred stream can grow nghttp2's queue; failing that, the
 * stream would stay deferred for good. */
static void ops_resume(struct h2g_stream *s)
{
    struct h2g_h2_session *h = SESSION(s);
    if (s->head_sent && !s->resp_no_body && !s->reset &&
        nghttp2_session_resume_data(h->ng, s->id) == NGHTTP2_ERR_NOMEM) {
        s->resp_failed = true;
        reset_stream(h, s, NGHTTP2_INTERNAL_ERROR);
    }
    schedule_flush(h);
}

/* A WINDOW_UPDATE that cannot be queued would leave the client waiting
 * for a window that never opens: the session ends. */
static void ops_consumed(struct h2g_stream *s, size_t n)
{
    struct h2g_h2_session *h = SESSION(s);
    s->bytes_acked += n;
    if (nghttp2_session_consume(h->ng, s->id, n) == NGHTTP2_ERR_NOMEM)
        session_nomem(h, "WINDOW_UPDATE");
    schedule_flush(h);
}

static void ops_abort(struct h2g_stream *s, uint32_t code)
{
    struct h2g_h2_session *h = SESSION(s);
    reset_stream(h, s, code);
    schedule_flush(h);
}

static void ops_send_continue(struct h2g_stream *s)
{
    struct h2g_h2_session *h = SESSION(s);
    nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE};
    /* Not queued (out of memory): the client sends its body after its
     * own wait for the 100, as it must (RFC 9110 10.1.1). */
    nghttp2_submit_headers(h->ng, NGHTTP2_FLAG_NONE, s->id, NULL, &nv, 1, NULL);
    schedule_flush(h);
}

static const struct h2g_stream_ops h2_stream_ops = {
    .h2 = true,
    .send_head = ops_send_head,
    .resume = ops_resume,
    .consumed = ops_consumed,
    .abort = ops_abort,
    .send_continue = ops_send_continue,
};

/* --- lifecycle --- */

/* ALTSVC (RFC 7838 4) for every origin with `altsvc` that this session
 * may speak for: exact host names only (a pattern is not an origin), on
 * TLS only those the certificate covers; ORIGIN (RFC 8336) on TLS. */
static void advertise(struct h2g_h2_session *h)
{
    struct h2g_conn *c = h->conn;
    const struct h2g_config *cfg = c->config;
    uint16_t port = c->listen->lc->addr.port;
    const char *scheme = c->tls ? "https" : "http";
    bool default_port = port == (c->tls ? 443 : 80);
    for (size_t i = 0; i < cfg->n_origins; i++) {
        const struct h2g_origin_config *o = &cfg->origins[i];
        if (o->altsvc == NULL)
            continue;
        for (size_t j = 0; j < o->n_hosts; j++) {
            const char *host = o->hosts[j];
            if (strchr(host, '*') != NULL)
                continue;
            if (c->tls && !conn_cert_covers(c, host, strlen(host)))
                continue;
            char origin[300];
            bool v6 = strchr(host, ':') != NULL;
            int n = default_port ? snprintf(origin, sizeof(origin), "%s://%s%s%s", scheme, v6 ? "[" : "", host, v6 ? "]" : "")
                                 : snprintf(origin, sizeof(origin), "%s://%s%s%s:%u", scheme, v6 ? "[" : "", host,
                                            v6 ? "]" : "", port);
            nghttp2_submit_altsvc(h->ng, NGHTTP2_FLAG_NONE, 0, (const uint8_t *)origin, (size_t)n,
                                  (const uint8_t *)o->altsvc, strlen(o->altsvc));
        }
    }
    if (c->tls && cfg->n_origin_set > 0) {
        nghttp2_origin_entry ov[64];
        size_t n = cfg->n_origin_set < 64 ? cfg->n_origin_set : 64;
        for (size_t i = 0; i < n; i++)
            ov[i] = (nghttp2_origin_entry){(uint8_t *)cfg->origin_set[i], strlen(cfg->origin_set[i])};
        nghttp2_submit_origin(h->ng, NGHTTP2_FLAG_NONE, ov, n);
    }
}

/*
 * What a callback nghttp2 runs while reading returns: once it has ended
 * the session (end_session), NGHTTP2_ERR_CALLBACK_FAILURE, so that
 * nghttp2_session_mem_recv stops at once and reads nothing more.
 * nghttp2_session_terminate_session makes nghttp2's reader ignore all
 * input (NGHTTP2_IB_IGN_ALL), but after the callbacks of a DATA frame
 * (on_data_chunk_recv, on_frame_recv, on_stream_close of the stream it
 * ends) nghttp2 resets the reader to the next frame header without
 * looking: it would go on reading the frames behind, of a session
 * already terminated.  The first of those that is a connection error (a
 * PRIORITY or RST_STREAM of the wrong length) finds the session
 * terminated, so nghttp2 does not set the reader to ignore all input
 * again, and its assertion that it does aborts the process (Debian keeps
 * nghttp2's asserts): an empty DATA frame flood with one such frame
 * behind it crashed the daemon.  Every callback of the reading side
 * answers so, not only those: which of nghttp2's paths look is its
 * business.  h2_session_on_read then sends the GOAWAY already queued.
 */
static int recv_result(struct h2g_h2_session *h, int rv)
{
    return h->in_recv && h->recv_ended ? NGHTTP2_ERR_CALLBACK_FAILURE : rv;
}

static int checked_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    return recv_result(ud, on_begin_headers(ng, frame, ud));
}

static int checked_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                             const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    return recv_result(ud, on_header(ng, frame, name, namelen, value, valuelen, flags, ud));
}

static int checked_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    return recv_result(ud, on_frame_recv(ng, frame, ud));
}

static int checked_on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t stream_id, const uint8_t *data,
                                      size_t len, void *ud)
{
    return recv_result(ud, on_data_chunk_recv(ng, flags, stream_id, data, len, ud));
}

/* Also run by nghttp2_session_send, outside a read: its result stands. */
static int checked_on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code, void *ud)
{
    return recv_result(ud, on_stream_close(ng, stream_id, error_code, ud));
}

static int checked_on_invalid_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error_code,
                                         void *ud)
{
    return recv_result(ud, on_invalid_frame_recv(ng, frame, lib_error_code, ud));
}

static nghttp2_session_callbacks *make_callbacks(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, checked_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, checked_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, checked_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, checked_on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, checked_on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(cb, error_cb);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, checked_on_invalid_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
    return cb;
}

/* h->ng: nghttp2's server session, under our limits and allocator: 0,
 * or -1 out of memory. */
static int make_ng(struct h2g_h2_session *h)
{
    const struct h2g_limits *lim = &h->conn->config->limits;
    nghttp2_session_callbacks *cb = make_callbacks();
    nghttp2_option *opt = NULL;
    int rv = -1;
    if (cb != NULL && nghttp2_option_new(&opt) == 0) {
        /* Window updates follow what the upstream actually accepted. */
        nghttp2_option_set_no_auto_window_update(opt, 1);
        nghttp2_option_set_peer_max_concurrent_streams(opt, lim->peer_max_concurrent_streams);
        nghttp2_option_set_max_deflate_dynamic_table_size(opt, lim->max_deflate_dynamic_table_size);
        nghttp2_option_set_max_send_header_block_length(opt, lim->max_send_header_block_length);
        nghttp2_option_set_max_settings(opt, lim->max_settings);
        nghttp2_option_set_max_outbound_ack(opt, lim->max_outstanding_pings);
        nghttp2_option_set_stream_reset_rate_limit(opt, (uint64_t)lim->stream_reset_burst * 2,
                                                   (uint64_t)lim->stream_reset_rate * 2);
        nghttp2_option_set_max_continuations(opt, 8);
        /* nghttp2 keeps closed streams around only to place new streams
         * in the RFC 7540 priority tree relative to them; a proxy in
         * front of HTTP/1.1 upstreams does not schedule by that tree, and
         * keeping them costs memory and time for every stream. */
        nghttp2_option_set_no_closed_streams(opt, 1);
        /* nghttp2 keeps a copy of the allocator: ours need not outlive this call. */
        nghttp2_mem mem = {h, mem_malloc, mem_free, mem_calloc, mem_realloc};
        rv = nghttp2_session_server_new3(&h->ng, cb, h, opt, &mem);
    }
    if (cb)
        nghttp2_session_callbacks_del(cb);
    if (opt)
        nghttp2_option_del(opt);
    return rv == 0 ? 0 : -1;
}

/* Our SETTINGS (the server preface, RFC 9113 3.4): 0, or -1 out of
 * memory. */
static int submit_settings(struct h2g_h2_session *h)
{
    const struct h2g_config *cfg = h->conn->config;
    const struct h2g_limits *lim = &cfg->limits;
    nghttp2_settings_entry iv[6];
    size_t niv = 0;
    uint32_t ceiling = lim->max_concurrent_streams > INT32_MAX - STREAMS_HEADROOM
                           ? (uint32_t)INT32_MAX
                           : lim->max_concurrent_streams + STREAMS_HEADROOM;
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, ceiling};
    h->patch_settings = true;
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, lim->initial_window_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_FRAME_SIZE, lim->max_frame_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, lim->header_table_size};
    iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_header_list_size};
    if (cfg->enable_connect_protocol)
        iv[niv++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    return nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, niv) == 0 ? 0 : -1;
}

/* The connection window beyond the initial 65535: 0, or -1. */
static int submit_window(struct h2g_h2_session *h)
{
    uint32_t w = h->conn->config->limits.connection_window_size;
    return w <= 65535 || nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)w) == 0 ? 0 : -1;
}

/* Our first frames: SETTINGS, ALTSVC and ORIGIN, the PING that measures
 * the round trip, the connection window: 0, or -1 out of memory. */
static int queue_opening_frames(struct h2g_h2_session *h)
{
    if (submit_settings(h) != 0)
        return -1;
    advertise(h);
    /* One PING per session measures the round trip (h2gatectl sessions). */
    if (nghttp2_submit_ping(h->ng, NGHTTP2_FLAG_NONE, NULL) == 0)
        h->ping_sent_us = h2g_mono_us();
    return submit_window(h);
}

/* --- dormancy (core/h2_resume.h) --- */

/* Idle since its opening (or quiet), nothing owed either way, nothing
 * half read: the session is its settings, windows and last stream id,
 * which h2_resume keeps. */
static bool can_sleep(const struct h2g_h2_session *h)
{
    return h->ng != NULL && !h->dead && !h->draining && h->got_frame && h->settings_acked && h->ping_sent_us == 0 &&
           h->n_streams == 0 && (h->last_stream_id < 0 || h->quiet) && !h->shedding && !h->stop_ping_inflight &&
           !h->stop_ping_wanted && !h->flush_pending && h->scan_left == 0 &&
           h->scan_hd_len == 0 && h->scan_ahead == 0 && h->conn->state == H2G_CONN_SESSION &&
           nghttp2_session_want_read(h->ng) && evbuffer_get_length(bufferevent_get_output(h->conn->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_input(h->conn->bev)) == 0;
}

/* Puts the session away when it can be; the idle timer keeps running. */
static void maybe_sleep(struct h2g_h2_session *h)
{
    if (!can_sleep(h) || !h2g_h2_resume_capture(h->ng, h->last_stream_id > 0 ? h->last_stream_id : 0, &h->resume))
        return;
    size_t freed = h->ng_bytes;
    nghttp2_session_del(h->ng);
    h->ng = NULL;
    h2g_heap_trim_note(h->conn->svc, freed);
    event_free(h->flush_ev);
    h->flush_ev = NULL;
    event_free(h->sweep_ev);
    h->sweep_ev = NULL;
    if (h->frame_buf != NULL) {
        evbuffer_free(h->frame_buf);
        h->frame_buf = NULL;
    }
    STAT_INC(&h->conn->svc->stats, sessions_dormant);
    conn_sleep(h->conn); /* and the connection's buffers, when it can */
}

/* The connection's bufferevent as the session wants it (h2_session_new;
 * a woken connection has a new one). */
static void tune_bev(struct h2g_conn *c)
{
    bufferevent_setwatermark(c->bev, EV_WRITE, H2_OUT_CAP / 2, 0);
    if (!c->tls)
        bufferevent_disable(c->bev, EV_WRITE); /* flush writes directly */
}

static void flush_cb(evutil_socket_t fd, short what, void *arg);
static void sweep_cb(evutil_socket_t fd, short what, void *arg);

/* Brings a dormant session back before anything needs nghttp2: a fresh
 * session, our SETTINGS and window again, the client's replayed; what
 * that produces is dropped (the client has had it).  0, or -1 with the
 * connection closed (out of memory). */
static int wake(struct h2g_h2_session *h)
{
    if (h->ng != NULL)
        return 0;
    STAT_DEC(&h->conn->svc->stats, sessions_dormant);
    if (conn_wake(h->conn) != 0) {
        h->dead = true; /* not dormant either: h2_session_free counts nothing */
        return -1;
    }
    tune_bev(h->conn);
    struct h2g_h2_stats kept = h->stats; /* the replay is not traffic */
    struct event_base *base = h->conn->svc->base;
    int rv = make_ng(h) == 0 && submit_settings(h) == 0 && submit_window(h) == 0 ? 0 : -1;
    h->replaying = true;
    if (rv == 0 && h2g_h2_resume_replay(h->ng, &h->resume) != 0) {
        LOG_WARN("conn=%llu: h2 session could not be brought back", (unsigned long long)h->conn->id);
        rv = -1;
    }
    h->replaying = false;
    h->stats = kept;
    h->patch_settings = false;
    h->flush_ev = rv == 0 ? event_new(base, -1, 0, flush_cb, h) : NULL;
    h->sweep_ev = h->flush_ev != NULL ? evtimer_new(base, sweep_cb, h) : NULL;
    if (h->sweep_ev != NULL)
        return 0;
    /* No GOAWAY without a session: the connection just ends. */
    LOG_WARN("conn=%llu: out of memory (bringing a dormant session back): closing the connection",
             (unsigned long long)h->conn->id);
    if (h->ng != NULL)
        nghttp2_session_del(h->ng);
    h->ng = NULL;
    h->dead = true;
    conn_close(h->conn, false);
    return -1;
}

/* The upgraded HTTP/1.1 request becomes stream 1, its client side over
 * (the request was whole), and is dispatched (RFC 7540 3.2): 0, or -1
 * when nghttp2 refuses the upgrade (its HTTP2-Settings), the stream
 * untouched. */
static int adopt_upgraded(struct h2g_h2_session *h, const struct h2g_upgrade *up)
{
    struct h2g_stream *upgraded = up->stream;
    int rv = nghttp2_session_upgrade2(h->ng, up->settings, up->settings_len, up->head_request, upgraded);
    if (rv != 0) {
        LOG_INFO("conn=%llu: h2c upgrade refused: %s", (unsigned long long)h->conn->id, nghttp2_strerror(rv));
        return -1;
    }
    /* nghttp2 ignores stream_user_data of upgrade2 on the server side. */
    nghttp2_session_set_stream_user_data(h->ng, 1, upgraded);
    stream_move(upgraded, &h2_stream_ops, h, 1);
    h->last_stream_id = 1;
    h->ended[ENDED_WORD(1)] |= ENDED_BIT(1);
    LIST_INSERT_HEAD(&h->streams, upgraded, link);
    h->n_streams = 1;
    h->got_frame = true;
    stream_dispatch(upgraded);
    stream_request_end(upgraded);
    return 0;
}

static void h2_session_free(void *arg);

/* SETTINGS queued, sent on this loop turn.  With `up` (an h2c upgrade),
 * stream 1 is up->stream, which the session then owns, dispatched. */
static void *h2_session_new(struct h2g_conn *c, const struct h2g_upgrade *up)
{
    struct h2g_h2_session *h = h2g_slab_calloc(&c->svc->h2_slab, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->conn = c;
    h->remote_iw = 65535;
    h->scan_left = 24; /* the client's preface, which nghttp2 checks */
    h->last_stream_id = -1;
    LIST_INIT(&h->streams);
    if (make_ng(h) != 0 || queue_opening_frames(h) != 0)
        goto fail;
    h->flush_ev = event_new(c->svc->base, -1, 0, flush_cb, h);
    h->sweep_ev = evtimer_new(c->svc->base, sweep_cb, h);
    if (h->flush_ev == NULL || h->sweep_ev == NULL)
        goto fail;
    if (up != NULL) {
        if (adopt_upgraded(h, up) != 0)
            goto fail;
    } else {
        arm_timer(h, c->config->timeouts.handshake);
    }
    tune_bev(c);
    schedule_flush(h);
    return h;
fail:
    h2_session_free(h);
    return NULL;
}

static void h2_session_free(void *arg)
{
    struct h2g_h2_session *h = arg;
    if (h == NULL)
        return;
    if (h2_session_dormant(h))
        STAT_DEC(&h->conn->svc->stats, sessions_dormant);
    if (h->ng != NULL) {
        /* nghttp2_session_del runs no callbacks: free our streams first. */
        h->dead = true;
        struct h2g_stream *s;
        while ((s = LIST_FIRST(&h->streams)) != NULL) {
            LIST_REMOVE(s, link);
            nghttp2_session_set_stream_user_data(h->ng, s->id, NULL);
            s->resp_failed = s->resp_failed || !s->resp_complete;
            stream_free(s);
        }
        nghttp2_session_del(h->ng);
        h->ng = NULL;
    }
    if (h->flush_ev)
        event_free(h->flush_ev);
    if (h->sweep_ev)
        event_free(h->sweep_ev);
    if (h->frame_buf)
        evbuffer_free(h->frame_buf);
    h2g_block_free(h->gaps);
    h2g_slab_free(&h->conn->svc->h2_slab, h);
}

static void h2_session_on_read(void *arg)
{
    struct h2g_h2_session *h = arg;
    if (h->dead || wake(h) != 0)
        return;
    struct evbuffer *in = bufferevent_get_input(h->conn->bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        /* nghttp2 reads up to the first frame that is an error of ours
         * (scan_frames), then is told to end the session. */
        uint32_t err = 0;
        int32_t bad_id = 0;
        size_t take = h->scan_ahead + scan_frames(h, (const uint8_t *)v.iov_base + h->scan_ahead,
                                                  v.iov_len - h->scan_ahead, &err, &bad_id);
        h->in_recv = true;
        ssize_t n = take > 0 ? nghttp2_session_mem_recv(h->ng, v.iov_base, take) : 0;
        h->in_recv = false;
        h->stats.bytes_in += n > 0 ? (uint64_t)n : 0;
        if (n >= 0 && err != 0 && !h->recv_ended) {
            LOG_INFO("conn=%llu stream=%d: DATA or HEADERS on a stream the client closed or skipped: GOAWAY %s",
                     (unsigned long long)h->conn->id, bad_id, nghttp2_http2_strerror(err));
            nghttp2_session_terminate_session(h->ng, err);
            evbuffer_drain(in, evbuffer_get_length(in));
            break;
        }
        h->scan_ahead = n >= 0 ? take - (size_t)n : 0;
        /* A callback that ended the session made nghttp2 stop
         * (recv_result): its GOAWAY is queued, and nghttp2 must read
         * nothing more. */
        if (n < 0 || h->recv_ended) {
            if (h->dead) /* not even the GOAWAY could be queued (end_session) */
                return;
            /* nghttp2 has queued a GOAWAY where the protocol asks for one. */
            if (!h->recv_ended)
                LOG_INFO("conn=%llu: h2 protocol error: %s", (unsigned long long)h->conn->id,
                         nghttp2_strerror((int)n));
            /* nghttp2 queues a GOAWAY itself for protocol errors it
             * detects inside frames, not for these: say why before
             * closing (a no-op if one is already queued).  Floods (ACKs
             * owed beyond max_outstanding_pings, CONTINUATION beyond the
             * cap) are abuse, not mistakes. */
            if (n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
                count_session_refusal(h, n == NGHTTP2_ERR_FLOODED ? H2G_REFUSAL_ACK_FLOOD
                                                                  : H2G_REFUSAL_CONTINUATION_FLOOD);
            uint32_t code = n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                                ? NGHTTP2_ENHANCE_YOUR_CALM
                            : n == NGHTTP2_ERR_CALLBACK_FAILURE || n == NGHTTP2_ERR_NOMEM ? NGHTTP2_INTERNAL_ERROR
                                                                                           : NGHTTP2_PROTOCOL_ERROR;
            nghttp2_session_terminate_session(h->ng, code);
            nghttp2_session_send(h->ng);
            h->dead = true;
            conn_close(h->conn, true);
            return;
        }
        evbuffer_drain(in, (size_t)n);
    }
    flush(h);
    maybe_sleep(h);
}

static void h2_session_on_write(void *arg)
{
    struct h2g_h2_session *h = arg;
    flush(h); /* cleartext: back to direct writes once drained */
    maybe_sleep(h);
}

/* The last GOAWAY names the last stream we took; requests that crossed
 * the notice on the wire are served, not refused. */
static void finish_goaway(struct h2g_h2_session *h)
{
    if (h->goaway_final || h->dead)
        return;
    h->goaway_final = true;
    evtimer_del(h->conn->timer);
    if (nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ng),
                              NGHTTP2_NO_ERROR, NULL, 0) != 0 ||
        h->n_streams == 0)
        end_session(h, NGHTTP2_NO_ERROR);
    schedule_flush(h);
}

/* Graceful stop, RFC 9113 6.8: a GOAWAY with the maximum stream id (the
 * shutdown notice) and a PING; the real GOAWAY follows the PING's ACK,
 * or one second, whichever comes first. */
#define GOAWAY_GRACE_MS 1000

static void h2_session_drain(void *arg)
{
    struct h2g_h2_session *h = arg;
    if (h->draining || h->dead || wake(h) != 0)
        return;
    h->draining = true;
    if (!h->got_frame) {
        /* Nothing asked yet: no request can be in flight. */
        finish_goaway(h);
        return;
    }
    nghttp2_submit_shutdown_notice(h->ng);
    nghttp2_submit_ping(h->ng, NGHTTP2_FLAG_NONE, NULL);
    arm_timer(h, GOAWAY_GRACE_MS);
    flush(h);
}

const struct h2g_h2_stats *h2_session_stats(const struct h2g_h2_session *h)
{
    return &h->stats;
}

struct h2g_stream *h2_session_first_stream(const struct h2g_h2_session *h)
{
    return LIST_FIRST(&h->streams);
}

int32_t h2_session_local_window(const struct h2g_h2_session *h)
{
    if (h->ng == NULL) /* dormant: all the client sent was consumed */
        return (int32_t)(h->conn->config->limits.connection_window_size > 65535
                             ? h->conn->config->limits.connection_window_size
                             : 65535);
    return nghttp2_session_get_local_window_size(h->ng);
}

int32_t h2_session_remote_window(const struct h2g_h2_session *h)
{
    return h->ng ? nghttp2_session_get_remote_window_size(h->ng) : h->resume.remote_window;
}

bool h2_session_dormant(const struct h2g_h2_session *h)
{
    return h->ng == NULL && !h->dead;
}

unsigned h2_session_open_streams(const struct h2g_h2_session *h)
{
    return h->n_streams;
}

/* No on_eof: a client that closed its side cannot read the rest (the
 * connection closes). */
const struct h2g_session_ops h2_session_ops = {
    .name = {"h2c", "h2"},
    .stats_slot = {1, 0},
    .new = h2_session_new,
    .free = h2_session_free,
    .on_read = h2_session_on_read,
    .on_write = h2_session_on_write,
    .on_timer = h2_session_on_timer,
    .drain = h2_session_drain,
};
