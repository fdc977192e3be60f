#include "runtime/sockread.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/log.h"
#include "core/units.h"

#define SOCKREAD_MIN_CHUNK 16384

/* The coarse clock: restart runs on every read and every exchange's
 * enable, and the precise clock's read (the hardware counter, through the
 * hypervisor's clock page here) was the largest single user-space cost of
 * a small proxied request.  Deadlines add its tick (restart), so a timeout
 * fires late by at most a tick, never early. */
static uint64_t now_ms(void)
{
    return h2g_mono_ms();
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

/* Makes sure the timer fires no later than the deadline. */
static void schedule(struct h2g_sockread *r, uint64_t now)
{
    if (r->armed_ms != 0 && r->armed_ms <= r->deadline_ms)
        return; /* it fires first and looks again */
    if (r->timer == NULL) {
        r->timer = evtimer_new(bufferevent_get_base(r->bev), timer_cb, r);
        if (r->timer == NULL)
            return;
    }
    uint64_t ms = r->deadline_ms > now ? r->deadline_ms - now : 0;
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(r->timer, &tv);
    r->armed_ms = r->deadline_ms;
}

/* (Re)starts the timeout from now, if there is one and reading is on; a
 * fixed deadline that is running stays where it is. */
static void restart(struct h2g_sockread *r)
{
    if (r->fixed && r->deadline_ms != 0 && r->enabled)
        return;
    if (r->timeout_ms == 0 || !r->enabled) {
        r->deadline_ms = 0;
        return;
    }
    uint64_t now = now_ms();
    r->deadline_ms = now + r->timeout_ms + h2g_mono_ms_step();
    schedule(r, now);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_sockread *r = arg;
    r->armed_ms = 0;
    if (r->deadline_ms == 0 || !r->enabled)
        return;
    uint64_t now = now_ms();
    if (now < r->deadline_ms) {
        schedule(r, now);
        return;
    }
    r->deadline_ms = 0;
    bufferevent_event_cb ecb = r->event_cb;
    struct bufferevent *bev = r->bev;
    void *uarg = r->arg;
    sockread_disable(r);
    if (ecb)
        ecb(bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, uarg);
}

static void drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

/* A frame-sized chain's last few bytes (what its allocation rounds up
 * to) are left to the DATA frame header that follows it on the client's
 * output: evbuffer_add puts the 9 bytes there, where a full chain would
 * make libevent allocate a new chain as large as the last one (16 KiB)
 * for each header. */
#define FRAME_TAIL_KEEP 64

/* Frame-sized reads take up to this many chains in one readv: a 64 KiB
 * response is one read instead of five, a tunnel's batch
 * (H2G_TUNNEL_BATCH) one read instead of eight. */
#define SOCKREAD_MAX_FRAMES 64
/* Spares that keep their empty chain between reads: those a read of
 * H2G_IO_CHUNK (the default batch) fills besides the input's chain. */
#define SPARES_KEPT (H2G_IO_CHUNK / SOCKREAD_FRAME_CHUNK - 1)

/* The chains beyond the input's own come from these (one empty chain
 * each, kept for the next read): an evbuffer makes a new chain only when
 * its last one is full, so frame-sized chains for one readv need a
 * buffer each; evbuffer_add_buffer then links the filled chains into the
 * input without a copy.  Per thread: the loop reads one socket at a
 * time.  Released by sockread_thread_release. */
static __thread struct evbuffer *spare[SOCKREAD_MAX_FRAMES - 1];

void sockread_thread_release(void)
{
    for (int i = 0; i < SOCKREAD_MAX_FRAMES - 1; i++) {
        if (spare[i] != NULL)
            evbuffer_free(spare[i]);
        spare[i] = NULL;
    }
}

/* The extents of one read: the input's (up to 2) then the spares'. */
struct read_space {
    struct evbuffer_iovec v[2]; /* the input's reservation */
    int nv;                     /* its extents */
    int skip;                   /* 1: v[0] is a frame chain's tail, committed empty */
    struct evbuffer_iovec sv[SOCKREAD_MAX_FRAMES - 1];
    int ns;                     /* spares reserved */
    struct iovec iov[SOCKREAD_MAX_FRAMES + 1];
    int niov;
    size_t room;
};

static void add_extent(struct read_space *sp, void *base, size_t len, size_t want)
{
    if (sp->room + len > want)
        len = want - sp->room;
    sp->iov[sp->niov].iov_base = base;
    sp->iov[sp->niov].iov_len = len;
    sp->niov++;
    sp->room += len;
}

/* Reserves up to `want` bytes: at most `frame` of them in the input
 * (see FRAME_TAIL_KEEP), then in spare chains of `frame` bytes each.
 * -1 if the input has no room at all. */
static int reserve(struct read_space *sp, struct evbuffer *in, size_t want, size_t frame)
{
    size_t first = want > frame ? frame : want;
    sp->nv = evbuffer_reserve_space(in, (ev_ssize_t)first, sp->v, 2);
    if (sp->nv < 1)
        return -1;
    sp->skip = sp->nv == 2 && sp->v[0].iov_len < FRAME_TAIL_KEEP ? 1 : 0;
    sp->ns = sp->niov = 0;
    sp->room = 0;
    for (int i = sp->skip; i < sp->nv; i++)
        add_extent(sp, sp->v[i].iov_base, sp->v[i].iov_len, first);
    while (sp->room < want && sp->ns < SOCKREAD_MAX_FRAMES - 1) {
        struct evbuffer **b = &spare[sp->ns];
        if (*b == NULL && (*b = evbuffer_new()) == NULL)
            break;
        size_t len = want - sp->room < frame ? want - sp->room : frame;
        if (evbuffer_reserve_space(*b, (ev_ssize_t)len, &sp->sv[sp->ns], 1) < 1)
            break;
        add_extent(sp, sp->sv[sp->ns].iov_base, len, want);
        sp->ns++;
    }
    return 0;
}

/* Commits the first n bytes read into the reserved extents, and links
 * the spares' filled chains into the input: 0, or -1 if one could not
 * be (libevent refuses only frozen buffers, which these are not), its
 * bytes then dropped: the read fails. */
static int commit(struct read_space *sp, struct evbuffer *in, size_t n)
{
    int rc = 0;
    size_t left = n;
    sp->v[0].iov_len = 0; /* overwritten below unless skipped */
    for (int i = 0; i < sp->niov; i++) {
        size_t take = left < sp->iov[i].iov_len ? left : sp->iov[i].iov_len;
        left -= take;
        if (i < sp->nv - sp->skip)
            sp->v[sp->skip + i].iov_len = take;
        else
            sp->sv[i - (sp->nv - sp->skip)].iov_len = take;
    }
    evbuffer_commit_space(in, sp->v, sp->nv);
    for (int k = 0; k < sp->ns; k++) {
        evbuffer_commit_space(spare[k], &sp->sv[k], 1);
        /* Whole chains move (the input's end is not frozen: sockread_enable). */
        if (sp->sv[k].iov_len > 0 && (rc != 0 || evbuffer_add_buffer(in, spare[k]) != 0)) {
            evbuffer_drain(spare[k], sp->sv[k].iov_len);
            rc = -1;
        }
        /* Beyond a 128 KiB read's spares, an unfilled one gives its chain
         * back: kept, the reservations of 1 MiB tunnel reads left each
         * worker up to 1 MiB of empty chains, and bench/soak's RSS crept
         * for minutes (2 soaks in 3 over its 5% limit). */
        if (k >= SPARES_KEPT && sp->sv[k].iov_len == 0) {
            evbuffer_free(spare[k]);
            spare[k] = NULL;
        }
    }
    return rc;
}

/* recv(2) and recvmsg(2), not read(2) and readv(2): a socket read through
 * the file layer (vfs_read, its permission and fsnotify hooks, the file
 * position) cost 2-3% of h2gate's CPU at 100 B, the upstream's response
 * being one read per request (HAProxy and nginx use recv).  Not a
 * socket: read. */
static ssize_t sock_readv(evutil_socket_t fd, struct iovec *iov, int n)
{
    ssize_t r;
    if (n == 1) {
        /* no iovec to import: a measurable part of a small read */
        r = recv(fd, iov[0].iov_base, iov[0].iov_len, 0);
        if (r < 0 && errno == ENOTSOCK)
            r = read(fd, iov[0].iov_base, iov[0].iov_len);
        return r;
    }
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    r = recvmsg(fd, &m, 0);
    if (r < 0 && errno == ENOTSOCK)
        r = readv(fd, iov, n);
    return r;
}

/* One read of up to `want` bytes into the input's reserved space: the
 * byte count, 0 at EOF, or -1 with errno.  `frames`: the reader makes
 * frame-sized chains (see FRAME_TAIL_KEEP). */
static ssize_t read_one(evutil_socket_t fd, struct evbuffer *in, size_t want, bool frames, size_t *room_out)
{
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    if (nv < 1) {
        errno = ENOMEM;
        return -1;
    }
    /* The extents read into: all, or all but a frame chain's tail (which
     * is committed empty). */
    int skip = frames && nv == 2 && v[0].iov_len < FRAME_TAIL_KEEP ? 1 : 0;
    struct evbuffer_iovec *use = v + skip;
    int nu = nv - skip;
    struct iovec iov[2];
    size_t room = 0;
    for (int i = 0; i < nu; i++) {
        iov[i].iov_base = use[i].iov_base;
        iov[i].iov_len = use[i].iov_len;
        if (room + iov[i].iov_len > want)
            iov[i].iov_len = want - room;
        room += iov[i].iov_len;
    }
    ssize_t n = sock_readv(fd, iov, nu);
    if (n <= 0) {
        int e = errno;
        evbuffer_commit_space(in, v, 0);
        errno = e;
        return n;
    }
    size_t left = (size_t)n;
    v[0].iov_len = 0; /* overwritten below unless skipped */
    for (int i = 0; i < nu; i++) {
        size_t take = left < iov[i].iov_len ? left : iov[i].iov_len;
        use[i].iov_len = take;
        left -= take;
    }
    evbuffer_commit_space(in, v, nv);
    *room_out = room;
    return n;
}

/* read_one for more than a frame: the input's space and spare chains of
 * `frame` bytes, in one readv. */
static ssize_t read_frames(evutil_socket_t fd, struct evbuffer *in, size_t want, size_t frame, size_t *room_out)
{
    struct read_space sp;
    if (reserve(&sp, in, want, frame) != 0) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = sock_readv(fd, sp.iov, sp.niov);
    int e = errno;
    if (commit(&sp, in, n > 0 ? (size_t)n : 0) != 0) {
        n = -1;
        e = ENOMEM;
    }
    errno = e;
    *room_out = sp.room;
    return n;
}

/* The next read's size: doubled after a read that filled its space,
 * halved after one that used less than a quarter (for frames, only by
 * the first read of an event: a response's tail is short). */
static void adapt(struct h2g_sockread *r, size_t n, size_t room, bool first, uint32_t max, uint32_t top)
{
    bool frames = max <= SOCKREAD_FRAME_CHUNK;
    if (n == room && r->chunk < top)
        r->chunk = r->chunk * 2 < top ? r->chunk * 2 : top;
    else if (n < room / 4 && r->chunk > (frames ? max : SOCKREAD_MIN_CHUNK) && (!frames || first))
        r->chunk /= 2;
}

/* The next read's size, within the input's cap and the event's batch:
 * 0 when the input is full. */
static size_t next_want(const struct h2g_sockread *r, size_t have, size_t got, size_t batch)
{
    size_t want = r->chunk;
    if (r->high) {
        if (have >= r->high)
            return 0;
        if (r->high - have < want)
            want = r->high - have;
    }
    return batch - got < want ? batch - got : want;
}

/* Adaptive: small requests get a small buffer (a 128 KiB reserve per
 * read would be an mmap per read), bulk transfers grow to max (for
 * frames, to SOCKREAD_MAX_FRAMES chains: a 64 KiB response in one
 * readv).  Reads repeat while they fill their space, up to the reader's
 * batch per event (returned): one wakeup, not a trip through epoll per
 * read. */
static size_t plan_reads(struct h2g_sockread *r, uint32_t *max, uint32_t *top, bool *frames)
{
    *max = r->max_chunk ? r->max_chunk : H2G_IO_CHUNK;
    /* Frame-sized chains: max is one chain, and a read may fill up to
     * SOCKREAD_MAX_FRAMES of them (chunk grows the same way). */
    *frames = *max <= SOCKREAD_FRAME_CHUNK;
    *top = *frames ? *max * SOCKREAD_MAX_FRAMES : *max;
    if (r->chunk == 0 || r->chunk > *top)
        r->chunk = SOCKREAD_MIN_CHUNK < *max ? SOCKREAD_MIN_CHUNK : *max;
    /* A batch of whole chains: its last read is not a sliver (a 2 KiB
     * read, and a 2 KiB DATA frame, after 32 full chains of a 512 KiB
     * batch cost a bulk tunnel a third more CPU per GiB). */
    size_t batch = r->batch ? r->batch : H2G_IO_CHUNK;
    if (*frames && batch > *max)
        batch -= batch % *max;
    return batch;
}

static void read_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_sockread *r = arg;
    struct bufferevent *bev = r->bev;
    bufferevent_event_cb ecb = r->event_cb;
    void *uarg = r->arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (r->pending_error) {
        /* Met after data the owner has had since: an error now, not the
         * EOF a second read would report (a reset must not pass for the
         * end of a close-delimited body). */
        r->pending_error = false;
        sockread_disable(r);
        errno = r->pending_errno;
        if (ecb)
            ecb(bev, BEV_EVENT_READING | BEV_EVENT_ERROR, uarg);
        return;
    }
    if (r->high && have >= r->high) {
        /* Like a bufferevent's read watermark: stop, and start again by
         * ourselves when the owner drained the input (watched only while
         * suspended: a callback on every drain would cost each exchange). */
        sockread_disable(r);
        r->suspended = true;
        if (r->drain_cb == NULL)
            r->drain_cb = evbuffer_add_cb(in, drain_cb, r);
        return;
    }
    uint32_t max, top;
    bool frames;
    size_t batch = plan_reads(r, &max, &top, &frames);
    size_t got = 0;
    while (got < batch) {
        size_t want = next_want(r, have, got, batch);
        if (want == 0)
            break;
        size_t room = 0;
        ssize_t n = frames && want > max ? read_frames(fd, in, want, max, &room)
                                         : read_one(fd, in, want, frames, &room);
        if (n <= 0) {
            if (got > 0) {
                /* What was read goes first; EOF stays for the next event,
                 * an error is kept for it. */
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    r->pending_error = true;
                    r->pending_errno = errno;
                }
                break;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            int e = errno;
            sockread_disable(r);
            errno = e;
            if (ecb)
                ecb(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), uarg);
            return;
        }
        got += (size_t)n;
        have += (size_t)n;
        adapt(r, (size_t)n, room, got == (size_t)n, max, top);
        if ((size_t)n < room)
            break; /* the socket is empty for now */
    }
    restart(r); /* a read restarts the timeout: only the deadline moves */
    if (r->read_cb)
        r->read_cb(bev, uarg);
}

static void drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct h2g_sockread *r = arg;
    if (r->suspended && info->n_deleted > 0 && (r->high == 0 || evbuffer_get_length(buf) < r->high)) {
        r->suspended = false;
        sockread_enable(r);
    }
}

void sockread_init(struct h2g_sockread *r, struct bufferevent *bev)
{
    memset(r, 0, sizeof(*r));
    r->bev = bev;
}

void sockread_use_bev(struct h2g_sockread *r)
{
    r->via_bev = true;
}

static void bev_read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_sockread *r = arg;
    restart(r);
    if (r->read_cb)
        r->read_cb(bev, r->arg);
}

static void bev_write_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_sockread *r = arg;
    if (r->bev_write_cb)
        r->bev_write_cb(bev, r->bev_arg);
}

/* A read's end (EOF, error) is the reader's, like read_ev_cb's; the
 * rest (a write error, the connect) the owner's bufferevent callback. */
static void bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2g_sockread *r = arg;
    if ((what & BEV_EVENT_READING) || r->bev_event_cb == NULL) {
        bufferevent_event_cb ecb = r->event_cb;
        void *uarg = r->arg;
        sockread_disable(r);
        if (ecb)
            ecb(bev, what | BEV_EVENT_READING, uarg);
        return;
    }
    r->bev_event_cb(bev, what, r->bev_arg);
}

static int bev_enable(struct h2g_sockread *r)
{
    bufferevent_data_cb rcb, wcb;
    bufferevent_event_cb ecb;
    void *arg;
    bufferevent_getcb(r->bev, &rcb, &wcb, &ecb, &arg);
    if (rcb != bev_read_cb) {
        r->bev_write_cb = wcb;
        r->bev_event_cb = ecb;
        r->bev_arg = arg;
        bufferevent_setcb(r->bev, bev_read_cb, bev_write_cb, bev_event_cb, r);
    }
    bufferevent_setwatermark(r->bev, EV_READ, 0, r->high);
    r->enabled = true;
    restart(r);
    return bufferevent_enable(r->bev, EV_READ);
}

void sockread_setcb(struct h2g_sockread *r, bufferevent_data_cb read_cb, bufferevent_data_cb write_cb,
                    bufferevent_event_cb event_cb, void *arg)
{
    r->read_cb = read_cb;
    r->write_cb = write_cb;
    r->event_cb = event_cb;
    r->arg = arg;
}

int sockread_enable(struct h2g_sockread *r)
{
    if (r->via_bev)
        return bev_enable(r);
    if (r->ev == NULL) {
        evutil_socket_t fd = bufferevent_getfd(r->bev);
        if (fd < 0)
            return -1;
        r->ev = event_new(bufferevent_get_base(r->bev), fd, EV_READ | EV_PERSIST, read_ev_cb, r);
        if (r->ev == NULL)
            return -1;
        /* bufferevent_socket freezes its input's end and thaws it only
         * around its own reads, which never happen here. */
        evbuffer_unfreeze(bufferevent_get_input(r->bev), 0);
    }
    r->suspended = false;
    if (r->drain_cb != NULL) {
        evbuffer_remove_cb_entry(bufferevent_get_input(r->bev), r->drain_cb);
        r->drain_cb = NULL;
    }
    if (!r->enabled) {
        r->enabled = true;
        event_add(r->ev, NULL);
    }
    restart(r);
    return 0;
}

void sockread_disable(struct h2g_sockread *r)
{
    if (r->enabled && r->ev != NULL)
        event_del(r->ev);
    if (r->enabled && r->via_bev)
        bufferevent_disable(r->bev, EV_READ);
    r->enabled = false;
    r->suspended = false;
    r->deadline_ms = 0; /* a pending timer finds nothing to do */
}

void sockread_set_timeout(struct h2g_sockread *r, uint64_t ms)
{
    r->timeout_ms = ms;
    r->fixed = false;
    restart(r);
}

void sockread_set_deadline(struct h2g_sockread *r, uint64_t ms)
{
    sockread_set_timeout(r, ms);
    r->fixed = ms != 0;
}

void sockread_set_high(struct h2g_sockread *r, size_t high)
{
    r->high = high;
    if (r->via_bev)
        bufferevent_setwatermark(r->bev, EV_READ, 0, high);
}

void sockread_set_max_chunk(struct h2g_sockread *r, uint32_t max)
{
    r->max_chunk = max;
}

void sockread_set_batch(struct h2g_sockread *r, uint32_t batch)
{
    r->batch = batch;
}

/* Extents one write takes: as many as libevent's writev. */
#define SOCKWRITE_IOV 128

/* evbuffer_write_atmost as send(2) or sendmsg(2): a socket's writev goes
 * through the file layer as its read does (sock_readv).  Not a socket:
 * writev.  The bytes written, drained from `out`, or -1 with errno. */
static ssize_t sock_write(evutil_socket_t fd, struct evbuffer *out, ev_ssize_t max)
{
    struct evbuffer_iovec v[SOCKWRITE_IOV];
    int n = evbuffer_peek(out, max, NULL, v, SOCKWRITE_IOV);
    if (n > SOCKWRITE_IOV)
        n = SOCKWRITE_IOV;
    struct iovec iov[SOCKWRITE_IOV];
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
        if (max >= 0 && total + iov[i].iov_len > (size_t)max)
            iov[i].iov_len = (size_t)max - total;
        total += iov[i].iov_len;
    }
    if (n <= 0 || total == 0)
        return 0;
    ssize_t w;
    if (n == 1) {
        w = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        w = sendmsg(fd, &m, MSG_NOSIGNAL);
    }
    if (w < 0 && errno == ENOTSOCK)
        w = writev(fd, iov, n);
    if (w > 0)
        evbuffer_drain(out, (size_t)w);
    return w;
}

bool sockwrite_now(struct bufferevent *bev, ev_ssize_t max)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return true;
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* TLS records are the bufferevent's to write. */
    if (fd >= 0 && bufferevent_openssl_get_ssl(bev) == NULL) {
        /* A socket bufferevent keeps its output's start frozen (only its
         * own write callback drains it, thawing it meanwhile): frozen,
         * it could not be drained. */
        evbuffer_unfreeze(out, 1);
        sock_write(fd, out, max);
        evbuffer_freeze(out, 1);
    }
    if (evbuffer_get_length(out) == 0)
        return true;
    bufferevent_enable(bev, EV_WRITE);
    return false;
}

void sockwrite_flush(struct bufferevent *bev)
{
    if (!(bufferevent_get_enabled(bev) & EV_WRITE))
        sockwrite_now(bev, H2G_IO_CHUNK);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_sockread *r = arg;
    r->flush_pending = false;
    sockwrite_flush(r->bev);
    if (r->write_cb)
        r->write_cb(r->bev, r->arg);
}

void sockread_flush_soon(struct h2g_sockread *r)
{
    if (r->flush_ev == NULL) {
        r->flush_ev = event_new(bufferevent_get_base(r->bev), -1, 0, flush_cb, r);
        if (r->flush_ev == NULL) {
            sockwrite_flush(r->bev);
            return;
        }
    }
    /* Asked for several times an exchange (head, request end, body):
     * once active, the event needs nothing more. */
    if (!r->flush_pending) {
        r->flush_pending = true;
        event_active(r->flush_ev, EV_TIMEOUT, 0);
    }
}

void sockread_clear(struct h2g_sockread *r)
{
    if (r->via_bev && r->bev != NULL) {
        bufferevent_data_cb rcb;
        bufferevent_getcb(r->bev, &rcb, NULL, NULL, NULL);
        if (rcb == bev_read_cb)
            bufferevent_setcb(r->bev, NULL, NULL, NULL, NULL);
    }
    if (r->drain_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(r->bev), r->drain_cb);
    r->drain_cb = NULL;
    if (r->ev != NULL)
        event_free(r->ev);
    r->ev = NULL;
    if (r->flush_ev != NULL)
        event_free(r->flush_ev);
    r->flush_ev = NULL;
    r->flush_pending = false;
    if (r->timer != NULL)
        event_free(r->timer);
    r->timer = NULL;
    r->armed_ms = r->deadline_ms = 0;
    r->enabled = false;
}

/*
 * The callback is found out by its effect, with no socket yet: a byte
 * added to the output must make the write event pending (for a socket
 * of -1 libevent registers it without a system call), then all of it is
 * undone.  The socket is set after, and the bufferevent left as one made
 * with it: write wanted but not yet registered, the input's end and the
 * output's start frozen (only the bufferevent's own callbacks thaw
 * them).  bufferevent_struct.h is libevent's public view of the
 * structure; only ev_write and enabled are used.
 */
struct bufferevent *sockwrite_bufferevent_new(struct event_base *base, evutil_socket_t fd, int options)
{
    struct bufferevent *bev = bufferevent_socket_new(base, -1, options);
    if (bev == NULL)
        return NULL;
    struct evbuffer *out = bufferevent_get_output(bev);
    bool writes = false;
    if (evbuffer_add(out, "", 1) == 0) {
        writes = event_pending(&bev->ev_write, EV_WRITE, NULL);
        event_del(&bev->ev_write);
        evbuffer_unfreeze(out, 1);
        evbuffer_drain(out, 1);
        evbuffer_freeze(out, 1);
    }
    if (!writes) {
        bufferevent_free(bev);
        return NULL;
    }
    if (fd >= 0) {
        short enabled = bev->enabled;
        bev->enabled = 0; /* setting the socket would register the write event */
        bufferevent_setfd(bev, fd);
        bev->enabled = enabled;
        evbuffer_freeze(bufferevent_get_input(bev), 0);
        evbuffer_freeze(out, 1);
    }
    return bev;
}
