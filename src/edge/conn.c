#include "edge/conn.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/blockcache.h"
#include "runtime/failalloc.h"
#include "edge/h1_session.h"
#include "edge/h2_session.h"
#include "runtime/log.h"
#include "edge/tls.h"
#include "edge/tls_record.h"
#include "edge/listener.h"
#include "runtime/services.h"
#include "runtime/slab.h"
#include "core/proxy_proto.h"
#include "core/units.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24

/* Ciphertext allowed to wait for the socket before TLS stops encrypting. */
#define TLS_OUT_CAP (128 * 1024)
/* Ciphertext read ahead of the TLS filter, at most. */
#define TLS_IN_CAP (128 * 1024)

/* How long a closing connection may take to flush its last bytes. */
#define CLOSE_FLUSH_MS 5000
/* After our last byte, how long we read and discard the client's, so the
 * kernel does not answer them with a RST that could destroy our GOAWAY
 * before the client read it. */
#define LINGER_MS 2000

/*
 * A client that takes no byte of what is waiting for it (its TCP window
 * shut, never read) would keep its connection, its streams and their
 * buffers forever, and an RST_STREAM or GOAWAY meant to end them never
 * leaves.  The socket's write timeout bounds that: it runs only while
 * output is pending and restarts with every write that makes progress.
 */
static void set_write_timeout(struct h2g_conn *c, uint64_t ms)
{
    if (c->bev == NULL)
        return; /* asleep: nothing to write; set again by conn_wake */
    struct timeval tv = h2g_ms_timeval(ms);
    bufferevent_set_timeouts(c->sock != NULL ? c->sock : c->bev, NULL, &tv);
}

void conn_carries_tunnel(struct h2g_conn *c)
{
    const struct h2g_timeouts *t = &c->config->timeouts;
    if (t->tunnel_idle > t->stream_idle)
        set_write_timeout(c, t->tunnel_idle);
}

static void conn_defer(struct h2g_conn *c);

static void set_state(struct h2g_conn *c, enum h2g_conn_state st)
{
    c->state = st;
}

/* TLS: our reader filled the socket bufferevent's input; the filter
 * takes it from there, as after a read of the bufferevent's own. */
static void tls_sock_read_cb(struct bufferevent *sock, void *arg)
{
    bufferevent_trigger(sock, EV_READ, 0);
}

static void tls_sock_event_cb(struct bufferevent *sock, short what, void *arg)
{
    bufferevent_trigger_event(sock, what, 0);
}

/*
 * TLS records leave as cleartext output does (sockwrite_flush): written
 * directly at the end of the loop turn that sealed them, the socket
 * bufferevent's EV_WRITE on only while the socket is full.  With it on
 * for good (as the filter leaves it), every batch of records cost an
 * epoll_ctl to watch the socket, a loop turn, the write, and an
 * epoll_ctl to stop watching: 0.5 epoll_ctl per 100-byte response and
 * 1.2 per 64 KiB one (bench/syscalls --tls).
 */
static void tls_records_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct h2g_conn *c = arg;
    if (info->n_added > 0)
        sockread_flush_soon(c->rd);
    else if (c->sleep_wanted && evbuffer_get_length(buf) == 0)
        conn_defer(c); /* the records a sleep waited for left (conn_sleep) */
}

/* After the deferred flush (sockread.h): what the flush left because
 * EV_WRITE was on is written too; the socket drained, EV_WRITE goes off
 * and the filter is told, as the bufferevent's own write would have told
 * it: it seals what it held back at TLS_OUT_CAP. */
static void tls_records_flushed(struct bufferevent *sock, void *arg)
{
    if (!sockwrite_now(sock, H2G_IO_CHUNK))
        return; /* the bufferevent writes the rest, and tells the filter */
    if (bufferevent_get_enabled(sock) & EV_WRITE)
        bufferevent_disable(sock, EV_WRITE);
    bufferevent_trigger(sock, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
}

/* Frees what a session switch retired, after the retired session's
 * callback has returned. */
static void free_retired(struct h2g_conn *c)
{
    if (c->retired == NULL)
        return;
    c->retired_ops->free(c->retired);
    c->retired = NULL;
    c->retired_ops = NULL;
}

static void tls_sleep(struct h2g_conn *c);
static void records_after_handshake(struct h2g_conn *c);
static bool release_filter(struct h2g_conn *c);

enum { CONN_WORK_NONE, CONN_WORK_NOW, CONN_WORK_LATER };

static void defer_later(struct h2g_conn *c);

/* A connection's deferred work (conn_defer). */
static void do_work(struct h2g_conn *c)
{
    free_retired(c);
    if (c->state == H2G_CONN_CLOSED || c->releasing) {
        conn_free(c);
        return;
    }
    /* Otherwise it ran for a retired session, a sleep (conn_sleep) or a
     * filter a sleep freed: the connection goes on. */
    bool released = release_filter(c);
    if (released && c->records_wanted) {
        records_after_handshake(c);
        released = release_filter(c);
    }
    if (released && c->sleep_wanted) {
        tls_sleep(c);
        released = release_filter(c);
    }
    if (!released)
        defer_later(c);
}

static void undefer(struct h2g_conn *c)
{
    if (c->work == CONN_WORK_NOW)
        TAILQ_REMOVE(&c->svc->conn_work, c, work_link);
    else if (c->work == CONN_WORK_LATER)
        TAILQ_REMOVE(&c->svc->conn_later, c, work_link);
    c->work = CONN_WORK_NONE;
}

/* The work of every connection queued, in order; what a connection's
 * work queues for now runs in this same pass, as an event activated
 * from its own callback would. */
static void work_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_services *svc = arg;
    struct h2g_conn *c;
    while ((c = TAILQ_FIRST(&svc->conn_work)) != NULL) {
        undefer(c);
        do_work(c);
    }
}

/* The next turn's: what was queued for later is queued for now, and
 * what that work puts off again waits for the turn after. */
static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_services *svc = arg;
    struct h2g_conn *c;
    while ((c = TAILQ_FIRST(&svc->conn_later)) != NULL) {
        TAILQ_REMOVE(&svc->conn_later, c, work_link);
        TAILQ_INSERT_TAIL(&svc->conn_work, c, work_link);
        c->work = CONN_WORK_NOW;
    }
    work_cb(fd, what, arg);
}

/* c's work at the end of this loop turn, out of the callbacks running. */
static void conn_defer(struct h2g_conn *c)
{
    struct h2g_services *svc = c->svc;
    if (c->work == CONN_WORK_NOW)
        return;
    undefer(c);
    TAILQ_INSERT_TAIL(&svc->conn_work, c, work_link);
    c->work = CONN_WORK_NOW;
    event_active(svc->conn_work_ev, EV_TIMEOUT, 0);
}

/* c's work on the next loop turn (a TLS filter's last reference is
 * still held by a callback of this one). */
static void defer_later(struct h2g_conn *c)
{
    struct h2g_services *svc = c->svc;
    if (c->work != CONN_WORK_NONE)
        return;
    TAILQ_INSERT_TAIL(&svc->conn_later, c, work_link);
    c->work = CONN_WORK_LATER;
    if (!evtimer_pending(svc->conn_later_ev, NULL)) {
        struct timeval now = {0, 0};
        evtimer_add(svc->conn_later_ev, &now);
    }
}

int conn_worker_init(struct h2g_services *svc)
{
    TAILQ_INIT(&svc->conn_work);
    TAILQ_INIT(&svc->conn_later);
    svc->conn_work_ev = event_new(svc->base, -1, 0, work_cb, svc);
    svc->conn_later_ev = evtimer_new(svc->base, later_cb, svc);
    if (svc->conn_work_ev != NULL && svc->conn_later_ev != NULL)
        return 0;
    conn_worker_release(svc);
    return -1;
}

void conn_worker_release(struct h2g_services *svc)
{
    if (svc->conn_work_ev != NULL)
        event_free(svc->conn_work_ev);
    if (svc->conn_later_ev != NULL)
        event_free(svc->conn_later_ev);
    svc->conn_work_ev = svc->conn_later_ev = NULL;
}

static void schedule_free(struct h2g_conn *c)
{
    set_state(c, H2G_CONN_CLOSED);
    conn_read_disable(c);
    if (c->rd != NULL)
        sockread_disable(c->rd);
    if (c->bev != NULL)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    conn_defer(c);
}

/* Output flushed: half-close and discard what the client still sends
 * for a moment (lingering close). */
static void linger(struct h2g_conn *c)
{
    c->lingering = true;
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_WR);
    conn_read_cap(c, 0);
    conn_read_enable(c);
    struct timeval tv = h2g_ms_timeval(LINGER_MS);
    evtimer_add(c->timer, &tv);
}

/* Bytes not yet handed to the kernel: for TLS, plaintext not yet sealed
 * and records not yet written. */
static size_t pending_out(const struct h2g_conn *c)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (c->sock != NULL)
        n += evbuffer_get_length(bufferevent_get_output(c->sock));
    return n;
}

/* TLS: the filter reports its own output drained, not the socket's; the
 * socket's buffer tells when the last record left. */
static void sock_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct h2g_conn *c = arg;
    if (info->n_deleted > 0 && c->state == H2G_CONN_CLOSING && !c->lingering && pending_out(c) == 0)
        linger(c);
}

void conn_close(struct h2g_conn *c, bool flush)
{
    if (c->state == H2G_CONN_CLOSED)
        return;
    if (c->bev == NULL)
        flush = false; /* asleep: nothing is pending */
    if (!flush) {
        schedule_free(c);
        return;
    }
    if (c->state == H2G_CONN_CLOSING)
        return;
    set_state(c, H2G_CONN_CLOSING);
    if (pending_out(c) > 0) {
        if (c->sock != NULL && c->sock_out_cb == NULL)
            c->sock_out_cb = evbuffer_add_cb(bufferevent_get_output(c->sock), sock_out_cb, c);
        conn_read_disable(c);
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        bufferevent_enable(c->bev, EV_WRITE);
        struct timeval tv = h2g_ms_timeval(CLOSE_FLUSH_MS);
        evtimer_add(c->timer, &tv);
        return;
    }
    linger(c);
}

/* Makes a session of `ops` and installs it, in place of the current
 * one if any (which the caller then retires): NULL if it could not be
 * made, the connection unchanged.  The connection's timer is the new
 * session's: stopped here, armed again by a session that times with it
 * (h1_session). */
static void *install_session(struct h2g_conn *c, const struct h2g_session_ops *ops, const struct h2g_upgrade *up)
{
    evtimer_del(c->timer);
    void *session = ops->new(c, up);
    if (session == NULL)
        return NULL;
    struct h2g_stats *st = &c->svc->stats;
    if (c->session != NULL)
        STAT_DEC(st, sessions_open[c->sops->stats_slot[c->tls]]);
    c->session = session;
    c->sops = ops;
    STAT_INC(st, sessions_total[ops->stats_slot[c->tls]]);
    STAT_INC(st, sessions_open[ops->stats_slot[c->tls]]);
    return session;
}

/* The protocol is known (ALPN, or the first bytes): the session starts
 * and reads whatever already arrived with the handshake. */
static void start_session(struct h2g_conn *c, const struct h2g_session_ops *ops)
{
    if (install_session(c, ops, NULL) == NULL) {
        conn_close(c, false);
        return;
    }
    set_state(c, H2G_CONN_SESSION);
    if (c->draining) {
        ops->drain(c->session);
        if (c->state != H2G_CONN_SESSION)
            return;
    }
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        ops->on_read(c->session);
}

int conn_switch_session(struct h2g_conn *c, const struct h2g_session_ops *ops, const struct h2g_upgrade *up)
{
    /* One switch per loop turn at most: the retired slot is the deferred
     * work's until it has run. */
    if (c->retired != NULL)
        return -1;
    void *old = c->session;
    const struct h2g_session_ops *old_ops = c->sops;
    if (install_session(c, ops, up) == NULL)
        return -1;
    c->retired = old;
    c->retired_ops = old_ops;
    conn_defer(c);
    /* What the client sent after the upgrade request is the new
     * protocol's (the HTTP/2 preface, RFC 7540 3.2). */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        ops->on_read(c->session);
    return 0;
}

/* Cleartext: the HTTP/2 preface means prior-knowledge h2c; anything else
 * is HTTP/1.1 if the listener serves it.  An h2-only listener hands
 * anything to nghttp2, which answers a bad preface with GOAWAY. */
static void sniff(struct h2g_conn *c)
{
    const struct h2g_listen_config *lc = c->listen->lc;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    size_t m = n < PREFACE_LEN ? n : PREFACE_LEN;
    unsigned char buf[PREFACE_LEN];
    evbuffer_copyout(in, buf, m);
    bool is_preface = memcmp(buf, preface, m) == 0;
    if (is_preface && m < PREFACE_LEN)
        return; /* wait for more */
    start_session(c, (is_preface && lc->h2) || !lc->http11 ? &h2_session_ops : &h1_session_ops);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_conn *c = arg;
    switch (c->state) {
    case H2G_CONN_SESSION:
        c->sops->on_read(c->session);
        break;
    case H2G_CONN_HANDSHAKE:
        if (!c->tls)
            sniff(c);
        break;
    default:
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        break;
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_conn *c = arg;
    switch (c->state) {
    case H2G_CONN_SESSION:
        c->sops->on_write(c->session);
        break;
    case H2G_CONN_CLOSING:
        if (pending_out(c) == 0 && !c->lingering)
            linger(c);
        break;
    default:
        break;
    }
}

/* The session the handshake chose (ALPN). */
static const struct h2g_session_ops *alpn_session(const struct h2g_conn *c, const SSL *ssl)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    const struct h2g_listen_config *lc = c->listen->lc;
    bool h2 = alpn_len == 2 && memcmp(alpn, "h2", 2) == 0;
    /* No ALPN at all: an HTTP/1.1 client, if the listener serves those. */
    return h2 || (alpn_len == 0 && !lc->http11) ? &h2_session_ops : &h1_session_ops;
}

/* The handshake is over: the session starts on the turn after, once
 * the records are ours (records_after_handshake), or at once when they
 * cannot be. */
static void tls_established(struct h2g_conn *c)
{
    if (c->rec != NULL) {
        c->records_wanted = true;
        conn_defer(c);
        return;
    }
    start_session(c, alpn_session(c, bufferevent_openssl_get_ssl(c->bev)));
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2g_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->tls && c->state == H2G_CONN_HANDSHAKE)
            tls_established(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (c->tls) {
            unsigned long e;
            while ((e = bufferevent_get_openssl_error(bev)) != 0) {
                char buf[256];
                ERR_error_string_n(e, buf, sizeof(buf));
                LOG_DEBUG("conn=%llu: TLS: %s", (unsigned long long)c->id, buf);
            }
        }
    }
    if (what & BEV_EVENT_TIMEOUT) {
        /* Abortive close: what the client did not take cannot be
         * delivered, and an orphaned socket would keep it in the kernel
         * (up to the send buffer's size) for minutes of zero-window
         * probes. */
        LOG_INFO("conn=%llu: the client took nothing for the write timeout: closing", (unsigned long long)c->id);
        STAT_INC(&c->svc->stats, timeouts[H2G_TIMEOUT_CLIENT_WRITE]);
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        conn_close(c, false);
        return;
    }
    /* A half-closed HTTP/1.1 tunnel still carries the target's answer. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->state == H2G_CONN_SESSION &&
        c->sops->on_eof != NULL && c->sops->on_eof(c->session))
        return;
    /* The client is gone (EOF, reset or TLS failure): nothing to flush. */
    conn_close(c, false);
}

/* Set on the socket bufferevent while the filter is made (make_filter). */
static void filter_sentinel_cb(struct bufferevent *bev, short what, void *arg)
{
}

/* What libevent's own output callback of a filter does once the
 * handshake is over: encrypt what was added. */
static void filter_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    /* libevent's callback, when it is there, ran first and took it all
     * (or stopped at the socket's watermark, as a flush would): then
     * there is nothing to do, cheaply. */
    if (info->n_added > 0 && evbuffer_get_length(buf) > 0 && SSL_is_init_finished(bufferevent_openssl_get_ssl(bev)))
        bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
}

/*
 * bufferevent_openssl_filter_new(base, sock, ssl, state,
 * CLOSE_ON_FREE), made safe against two defects of libevent 2.1.12 when
 * out of memory:
 *  - failing, it frees ssl, and sock too if it failed after taking it:
 *    which one, only sock's callbacks tell (freeing a bufferevent clears
 *    them), so a sentinel is set on sock, and a reference of ours keeps
 *    it readable meanwhile;
 *  - it ignores the failure of its output callback's allocation, and a
 *    filter without one never encrypts what the session writes: a
 *    callback of ours does the same (when both run, the second finds
 *    nothing to do).
 * NULL when out of memory, and then ssl and sock (with its socket) are
 * gone.
 */
static struct bufferevent *make_filter(struct event_base *base, struct bufferevent *sock, SSL *ssl,
                                       enum bufferevent_ssl_state state)
{
    bufferevent_setcb(sock, NULL, NULL, filter_sentinel_cb, NULL);
    bufferevent_incref(sock);
    /* A third defect is not survivable: see failalloc.h. */
    failalloc_hold();
    struct bufferevent *bev =
        bufferevent_openssl_filter_new(base, sock, ssl, state, BEV_OPT_CLOSE_ON_FREE);
    failalloc_release();
    if (bev == NULL) {
        bufferevent_event_cb ecb = NULL;
        bufferevent_getcb(sock, NULL, NULL, &ecb, NULL);
        if (ecb == filter_sentinel_cb)
            bufferevent_free(sock); /* still ours */
        bufferevent_decref(sock);
        return NULL;
    }
    bufferevent_decref(sock);
    if (evbuffer_add_cb(bufferevent_get_output(bev), filter_out_cb, bev) == NULL) {
        bufferevent_free(bev); /* with ssl and sock */
        return NULL;
    }
    return bev;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_conn *c = arg;
    if (c->state == H2G_CONN_SESSION && c->sops->on_timer != NULL && c->sops->on_timer(c->session))
        return;
    if (c->state == H2G_CONN_HANDSHAKE) {
        LOG_INFO("conn=%llu: handshake timed out", (unsigned long long)c->id);
        STAT_INC(&c->svc->stats, timeouts[H2G_TIMEOUT_HANDSHAKE]);
    }
    schedule_free(c);
}

static bool facts_cert_covers(const struct h2g_client_facts *f, const char *host, size_t len)
{
    struct h2g_conn *c = (struct h2g_conn *)((char *)f - offsetof(struct h2g_conn, facts));
    return conn_cert_covers(c, host, len);
}

/* What every request on this connection carries (request_ctx.h). */
static void fill_facts(struct h2g_conn *c)
{
    c->facts.conn_id = c->id;
    c->facts.peer_ip = c->peer_ip; /* with peer_port and peer_ipv6 (set_peer) */
    c->facts.tls = c->tls;
    c->facts.svc = c->svc;
    c->facts.cert_covers = facts_cert_covers;
}

/* The peer's address as requests, logs and h2gatectl show it: only its
 * text, port and family are kept. */
static void set_peer(struct h2g_conn *c, const struct sockaddr *sa, int salen)
{
    if (sa->sa_family == AF_INET && (size_t)salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, c->peer_ip, sizeof(c->peer_ip));
        c->facts.peer_port = ntohs(s4->sin_port);
        c->facts.peer_ipv6 = false;
    } else if (sa->sa_family == AF_INET6 && (size_t)salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, c->peer_ip, sizeof(c->peer_ip));
        c->facts.peer_port = ntohs(s6->sin6_port);
        c->facts.peer_ipv6 = true;
        /* Show IPv4 clients of a dual-stack socket as IPv4. */
        if (strncmp(c->peer_ip, "::ffff:", 7) == 0 && strchr(c->peer_ip + 7, '.') != NULL) {
            memmove(c->peer_ip, c->peer_ip + 7, strlen(c->peer_ip + 7) + 1);
            c->facts.peer_ipv6 = false;
        }
    }
}

/* The client's address as a PROXY protocol header carries it (for
 * v2 LOCAL and v1 UNKNOWN headers, the connection's own stays). */
static void set_peer_proxied(struct h2g_conn *c, const struct h2g_pp_result *r)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (r->family == H2G_PP_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, r->src_addr, 4);
        s4->sin_port = htons(r->src_port);
        set_peer(c, (const struct sockaddr *)s4, sizeof(*s4));
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, r->src_addr, 16);
        s6->sin6_port = htons(r->src_port);
        set_peer(c, (const struct sockaddr *)s6, sizeof(*s6));
    }
    fill_facts(c);
}

/* The PROXY header is read: the connection's own reader takes over,
 * starting with what followed the header. */
static void proxy_header_done(struct h2g_conn *c, struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->pp_held != NULL) {
        /* in is empty: what was moved out goes back, moved, not copied. */
        int rc = evbuffer_add_buffer(in, c->pp_held);
        evbuffer_free(c->pp_held);
        c->pp_held = NULL;
        if (rc != 0) {
            LOG_INFO("conn=%llu: out of memory after the PROXY protocol header: closing", (unsigned long long)c->id);
            conn_close(c, false);
            return;
        }
    }
    bufferevent_data_cb next = c->tls ? tls_sock_read_cb : read_cb;
    sockread_setcb(c->rd, next, c->tls ? tls_records_flushed : NULL, c->tls ? tls_sock_event_cb : event_cb, c);
    if (evbuffer_get_length(in) > 0)
        next(bev, c);
}

/*
 * A proxy_protocol listener's first reader: the PROXY header is taken
 * from the socket's input (under the TLS filter, for TLS) before TLS or
 * the preface sniffing sees a byte; what follows it stays in the buffer
 * for the reader that then takes over (read_cb, or the filter).  No
 * valid header: closed; none within timeouts.handshake: closed by the
 * handshake timer.
 */
static void proxy_read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->state != H2G_CONN_HANDSHAKE) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    /* TLS: the filter's handshake may run at any time (its socket turns
     * writable) and reads c->sock's input: the header waits elsewhere. */
    struct evbuffer *held = in;
    if (c->tls && ((c->pp_held == NULL && (c->pp_held = evbuffer_new()) == NULL) ||
                   evbuffer_add_buffer(c->pp_held, in) != 0)) {
        LOG_INFO("conn=%llu: out of memory reading the PROXY protocol header: closing", (unsigned long long)c->id);
        conn_close(c, false);
        return;
    }
    if (c->tls)
        held = c->pp_held;
    size_t n = evbuffer_get_length(held);
    size_t want = n < 16 + H2G_PP_V2_MAX_BODY ? n : 16 + H2G_PP_V2_MAX_BODY;
    const uint8_t *p = evbuffer_pullup(held, (ev_ssize_t)want);
    if (p == NULL) {
        LOG_INFO("conn=%llu: out of memory reading the PROXY protocol header: closing", (unsigned long long)c->id);
        conn_close(c, false);
        return;
    }
    struct h2g_pp_result r;
    const char *err;
    enum h2g_pp_status st = h2g_pp_parse(p, want, &r, &err);
    if (st == H2G_PP_NEED_MORE)
        return;
    if (st == H2G_PP_ERROR) {
        LOG_INFO("conn=%llu: %s:%u: bad PROXY protocol header (%s): closing", (unsigned long long)c->id,
                 c->peer_ip, c->facts.peer_port, err);
        conn_close(c, false);
        return;
    }
    evbuffer_drain(held, r.len);
    if (r.kind == H2G_PP_PROXIED)
        set_peer_proxied(c, &r);
    proxy_header_done(c, bev);
}

/* The socket's bufferevent under a TLS filter: NULL when out of memory
 * (fd left open). */
static struct bufferevent *tls_socket_new(struct h2g_conn *c, int fd)
{
    struct bufferevent *sock = sockwrite_bufferevent_new(c->svc->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (sock == NULL)
        return NULL;
    bufferevent_set_max_single_read(sock, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(sock, H2G_IO_CHUNK);
    /* The filter stops encrypting while this much ciphertext waits for
     * the socket: the sessions' output caps stay caps. */
    bufferevent_setwatermark(sock, EV_WRITE, 0, TLS_OUT_CAP);
    return sock;
}

/* As tls_socket_new, with fd closed when out of memory. */
static struct bufferevent *tls_socket(struct h2g_conn *c, int fd)
{
    struct bufferevent *sock = tls_socket_new(c, fd);
    if (sock == NULL)
        close(fd);
    return sock;
}

/* libevent's generic filter (our records) opens the ciphertext under it
 * only when more comes, not when it is enabled again nor when its input
 * drains below the read watermark, as OpenSSL's does: it is told, a
 * callback later, whenever some waits. */
static void records_look(struct h2g_conn *c)
{
    if (c->sock != NULL && evbuffer_get_length(bufferevent_get_input(c->sock)) > 0)
        bufferevent_trigger(c->sock, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* The session took plaintext from the filter's input: records that all
 * arrived while it was full (an upload's last ones) are opened. */
static void records_input_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_deleted > 0)
        records_look(arg);
}

/* The reader, made if need be, set up to read `bev`'s socket: 0, or -1
 * out of memory. */
static int reader_init(struct h2g_conn *c, struct bufferevent *bev)
{
    if (c->rd == NULL && (c->rd = h2g_block_calloc(1, sizeof(*c->rd))) == NULL)
        return -1;
    sockread_init(c->rd, bev);
    return 0;
}

static void reader_free(struct h2g_conn *c)
{
    if (c->rd == NULL)
        return;
    sockread_clear(c->rd);
    h2g_block_free(c->rd);
    c->rd = NULL;
}

/* What a TLS filter (c->bev over c->sock) needs around it, OpenSSL's or
 * our records': 0, or -1 out of memory, and then both are gone. */
static int plumb_tls(struct h2g_conn *c, bool pp)
{
    struct bufferevent *sock = c->sock;
    bufferevent_set_max_single_read(c->bev, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(c->bev, H2G_IO_CHUNK);
    /* The filter encrypts on every addition to its output, one record
     * per SSL_write: deferred, it sees one addition per loop turn and
     * seals what the sessions wrote in a few large records. */
    evbuffer_defer_callbacks(bufferevent_get_output(c->bev), c->svc->base);
    /* Ciphertext is read by our reader too (libevent 2.1 reads 4 KiB
     * per read, each after a FIONREAD ioctl: three syscalls per 4 KiB
     * of upload), into the socket bufferevent's input, and the filter
     * is told as if the socket bufferevent had read it.  At most
     * TLS_IN_CAP waits there while the filter is not reading. */
    bufferevent_disable(sock, EV_READ);
    /* The filter turned EV_WRITE on; records are written as they come
     * (tls_records_added). */
    bufferevent_disable(sock, EV_WRITE);
    if (reader_init(c, sock) == 0) {
        sockread_setcb(c->rd, pp ? proxy_read_cb : tls_sock_read_cb, tls_records_flushed, tls_sock_event_cb, c);
        sockread_set_high(c->rd, TLS_IN_CAP);
        c->sock_added_cb = evbuffer_add_cb(bufferevent_get_output(sock), tls_records_added, c);
    }
    if (c->sock_added_cb == NULL ||
        (bufferevent_openssl_get_ssl(c->bev) == NULL &&
         evbuffer_add_cb(bufferevent_get_input(c->bev), records_input_drained, c) == NULL)) {
        reader_free(c);
        bufferevent_free(c->bev); /* with ssl, sock and the socket */
        c->bev = NULL;
        c->sock = NULL;
        c->sock_added_cb = NULL;
        return -1;
    }
    return 0;
}

/*
 * TLS as a filter over a socket bufferevent, not a socket-owning TLS
 * bufferevent: records are written into the socket's buffer and leave in
 * one write per loop turn (the socket flavour does a write per
 * SSL_write, a read per record header and per record, and an epoll_ctl
 * for each), and ciphertext is read in bulk.  Sets c->bev and c->sock
 * around ssl, which the filter then owns: ACCEPTING for a new
 * connection, OPEN for one woken (conn_wake).  0, or -1 out of memory,
 * and then ssl and fd are gone.
 */
static int attach_tls(struct h2g_conn *c, int fd, SSL *ssl, enum bufferevent_ssl_state state)
{
    struct bufferevent *sock = tls_socket(c, fd);
    if (sock == NULL) {
        SSL_free(ssl);
        return -1;
    }
    c->bev = make_filter(c->svc->base, sock, ssl, state);
    c->sock = c->bev != NULL ? sock : NULL;
    if (c->bev == NULL)
        return -1;
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    return plumb_tls(c, c->listen->lc->proxy_protocol && state == BUFFEREVENT_SSL_ACCEPTING);
}

/* --- our records (tls_record.h), once handed off --- */

/* The records end the connection (a record that does not open, the
 * client's alert or close_notify): its alert, if it gets one, leaves at
 * once; the connection's event callback closes it, a callback later. */
static void records_end(struct h2g_conn *c, enum h2g_rec_result res)
{
    if (res == H2G_REC_EOF) {
        bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_EOF, BEV_TRIG_DEFER_CALLBACKS);
        return;
    }
    LOG_INFO("conn=%llu: TLS: %s: closing", (unsigned long long)c->id, tls_record_error(c->rec));
    if (tls_record_alert(c->rec, bufferevent_get_output(c->sock)) == 0)
        sockwrite_now(c->sock, H2G_IO_CHUNK);
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
}

/* Not for a filter on its way out (a sleep's, a closed connection's). */
static bool records_live(const struct h2g_conn *c)
{
    return c->bev != NULL && !c->asleep && !c->releasing && !c->rec_ended;
}

/* A filter's answer to libevent for what tls_record did. */
static enum bufferevent_filter_result records_did(struct h2g_conn *c, enum h2g_rec_result res)
{
    if (res == H2G_REC_OK || res == H2G_REC_NEED_MORE)
        return res == H2G_REC_OK ? BEV_OK : BEV_NEED_MORE;
    c->rec_ended = true;
    records_end(c, res);
    return BEV_ERROR;
}

static enum bufferevent_filter_result records_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                                 enum bufferevent_flush_mode mode, void *arg)
{
    struct h2g_conn *c = arg;
    return records_live(c) ? records_did(c, tls_record_open(c->rec, src, dst, limit)) : BEV_NEED_MORE;
}

static enum bufferevent_filter_result records_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                                  enum bufferevent_flush_mode mode, void *arg)
{
    struct h2g_conn *c = arg;
    return records_live(c) ? records_did(c, tls_record_seal(c->rec, src, dst, limit)) : BEV_NEED_MORE;
}

/* libevent's generic filter around tls_record, over sock (which it then
 * owns): NULL when out of memory, sock still the caller's. */
static struct bufferevent *records_filter_new(struct h2g_conn *c, struct bufferevent *sock)
{
    /* libevent 2.1.12 uses its output callback's entry unchecked: see
     * failalloc.h. */
    failalloc_hold();
    struct bufferevent *bev = bufferevent_filter_new(sock, records_in, records_out, BEV_OPT_CLOSE_ON_FREE, NULL, c);
    failalloc_release();
    return bev;
}

/* A woken connection whose records are ours: the filter is libevent's
 * generic one around tls_record.  0, or -1 out of memory, and then fd is
 * closed. */
static int attach_records(struct h2g_conn *c, int fd)
{
    struct bufferevent *sock = tls_socket(c, fd);
    if (sock == NULL)
        return -1;
    if (tls_record_key(c->rec) != 0) {
        bufferevent_free(sock);
        return -1;
    }
    struct bufferevent *bev = records_filter_new(c, sock);
    if (bev == NULL) {
        bufferevent_free(sock);
        return -1;
    }
    c->bev = bev;
    c->sock = sock;
    return plumb_tls(c, false);
}

/* c->bev over the socket, TLS or not: 0, or -1 out of memory, and then
 * fd is closed. */
static int open_bufferevent(struct h2g_conn *c, int fd)
{
    if (c->tls) {
        SSL *ssl = SSL_new(c->listen->tls->ctx);
        if (ssl == NULL) {
            close(fd);
            return -1;
        }
        /* Without it the connection keeps its SSL asleep. */
        c->rec = tls_record_new();
        if (c->rec != NULL)
            tls_watch_records(ssl, c->rec);
        return attach_tls(c, fd, ssl, BUFFEREVENT_SSL_ACCEPTING);
    }
    c->bev = sockwrite_bufferevent_new(c->svc->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        close(fd);
        return -1;
    }
    /* libevent moves 16 KiB per syscall by default: bulk transfers would
     * pay four times the syscalls. */
    bufferevent_set_max_single_read(c->bev, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(c->bev, H2G_IO_CHUNK);
    return 0;
}

/* The connection's callbacks on, reading from the client started: 0, or
 * -1 out of memory. */
static int start_reading(struct h2g_conn *c)
{
    bufferevent_setcb(c->bev, c->tls ? read_cb : NULL, write_cb, event_cb, c);
    if (c->tls) {
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        return sockread_enable(c->rd);
    }
    /* Cleartext sockets are read by our reader (libevent 2.1 reads 4 KiB
     * at a time with an ioctl before each read). */
    bufferevent_enable(c->bev, EV_WRITE);
    if (reader_init(c, c->bev) != 0)
        return -1;
    sockread_setcb(c->rd, c->listen->lc->proxy_protocol ? proxy_read_cb : read_cb, NULL, event_cb, c);
    return sockread_enable(c->rd);
}

/* Nothing of OpenSSL's may report to c->rec once it is gone (the SSL
 * may outlive it in a filter being freed). */
static void unwatch_ssl(struct h2g_conn *c)
{
    SSL *ssl = c->rec != NULL ? conn_ssl(c) : NULL;
    if (ssl != NULL)
        tls_unwatch_records(ssl);
}

/* The connection's events come from the worker's slab (slab.h), as it
 * does: what an idle connection keeps sits together. */
static struct event *slab_event_new(struct h2g_services *svc, evutil_socket_t fd, short what,
                                    event_callback_fn cb, void *arg)
{
    struct event *ev = h2g_slab_calloc(&svc->event_slab, event_get_struct_event_size());
    if (ev != NULL && event_assign(ev, svc->base, fd, what, cb, arg) != 0) {
        h2g_slab_free(&svc->event_slab, ev);
        ev = NULL;
    }
    return ev;
}

static void slab_event_free(struct h2g_services *svc, struct event *ev)
{
    if (ev == NULL)
        return;
    event_del(ev);
    h2g_slab_free(&svc->event_slab, ev);
}

struct h2g_conn *conn_new(struct h2g_services *svc, const struct h2g_listen_ctx *lc, int fd,
                          const struct sockaddr *sa, int salen)
{
    struct h2g_conn *c = h2g_slab_calloc(&svc->conn_slab, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->id = h2g_conn_id(svc->worker_id, ++svc->next_conn_id);
    c->start_ms = h2g_mono_ms();
    c->svc = svc;
    c->listen = lc;
    c->config = h2g_config_ref(svc->config);
    c->tls = lc->tls != NULL;
    c->fd = fd;
    set_peer(c, sa, salen);
    fill_facts(c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (open_bufferevent(c, fd) != 0) {
        tls_record_free(c->rec);
        h2g_config_unref(c->config);
        h2g_slab_free(&svc->conn_slab, c);
        return NULL;
    }
    c->timer = slab_event_new(svc, -1, 0, timer_cb, c);
    if (c->timer == NULL)
        goto fail;
    set_write_timeout(c, c->config->timeouts.stream_idle);
    if (start_reading(c) != 0)
        goto fail;
    uint64_t ms = c->config->timeouts.handshake;
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(c->timer, &tv);
    set_state(c, H2G_CONN_HANDSHAKE);
    LIST_INSERT_HEAD(&svc->conns, c, link);
    svc->n_conns++;
    STAT_INC(&svc->stats, connections_total);
    STAT_INC(&svc->stats, connections_open);
    return c;
fail:
    undefer(c);
    reader_free(c);
    slab_event_free(svc, c->timer);
    unwatch_ssl(c);
    bufferevent_free(c->bev);
    tls_record_free(c->rec);
    h2g_config_unref(c->config);
    h2g_slab_free(&svc->conn_slab, c);
    return NULL;
}

/* --- sleep (conn_sleep) --- */

/* The timer while the connection sleeps (watch_asleep). */
static void asleep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_conn *c = arg;
    if (what & EV_READ) {
        /* The client spoke: the reader takes it from here on its next
         * turn (the socket stays readable), and the session wakes
         * on_read. */
        conn_wake(c);
        return;
    }
    /* The session's timeout: the session wakes the connection if it
     * has something to say (on_timer), as awake. */
    c->asleep_until_ms = 0;
    timer_cb(fd, what, arg);
}

/* No byte held either way but, for TLS, records on their way out: in
 * the connection's buffers, and in the socket's input under the filter. */
static bool buffers_empty_but_records(const struct h2g_conn *c)
{
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 ||
        evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        return false;
    return c->sock == NULL || evbuffer_get_length(bufferevent_get_input(c->sock)) == 0;
}

/* No byte held either way. */
static bool buffers_empty(const struct h2g_conn *c)
{
    return buffers_empty_but_records(c) && (c->sock == NULL || evbuffer_get_length(bufferevent_get_output(c->sock)) == 0);
}

/* What is left of the timer's timeout, in ms rounded up: false if it
 * has none. */
static bool timer_left_ms(const struct h2g_conn *c, uint64_t *ms)
{
    struct timeval at, now;
    if (!event_pending(c->timer, EV_TIMEOUT, &at))
        return false;
    event_base_gettimeofday_cached(c->svc->base, &now);
    *ms = 0;
    if (evutil_timercmp(&at, &now, >)) {
        struct timeval left;
        evutil_timersub(&at, &now, &left);
        *ms = (uint64_t)left.tv_sec * 1000 + ((uint64_t)left.tv_usec + 999) / 1000;
    }
    return true;
}

/* The timer made over into (fd, what, cb), with a timeout of `ms` if
 * `timed`: 0, or -1 if it could not be added (epoll_ctl), as it was. */
static int retarget_timer(struct h2g_conn *c, evutil_socket_t fd, short what, event_callback_fn cb, bool timed,
                          uint64_t ms)
{
    struct timeval tv = h2g_ms_timeval(ms);
    evutil_socket_t old_fd = event_get_fd(c->timer);
    short old_what = event_get_events(c->timer);
    event_callback_fn old_cb = event_get_callback(c->timer);
    event_del(c->timer);
    event_assign(c->timer, c->svc->base, fd, what, cb, c);
    if (event_add(c->timer, timed ? &tv : NULL) == 0)
        return 0;
    event_assign(c->timer, c->svc->base, old_fd, old_what, old_cb, c);
    if (timed)
        event_add(c->timer, &tv); /* a timer alone: no system call to fail */
    return -1;
}

/* The timer watches the socket in the reader's place, its timeout kept:
 * 0, or -1 out of memory (the connection stays awake). */
static int watch_asleep(struct h2g_conn *c)
{
    uint64_t ms = 0;
    bool timed = timer_left_ms(c, &ms);
    if (retarget_timer(c, c->fd, EV_READ, asleep_cb, timed, ms) != 0)
        return -1;
    c->asleep = true;
    /* The coarse clock may lag: the deadline may come late, never early. */
    c->asleep_until_ms = timed ? h2g_mono_ms() + ms : 0;
    STAT_INC(&c->svc->stats, connections_asleep);
    return 0;
}

static void unwatch_asleep(struct h2g_conn *c)
{
    uint64_t now = h2g_mono_ms(), until = c->asleep_until_ms;
    retarget_timer(c, -1, 0, timer_cb, until != 0, until > now ? until - now : 0);
    c->asleep = false;
    c->asleep_until_ms = 0;
    STAT_DEC(&c->svc->stats, connections_asleep);
}

static void retire_filter(struct h2g_conn *c);

/* Can the SSL go, its records ours from now on (tls_record.h)?  Yes for
 * TLS 1.3 and 1.2 (and the rest tls_record_take checks). */
static bool hand_off(struct h2g_conn *c, SSL *ssl)
{
    if (c->rec == NULL || !tls_record_take(c->rec, ssl))
        return false;
    tls_unwatch_records(ssl);
    STAT_INC(&c->svc->stats, tls_handoffs);
    LOG_DEBUG("conn=%llu: TLS: records handed off (%s)", (unsigned long long)c->id,
              tls_record_suite_name(c->rec));
    return true;
}

/*
 * TLS, from the deferred work (the filter's callbacks go on using it
 * after the session's return): what is around the connection's TLS state goes: the
 * filter, the socket's bufferevent, the reader.  The TLS state that
 * stays is its records' secrets and sequence numbers (tls_record.h),
 * the SSL freed with the filter, when it can be handed off; otherwise
 * the SSL, between records (none buffered in it either way;
 * SSL_MODE_RELEASE_BUFFERS gave its buffers back), its BIO (libevent's,
 * over c->sock) detached first, so that nothing of it points into what
 * goes, and a reference of ours keeping it when the filter frees its
 * own.  Nothing is sent: no close_notify.
 */
static void tls_sleep(struct h2g_conn *c)
{
    if (c->bev == NULL || c->state != H2G_CONN_SESSION || c->rec_ended || !buffers_empty_but_records(c)) {
        c->sleep_wanted = false;
        return;
    }
    if (!buffers_empty(c))
        return; /* records still leaving: tls_records_added asks again */
    c->sleep_wanted = false;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev); /* NULL: our records already */
    if (ssl != NULL && (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) || SSL_want_write(ssl)))
        return;
    if (watch_asleep(c) != 0)
        return;
    bool keep_ssl = ssl != NULL && !hand_off(c, ssl);
    if (keep_ssl)
        SSL_up_ref(ssl);
    reader_free(c);
    evbuffer_remove_cb_entry(bufferevent_get_output(c->sock), c->sock_added_cb);
    c->sock_added_cb = NULL;
    /* The fd stays ours: the socket's bufferevent closes only the one it
     * has. */
    bufferevent_setfd(c->sock, -1);
    if (ssl != NULL)
        SSL_set_bio(ssl, NULL, NULL);
    retire_filter(c);
    c->ssl = keep_ssl ? ssl : NULL;
    if (tls_record_owned(c->rec))
        tls_record_unkey(c->rec);
}

/* --- our records from the end of the handshake --- */

/* All of src after dst: from a socket bufferevent's output (its start
 * frozen), into one's input (its end frozen), or between filters. */
static void move_all(struct evbuffer *dst, struct evbuffer *src, bool into_sock_input)
{
    if (evbuffer_get_length(src) == 0)
        return;
    if (into_sock_input)
        evbuffer_unfreeze(dst, 0);
    evbuffer_unfreeze(src, 1);
    evbuffer_add_buffer(dst, src); /* relinks the chains: allocates nothing */
    if (into_sock_input)
        evbuffer_freeze(dst, 0);
}

/*
 * The SSL goes and the records are ours (tls_record.h) for the whole
 * connection, not only once it has slept: OpenSSL's filter copies every
 * byte twice more (the plaintext into its record buffer, the records
 * into the socket's through its BIO) and seals each output chain as a
 * record of its own, so the session copied DATA payloads together for
 * it (h2_session's send_data_cb); our seal takes the session's chains as
 * they are.  Done before the session starts, so that only bytes move:
 * the records OpenSSL wrote (its tickets) and the ciphertext it has not
 * opened, onto the new socket bufferevent; what it opened (the client's
 * first requests), onto the new filter.  0 whether handed off or not;
 * -1 out of memory once the SSL is gone, the connection to be closed.
 */
static int records_take_over(struct h2g_conn *c, SSL *ssl)
{
    if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) || SSL_want_write(ssl))
        return 0; /* mid-record: OpenSSL keeps it until a sleep */
    struct bufferevent *sock = tls_socket_new(c, c->fd);
    if (sock == NULL)
        return 0;
    struct bufferevent *bev = records_filter_new(c, sock);
    if (bev == NULL || !hand_off(c, ssl)) {
        bufferevent_setfd(sock, -1); /* the fd is still the old filter's */
        if (bev != NULL)
            bufferevent_free(bev); /* with sock */
        else
            bufferevent_free(sock);
        return 0;
    }
    struct bufferevent *old_sock = c->sock;
    sockread_clear(c->rd);
    sockread_init(c->rd, NULL);
    evbuffer_remove_cb_entry(bufferevent_get_output(old_sock), c->sock_added_cb);
    c->sock_added_cb = NULL;
    bufferevent_setfd(old_sock, -1);
    SSL_set_bio(ssl, NULL, NULL);
    move_all(bufferevent_get_input(bev), bufferevent_get_input(c->bev), false);
    move_all(bufferevent_get_input(sock), bufferevent_get_input(old_sock), true);
    move_all(bufferevent_get_output(sock), bufferevent_get_output(old_sock), false);
    retire_filter(c); /* and the SSL with it */
    c->bev = bev;
    c->sock = sock;
    if (tls_record_key(c->rec) != 0 || plumb_tls(c, false) != 0)
        goto fail;
    set_write_timeout(c, c->config->timeouts.stream_idle);
    if (start_reading(c) != 0)
        goto fail;
    bufferevent_disable(sock, EV_WRITE); /* as wake_tls */
    if (evbuffer_get_length(bufferevent_get_output(sock)) > 0)
        sockread_flush_soon(c->rd); /* OpenSSL's last records, at the turn's end */
    records_look(c);
    return 0;
fail:
    /* The new filter goes at once, with the socket: no callback of its
     * has been deferred yet, and c->dying is the old one's. */
    reader_free(c);
    c->sock_added_cb = NULL; /* freed with c->sock's output */
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->sock = NULL;
    c->fd = -1;
    return -1;
}

/* From the deferred work, the turn after the handshake (out of OpenSSL's filter's
 * callbacks, as a sleep): the records become ours, then the session the
 * handshake chose starts. */
static void records_after_handshake(struct h2g_conn *c)
{
    c->records_wanted = false;
    if (c->state != H2G_CONN_HANDSHAKE || c->bev == NULL)
        return;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    const struct h2g_session_ops *ops = alpn_session(c, ssl);
    if (records_take_over(c, ssl) != 0) {
        LOG_WARN("conn=%llu: out of memory taking its TLS records over: closing it", (unsigned long long)c->id);
        schedule_free(c);
        return;
    }
    start_session(c, ops);
}

bool conn_sleep(struct h2g_conn *c)
{
    if (c->bev == NULL || c->state != H2G_CONN_SESSION || c->pp_held != NULL || !buffers_empty_but_records(c))
        return false;
    if (c->tls) {
        /* Records sealed this loop turn leave at its end: the sleep
         * waits for them (tls_records_added). */
        c->sleep_wanted = true;
        if (buffers_empty(c))
            conn_defer(c);
        return true;
    }
    if (!buffers_empty(c))
        return false;
    if (watch_asleep(c) != 0)
        return false;
    reader_free(c);
    /* The fd stays ours: the bufferevent closes only the one it has. */
    bufferevent_setfd(c->bev, -1);
    bufferevent_free(c->bev);
    c->bev = NULL;
    return true;
}

/* A new bufferevent and reader on the socket: 0, or -1 out of memory,
 * the socket still the connection's. */
static int wake_cleartext(struct h2g_conn *c)
{
    c->bev = sockwrite_bufferevent_new(c->svc->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL)
        return -1; /* conn_free closes the fd, asleep */
    unwatch_asleep(c);
    bufferevent_set_max_single_read(c->bev, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(c->bev, H2G_IO_CHUNK);
    set_write_timeout(c, c->config->timeouts.stream_idle);
    /* As start_reading, the PROXY header being long read. */
    bufferevent_setcb(c->bev, NULL, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_WRITE);
    if (reader_init(c, c->bev) != 0)
        return -1;
    sockread_setcb(c->rd, read_cb, NULL, event_cb, c);
    return sockread_enable(c->rd);
}

/* The filter and the socket's bufferevent made again around the SSL, in
 * the state a handshake leaves them (OPEN), or around our records: 0, or
 * -1 out of memory, the SSL and the socket then gone. */
static int wake_tls(struct h2g_conn *c)
{
    unwatch_asleep(c);
    SSL *ssl = c->ssl;
    c->ssl = NULL;
    if ((ssl != NULL ? attach_tls(c, c->fd, ssl, BUFFEREVENT_SSL_OPEN) : attach_records(c, c->fd)) != 0) {
        c->fd = -1;
        return -1;
    }
    set_write_timeout(c, c->config->timeouts.stream_idle);
    int rc = start_reading(c);
    /* Enabling the filter turned the socket's EV_WRITE on: records are
     * written as they come (tls_records_added), as after the handshake. */
    bufferevent_disable(c->sock, EV_WRITE);
    return rc;
}

int conn_wake(struct h2g_conn *c)
{
    c->sleep_wanted = false;
    if (!c->asleep)
        return 0;
    if ((c->tls ? wake_tls(c) : wake_cleartext(c)) == 0)
        return 0;
    LOG_WARN("conn=%llu: out of memory waking the connection: closing it", (unsigned long long)c->id);
    schedule_free(c);
    return -1;
}

void conn_read_enable(struct h2g_conn *c)
{
    if (c->bev == NULL)
        return;
    if (!c->tls) {
        sockread_enable(c->rd);
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
    if (bufferevent_openssl_get_ssl(c->bev) == NULL)
        records_look(c);
}

void conn_read_disable(struct h2g_conn *c)
{
    if (c->bev == NULL)
        return;
    if (c->tls)
        bufferevent_disable(c->bev, EV_READ);
    else
        sockread_disable(c->rd);
}

void conn_read_cap(struct h2g_conn *c, size_t high)
{
    if (c->bev == NULL)
        return;
    if (c->tls)
        bufferevent_setwatermark(c->bev, EV_READ, 0, high);
    else
        sockread_set_high(c->rd, high);
}

/*
 * The TLS filter's output runs its callbacks deferred (conn_new), and a
 * deferred evbuffer callback holds a reference to the bufferevent until
 * it has run.  If that reference is the last one, libevent 2.1.12
 * finalizes the bufferevent from within the callback and hands the
 * finalizer the evbuffer instead of the bufferevent
 * (bufferevent_decref_and_unlock_ finalizes the running callback, whose
 * argument is the evbuffer): a crash, seen when a client closes a TLS
 * connection while its output is being written.  So the last reference
 * is always ours, dropped from our own event.  retire_filter frees the
 * filter (and c->sock with it), keeping that reference in c->dying;
 * release_filter drops it: true once the filter is gone (or there is
 * none); false while such a callback still holds it (try again on a
 * later loop turn, after it has run).  Outside the loop nothing is
 * running and the plain release is safe.
 */
static void retire_filter(struct h2g_conn *c)
{
    bufferevent_incref(c->bev);
    bufferevent_free(c->bev);
    c->dying = c->bev;
    c->bev = NULL;
    c->sock = NULL;
}

static bool release_filter(struct h2g_conn *c)
{
    if (c->dying == NULL)
        return true;
    if (bufferevent_decref(c->dying) == 1 || event_base_get_running_event(c->svc->base) == NULL) {
        c->dying = NULL;
        return true;
    }
    bufferevent_incref(c->dying);
    return false;
}

/* What conn_free lets go of at once; the TLS filter may have to wait. */
static void free_parts(struct h2g_conn *c)
{
    struct h2g_services *svc = c->svc;
    free_retired(c);
    if (c->session != NULL) {
        STAT_DEC(&svc->stats, sessions_open[c->sops->stats_slot[c->tls]]);
        c->sops->free(c->session);
        c->session = NULL;
        c->sops = NULL;
    }
    reader_free(c);
    unwatch_ssl(c);
    if (c->pp_held != NULL) {
        evbuffer_free(c->pp_held);
        c->pp_held = NULL;
    }
    if (c->sock_out_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->sock), c->sock_out_cb);
    if (c->sock_added_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->sock), c->sock_added_cb);
    c->sock_out_cb = c->sock_added_cb = NULL;
    bool asleep = c->asleep;
    if (asleep)
        unwatch_asleep(c); /* before the close: the socket leaves epoll first */
    evtimer_del(c->timer);
    if (asleep) {
        if (c->fd >= 0)
            close(c->fd);
        SSL_free(c->ssl); /* NULL for cleartext; no BIO: nothing is sent */
        c->ssl = NULL;
    } else if (!c->tls) {
        bufferevent_free(c->bev);
    } else if (c->bev != NULL) {
        retire_filter(c);
    }
    c->bev = NULL;
}

void conn_free(struct h2g_conn *c)
{
    struct h2g_services *svc = c->svc;
    if (!c->releasing) {
        c->releasing = true;
        free_parts(c);
    }
    if (!release_filter(c)) {
        /* Still listed (CLOSED) and counted: the worker stops only once
         * it is gone, and frees it on its way out if it must. */
        defer_later(c);
        return;
    }
    undefer(c);
    tls_record_free(c->rec);
    LIST_REMOVE(c, link);
    svc->n_conns--;
    STAT_DEC(&svc->stats, connections_open);
    slab_event_free(svc, c->timer);
    h2g_config_unref(c->config);
    h2g_slab_free(&svc->conn_slab, c);
    services_conn_closed(svc);
}

void conn_drain(struct h2g_conn *c)
{
    switch (c->state) {
    case H2G_CONN_SESSION:
        c->sops->drain(c->session);
        break;
    case H2G_CONN_HANDSHAKE:
        /* Not closed: a balancer sends connections here until its health
         * check sees the listener gone, and the client of one accepted
         * just now has done nothing wrong.  It finishes its handshake
         * (timeouts.handshake bounds it) and its session starts draining. */
        c->draining = true;
        break;
    default:
        break;
    }
}

SSL *conn_ssl(const struct h2g_conn *c)
{
    if (!c->tls)
        return NULL;
    return c->bev != NULL ? bufferevent_openssl_get_ssl(c->bev) : c->ssl;
}

bool conn_cert_covers(struct h2g_conn *c, const char *host, size_t len)
{
    if (!c->tls)
        return true;
    if (tls_record_owned(c->rec))
        return tls_x509_covers(tls_record_cert(c->rec), host, len);
    SSL *ssl = conn_ssl(c);
    return ssl != NULL && tls_cert_covers(ssl, host, len);
}

const char *conn_tls_version(const struct h2g_conn *c)
{
    if (!c->tls)
        return NULL;
    if (tls_record_owned(c->rec))
        return tls_record_version_name(c->rec);
    SSL *ssl = conn_ssl(c);
    return ssl != NULL ? SSL_get_version(ssl) : NULL;
}

const char *conn_tls_sni(const struct h2g_conn *c)
{
    if (tls_record_owned(c->rec))
        return tls_record_sni(c->rec);
    SSL *ssl = conn_ssl(c);
    return ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
}

bool conn_seals_each_chain(const struct h2g_conn *c)
{
    return c->tls && c->bev != NULL && bufferevent_openssl_get_ssl(c->bev) != NULL;
}

const char *conn_tls_layer(const struct h2g_conn *c)
{
    if (!c->tls)
        return NULL;
    return tls_record_owned(c->rec) ? "h2gate" : "openssl";
}

const char *conn_proto_name(const struct h2g_conn *c)
{
    return c->sops != NULL ? c->sops->name[c->tls] : "http/1.1";
}

void *conn_session_as(const struct h2g_conn *c, const struct h2g_session_ops *ops)
{
    return c->sops == ops ? c->session : NULL;
}
