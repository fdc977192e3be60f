/*
 * sockread.h: reading a bufferevent's socket ourselves.
 *
 * libevent 2.1's evbuffer_read() asks FIONREAD before every read and
 * never reads more than 4 KiB at once: a 64 KiB upstream response costs
 * 16 reads and 16 ioctls.  Upstream and tunnel sockets are therefore read
 * by this small reader (one recv or recvmsg of up to H2G_IO_CHUNK into the
 * bufferevent's input buffer), while the bufferevent keeps doing what it
 * does well: connecting, buffering and writing.  The bufferevent's own
 * EV_READ is never enabled.
 *
 * Embedded in its owner (upstream connection, tunnel), which calls
 * sockread_clear before freeing the bufferevent.  Callbacks have the
 * bufferevent signatures; events are BEV_EVENT_READING with EOF, ERROR
 * or TIMEOUT.  A callback may free the owner: the reader does not touch
 * itself after calling one.  An error event comes with errno set to the
 * read's: ENOMEM when no buffer could be had, the socket being fine.
 */
#ifndef H2G_SOCKREAD_H
#define H2G_SOCKREAD_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes per read/write syscall on client, upstream and tunnel sockets
 * (libevent's default, 16 KiB, quadruples the syscalls of bulk transfers). */
#define H2G_IO_CHUNK (128 * 1024)

/* Upstream response reads: one such read into an evbuffer makes a chain
 * of exactly one 16 KiB allocation (libevent adds a 48-byte header and
 * rounds up to a power of two), so a chain never holds more than one DATA
 * frame and frames cut on chain ends move to the client's output without
 * a copy.  Measured with 64 KiB responses through h2c (h2load -c32 -m16):
 * some 15% less user CPU, and about 30 MiB RSS under load instead of
 * 130.  Such reads also leave a chain's last bytes (the rounding, 16)
 * free for the next frame's 9-byte header (see read_into).  One recvmsg
 * fills up to 64 such chains (the reader's spare chains, linked in). */
#define SOCKREAD_FRAME_CHUNK (16384 - 64)

struct h2g_sockread {
    struct event *ev;          /* created at the first enable (the fd may come late) */
    struct bufferevent *bev;
    struct event *flush_ev;    /* deferred sockwrite_flush (sockread_flush_soon) */
    bool flush_pending;        /* flush_ev is active: its callback has not run yet */
    bufferevent_data_cb read_cb;
    bufferevent_data_cb write_cb; /* after a deferred flush */
    bufferevent_event_cb event_cb;
    void *arg;
    size_t high;               /* never hold more than this in the input (0: no cap) */
    uint64_t timeout_ms;       /* 0: none */
    /* The timeout is a deadline checked by a lazily armed timer: reads
     * and set_timeout only move the deadline, so a busy connection does
     * not re-add a timer per read or per exchange. */
    struct event *timer;       /* created at the first timeout */
    uint64_t deadline_ms;      /* monotonic; 0: none */
    uint64_t armed_ms;         /* when the pending timer fires; 0: not pending */
    bool enabled;
    bool fixed;                /* sockread_set_deadline: reads do not move it */
    bool suspended;            /* stopped at `high`: resumes once the input drains below it */
    bool pending_error;        /* a read failed after data: reported at the next event */
    int pending_errno;         /* its errno */
    uint32_t chunk;            /* next read size: grows while reads fill it, shrinks when not */
    uint32_t max_chunk;        /* 0: H2G_IO_CHUNK */
    struct evbuffer_cb_entry *drain_cb;
    /* A TLS bufferevent's socket cannot be read around it: the
     * bufferevent reads (sockread_use_bev), this keeps the same calls,
     * callbacks and timeout.  Its own callbacks are put in front of the
     * owner's bufferevent ones (bev_write_cb, bev_event_cb, bev_arg, as
     * found at each enable). */
    bool via_bev;
    uint32_t batch;            /* most bytes one read event takes; 0: H2G_IO_CHUNK (in via_bev's padding) */
    bufferevent_data_cb bev_write_cb;
    bufferevent_event_cb bev_event_cb;
    void *bev_arg;
};

void sockread_init(struct h2g_sockread *r, struct bufferevent *bev);
/* For a bufferevent that must read itself (TLS, bufferevent_openssl):
 * enable turns its EV_READ on, `high` is its read watermark, and the
 * owner's bufferevent callbacks, set before each enable, stay called. */
void sockread_use_bev(struct h2g_sockread *r);
void sockread_setcb(struct h2g_sockread *r, bufferevent_data_cb read_cb, bufferevent_data_cb write_cb,
                    bufferevent_event_cb event_cb, void *arg);
/* Flushes the bufferevent's output (sockwrite_flush) at the end of this
 * loop turn, then calls write_cb: every stream that made progress in one
 * batch of client frames is written in one go, and a request the same
 * batch proves malformed (stream reset) is never written at all. */
void sockread_flush_soon(struct h2g_sockread *r);
/* 0, or -1 if the event cannot be created. */
int sockread_enable(struct h2g_sockread *r);
void sockread_disable(struct h2g_sockread *r);
/* Restarts the timer when enabled (like bufferevent read timeouts, it
 * runs only while reading is enabled and restarts on every read; it may
 * fire up to a millisecond late, never early). */
void sockread_set_timeout(struct h2g_sockread *r, uint64_t ms);
/* Like sockread_set_timeout, but reads do not restart it: a deadline `ms`
 * from now (a trickle of bytes does not put it off), until the next
 * set_timeout or set_deadline. */
void sockread_set_deadline(struct h2g_sockread *r, uint64_t ms);
void sockread_set_high(struct h2g_sockread *r, size_t high);
/* Reads at most `max` bytes at once (0: H2G_IO_CHUNK). */
void sockread_set_max_chunk(struct h2g_sockread *r, uint32_t max);
/* Reads at most `batch` bytes per event (H2G_IO_CHUNK unless set), in
 * reads of at most max_chunk (or SOCKREAD_MAX_FRAMES frame chains). */
void sockread_set_batch(struct h2g_sockread *r, uint32_t batch);

void sockread_clear(struct h2g_sockread *r);
/* Frees the thread's spare chains (frame-sized reads); a thread whose
 * loop read sockets calls it once its loop is over. */
void sockread_thread_release(void);

/*
 * Writes what the bufferevent's output holds now, directly (one send or
 * sendmsg of up to H2G_IO_CHUNK), instead of arming EV_WRITE and waiting
 * a loop turn: a small request head then costs one syscall and no
 * epoll_ctl.  What does not fit in the socket is left to the bufferevent
 * (EV_WRITE enabled; its write callback runs when drained, and the owner
 * may then disable EV_WRITE again).  Errors are left to the bufferevent too.
 * While EV_WRITE is on, it does nothing: the bufferevent is writing.
 */
void sockwrite_flush(struct bufferevent *bev);
/* The same whatever the EV_WRITE state, up to `max` bytes (-1: all):
 * true when the output is empty afterwards; otherwise EV_WRITE is on. */
bool sockwrite_now(struct bufferevent *bev, ev_ssize_t max);

/*
 * bufferevent_socket_new, whose output is sure to be written.  libevent
 * 2.1.12's ignores the failure of its last allocation, the output
 * callback that starts a write when bytes are added, and returns a
 * bufferevent that never writes what it is given: a connection would
 * wait for its timeouts, a control client forever.  NULL when out of
 * memory (fd is then still the caller's); otherwise the same bufferevent
 * bufferevent_socket_new(base, fd, options) makes.
 */
struct bufferevent *sockwrite_bufferevent_new(struct event_base *base, evutil_socket_t fd, int options);

#endif
