/*
 * sockread.h: reading a bufferevent's socket ourselves.
 *
 * libevent 2.1's evbuffer_read() asks FIONREAD before every read and
 * never reads more than 4 KiB at once: a 64 KiB upstream response costs
 * 16 reads and 16 ioctls.  Upstream and tunnel sockets are therefore read
 * by this small reader (one readv of up to H2G_IO_CHUNK into the
 * bufferevent's input buffer), while the bufferevent keeps doing what it
 * does well: connecting, buffering and writing.  The bufferevent's own
 * EV_READ is never enabled.
 *
 * Embedded in its owner (upstream connection, tunnel), which calls
 * sockread_clear before freeing the bufferevent.  Callbacks have the
 * bufferevent signatures; events are BEV_EVENT_READING with EOF, ERROR
 * or TIMEOUT.  A callback may free the owner: the reader does not touch
 * itself after calling one.
 */
#ifndef H2G_SOCKREAD_H
#define H2G_SOCKREAD_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h2g_sockread {
    struct event *ev;          /* created at the first enable (the fd may come late) */
    struct bufferevent *bev;
    bufferevent_data_cb read_cb;
    bufferevent_event_cb event_cb;
    void *arg;
    size_t high;               /* never hold more than this in the input (0: no cap) */
    uint64_t timeout_ms;       /* 0: none */
    bool enabled;
};

void sockread_init(struct h2g_sockread *r, struct bufferevent *bev);
void sockread_setcb(struct h2g_sockread *r, bufferevent_data_cb read_cb, bufferevent_event_cb event_cb, void *arg);
/* 0, or -1 if the event cannot be created. */
int sockread_enable(struct h2g_sockread *r);
void sockread_disable(struct h2g_sockread *r);
/* Restarts the timer when enabled (like bufferevent read timeouts, it
 * runs only while reading is enabled and restarts on every read). */
void sockread_set_timeout(struct h2g_sockread *r, uint64_t ms);
void sockread_set_high(struct h2g_sockread *r, size_t high);
void sockread_clear(struct h2g_sockread *r);

#endif
