/*
 * splice_relay.h: a tunnel's bytes moved between two TCP sockets by the
 * kernel (splice(2) through a pipe per direction), never copied into
 * user space.
 *
 * Created by a tunnel (tunnel.c) whose both ends are plain TCP sockets
 * once nothing is buffered on either side; owned by that tunnel, which
 * frees it (splice_relay_free) before it closes its own socket.  The two
 * sockets are borrowed: the client's stays its connection's, the
 * target's the tunnel's.  The relay owns its pipes and its events.
 *
 * Buffers: each direction's pipe (F_SETPIPE_SZ to limits.tunnel_pipe_size,
 * 64 KiB by default) is the only buffer.  A source is read only while its pipe is empty, and the
 * destination is waited for (EV_WRITE) only while it is not: a slow
 * reader stops the other side's reads, memory stays bounded by the pipes.
 *
 * Endings: EOF from a source becomes shutdown(SHUT_WR) of its destination
 * once its pipe is drained; both directions over is the relay's end
 * (done, err 0).  A failed read or write stops both directions at once
 * (done, err = errno).  done is called once, from the relay's own event:
 * the owner must not free the relay there (nothing of it runs after).
 */
#ifndef H2G_SPLICE_RELAY_H
#define H2G_SPLICE_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct h2g_splice_relay;

/* The two sockets, and the two directions: UP is client -> target. */
enum splice_side { SPLICE_CLIENT, SPLICE_TARGET };

struct h2g_splice_relay_cbs {
    /* Bytes written to their destination since the last call. */
    void (*moved)(void *arg, size_t up, size_t down);
    /* err 0: both directions ended, `side` is the one whose EOF came
     * first.  Else errno of the read or write that failed on `side`. */
    void (*done)(void *arg, int err, enum splice_side side);
};

/* Makes the pipes, asking for pipe_size bytes each (the kernel may keep
 * its default); reads nothing until splice_relay_start.  NULL with errno
 * set: EMFILE / ENFILE (out of file descriptors), ENOBUFS (the kernel
 * gave a pipe of less than 16 KiB: the user's pipe-user-pages-soft is
 * spent), ENOMEM; the caller goes on copying. */
struct h2g_splice_relay *splice_relay_new(struct event_base *base, size_t pipe_size,
                                          const struct h2g_splice_relay_cbs *cbs, void *arg);
/* Starts moving bytes between the two (non-blocking) sockets: 0, or -1
 * when the events cannot be made (nothing was read: the caller may go on
 * copying). */
int splice_relay_start(struct h2g_splice_relay *r, int client_fd, int target_fd);
/* No more events (the owner closes a socket or fails the tunnel); safe
 * from any callback, the relay's own included. */
void splice_relay_stop(struct h2g_splice_relay *r);
void splice_relay_free(struct h2g_splice_relay *r);

#endif
