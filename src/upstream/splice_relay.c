#include "upstream/splice_relay.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Splices per direction and event at most (each up to a pipe's worth):
 * a fast pair of sockets does not starve the loop's other connections. */
#define SPLICE_ROUNDS 16

/* One direction: src -> pipe -> dst. */
struct splice_dir {
    struct h2g_splice_relay *relay;
    int src, dst;               /* borrowed sockets */
    int pipe[2];                /* owned: [0] read end, [1] write end */
    size_t in_pipe;             /* bytes spliced in, not yet out */
    struct event *rd_ev;        /* src readable: on while the pipe is empty */
    struct event *wr_ev;        /* dst writable: on while the pipe is not */
    enum splice_side src_side;
    bool eof;                   /* src ended */
    bool done;                  /* and the pipe drained, dst shut down */
};

struct h2g_splice_relay {
    struct event_base *base;
    struct h2g_splice_relay_cbs cbs;
    void *arg;
    size_t pipe_size;           /* asked for; splices ask no more than what it leaves */
    struct splice_dir dir[2];   /* [0] up (client -> target), [1] down */
    bool first_eof_set;
    enum splice_side first_eof; /* whose EOF came first */
    bool stopped;
};

/* Below this a pipe is not worth a splice per few pages: copying is
 * cheaper (the user is past pipe-user-pages-soft and the kernel made a
 * pipe of a page or two). */
#define SPLICE_PIPE_MIN (16 * 1024)

/* 0, or -1 with errno (ENOBUFS: the pipe came out too small). */
static int make_pipe(int p[2], size_t size)
{
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    /* A size the kernel refuses (pipe-max-size, the user's pipe pages)
     * leaves the pipe as it is, which bounds memory as well. */
    (void)fcntl(p[1], F_SETPIPE_SZ, (int)size);
    int got = fcntl(p[1], F_GETPIPE_SZ);
    if (got >= 0 && (size_t)got < (size < SPLICE_PIPE_MIN ? size : SPLICE_PIPE_MIN)) {
        errno = ENOBUFS;
        return -1;
    }
    return 0;
}

struct h2g_splice_relay *splice_relay_new(struct event_base *base, size_t pipe_size,
                                          const struct h2g_splice_relay_cbs *cbs, void *arg)
{
    struct h2g_splice_relay *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->base = base;
    r->cbs = *cbs;
    r->arg = arg;
    r->pipe_size = pipe_size;
    for (int i = 0; i < 2; i++)
        r->dir[i].pipe[0] = r->dir[i].pipe[1] = -1;
    for (int i = 0; i < 2; i++) {
        if (make_pipe(r->dir[i].pipe, pipe_size) != 0) {
            int e = errno;
            splice_relay_free(r);
            errno = e;
            return NULL;
        }
    }
    return r;
}

void splice_relay_stop(struct h2g_splice_relay *r)
{
    r->stopped = true;
    for (int i = 0; i < 2; i++) {
        if (r->dir[i].rd_ev != NULL)
            event_del(r->dir[i].rd_ev);
        if (r->dir[i].wr_ev != NULL)
            event_del(r->dir[i].wr_ev);
    }
}

void splice_relay_free(struct h2g_splice_relay *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        struct splice_dir *d = &r->dir[i];
        if (d->rd_ev != NULL)
            event_free(d->rd_ev);
        if (d->wr_ev != NULL)
            event_free(d->wr_ev);
        for (int j = 0; j < 2; j++)
            if (d->pipe[j] >= 0)
                close(d->pipe[j]);
    }
    free(r);
}

static void fail(struct h2g_splice_relay *r, int err, enum splice_side side)
{
    splice_relay_stop(r);
    r->cbs.done(r->arg, err, side);
}

/* Moves what it can, up to SPLICE_ROUNDS round trips.  0, or an errno
 * with *side the socket it came from. */
static int dir_move(struct splice_dir *d, size_t *moved, enum splice_side *side)
{
    for (int round = 0; round < SPLICE_ROUNDS; round++) {
        bool progress = false, dry = false;
        if (!d->eof && d->in_pipe < d->relay->pipe_size) {
            size_t want = d->relay->pipe_size - d->in_pipe;
            ssize_t n = splice(d->src, NULL, d->pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->in_pipe += (size_t)n;
                progress = true;
                /* Less than asked: the socket is most likely empty, and
                 * one more splice would only say EAGAIN. */
                dry = (size_t)n < want;
            } else if (n == 0) {
                d->eof = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                *side = d->src_side;
                return errno;
            }
        }
        if (d->in_pipe > 0) {
            ssize_t n = splice(d->pipe[0], NULL, d->dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->in_pipe -= (size_t)n;
                *moved += (size_t)n;
                progress = true;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                *side = d->src_side == SPLICE_CLIENT ? SPLICE_TARGET : SPLICE_CLIENT;
                return errno;
            } else {
                return 0; /* dst full: wr_ev */
            }
        }
        if (!progress || (dry && d->in_pipe == 0))
            return 0;
    }
    return 0;
}

/* Events follow the pipe: read the source only into an empty pipe (a
 * socket splice may fill the pipe's slots long before its bytes), wait
 * for the destination only while the pipe holds bytes. */
static int dir_arm(struct splice_dir *d)
{
    int rc = 0;
    if (!d->eof && d->in_pipe == 0)
        rc |= event_add(d->rd_ev, NULL);
    else
        event_del(d->rd_ev);
    if (d->in_pipe > 0)
        rc |= event_add(d->wr_ev, NULL);
    else
        event_del(d->wr_ev);
    return rc;
}

static void dir_run(struct h2g_splice_relay *r, struct splice_dir *d)
{
    if (r->stopped || d->done)
        return;
    size_t moved = 0;
    enum splice_side side = SPLICE_CLIENT;
    int err = dir_move(d, &moved, &side);
    if (moved > 0) {
        bool up = d == &r->dir[0];
        r->cbs.moved(r->arg, up ? moved : 0, up ? 0 : moved);
    }
    if (err != 0) {
        fail(r, err, side);
        return;
    }
    if (d->eof && !r->first_eof_set) {
        r->first_eof_set = true;
        r->first_eof = d->src_side;
    }
    if (d->eof && d->in_pipe == 0) {
        /* The half-close goes on: the other side may still answer.  A
         * peer already gone fails the other direction's writes. */
        d->done = true;
        shutdown(d->dst, SHUT_WR);
    }
    if (dir_arm(d) != 0) {
        fail(r, ENOMEM, d->src_side);
        return;
    }
    if (r->dir[0].done && r->dir[1].done) {
        splice_relay_stop(r);
        r->cbs.done(r->arg, 0, r->first_eof);
    }
}

static void dir_cb(evutil_socket_t fd, short what, void *arg)
{
    struct splice_dir *d = arg;
    dir_run(d->relay, d);
}

int splice_relay_start(struct h2g_splice_relay *r, int client_fd, int target_fd)
{
    int fds[2] = {client_fd, target_fd};
    for (int i = 0; i < 2; i++) {
        struct splice_dir *d = &r->dir[i];
        d->relay = r;
        d->src = fds[i];
        d->dst = fds[1 - i];
        d->src_side = i == 0 ? SPLICE_CLIENT : SPLICE_TARGET;
        d->rd_ev = event_new(r->base, d->src, EV_READ | EV_PERSIST, dir_cb, d);
        d->wr_ev = event_new(r->base, d->dst, EV_WRITE | EV_PERSIST, dir_cb, d);
        if (d->rd_ev == NULL || d->wr_ev == NULL)
            return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (event_add(r->dir[i].rd_ev, NULL) != 0) {
            splice_relay_stop(r);
            return -1;
        }
    }
    return 0;
}
