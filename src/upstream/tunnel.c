#include "upstream/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/acl.h"
#include "core/config.h"
#include "runtime/log.h"
#include "runtime/services.h"
#include "runtime/sockread.h"
#include "upstream/splice_relay.h"
#include "upstream/upstream.h"
#include "core/units.h"

#define TUNNEL_OUT_CAP (64 * 1024)

enum tunnel_state {
    T_RESOLVING,  /* evdns lookup of the target name */
    T_CONNECTING, /* TCP connect in progress */
    T_OPEN,       /* bytes flow */
    T_CLOSED,     /* the target closed and everything was handed on */
    T_FAILED,     /* reported to the stream; nothing more happens */
};

struct h2g_tunnel {
    LIST_ENTRY(h2g_tunnel) link;  /* in svc->orphans once its stream is gone */
    struct h2g_stream *s;         /* owns the tunnel (upstream.h); NULL once orphaned */
    const struct h2g_request_ctx *ctx; /* the stream's */
    struct h2g_services *svc;
    enum tunnel_state state;
    struct bufferevent *bev;
    struct h2g_sockread rd;  /* reads of bev's socket (sockread.h) */
    struct evdns_getaddrinfo_request *dns_req;
    struct h2g_acl_target target;
    bool check_acl;
    bool allowed_by_name;
    bool shut_wr;           /* the client's END_STREAM became shutdown(SHUT_WR) */
    bool adopted;           /* a WebSocket's upstream connection, after its 101 */
    size_t unacked;         /* client bytes written to the target, not yet acked */
    uint64_t last_active_ms;
    struct event *idle_ev;
    /* Both sockets plain TCP and nothing buffered: the kernel moves the
     * bytes (try_splice); bev and rd are idle from then on. */
    struct h2g_splice_relay *relay;
    bool no_splice;         /* the client's side can never be spliced, or pipes ran out */
    bool settling;          /* the target is not read until the switch (try_splice) */
    int close_reason;       /* enum h2g_tunnel_close, or -1: not known yet (count_bytes) */
};

static void t_read_cb(struct bufferevent *bev, void *arg);
static void t_write_cb(struct bufferevent *bev, void *arg);
static void t_event_cb(struct bufferevent *bev, short what, void *arg);
static void try_splice(struct h2g_tunnel *t);

static bool acl_matches(const struct h2g_acl *list, const struct h2g_acl_target *t)
{
    static const struct h2g_acl none = {NULL, 0};
    return list->n_rules > 0 && h2g_acl_check(list, &none, t) == H2G_ACL_ALLOW;
}

static const struct h2g_upstream_ops tunnel_ops;
static void tunnel_free(struct h2g_tunnel *t);

/* The first cause known is the one counted: a tunnel that failed is
 * then closed by its stream, which is not another cause. */
static void set_close_reason(struct h2g_tunnel *t, enum h2g_tunnel_close r)
{
    if (t->close_reason < 0)
        t->close_reason = (int)r;
}

static void fail(struct h2g_tunnel *t, enum h2g_tunnel_close r, int status, uint32_t h2_error, const char *why)
{
    set_close_reason(t, r);
    LOG_INFO("conn=%llu stream=%d: tunnel %s: %s", (unsigned long long)t->ctx->client->conn_id, t->ctx->stream_id,
             stream_upstream_id(t->s), why);
    t->state = T_FAILED;
    if (t->relay != NULL)
        splice_relay_stop(t->relay); /* its sockets close now */
    if (t->bev != NULL) {
        sockread_clear(&t->rd);
        bufferevent_free(t->bev);
        t->bev = NULL;
    }
    stream_upstream_fail(t->s, status, h2_error);
}

static void arm_idle(struct h2g_tunnel *t)
{
    uint64_t ms = t->ctx->cfg->timeouts.tunnel_idle;
    struct timeval tv = h2g_ms_timeval(ms);
    evtimer_add(t->idle_ev, &tv);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_tunnel *t = arg;
    uint64_t idle = t->ctx->cfg->timeouts.tunnel_idle;
    uint64_t quiet = h2g_mono_ms() - t->last_active_ms;
    if (quiet < idle) {
        uint64_t ms = idle - quiet;
        struct timeval tv = h2g_ms_timeval(ms);
        evtimer_add(t->idle_ev, &tv);
        return;
    }
    STAT_INC(&t->svc->stats, timeouts[H2G_TIMEOUT_TUNNEL_IDLE]);
    fail(t, H2G_TUNNEL_IDLE_TIMEOUT, 0, NGHTTP2_CANCEL, "idle timeout");
}

static void ack(struct h2g_tunnel *t)
{
    if (t->unacked == 0 || t->bev == NULL)
        return;
    if (evbuffer_get_length(bufferevent_get_output(t->bev)) >= TUNNEL_OUT_CAP)
        return;
    size_t n = t->unacked;
    t->unacked = 0;
    stream_upstream_consumed(t->s, n);
}

static void maybe_shutdown(struct h2g_tunnel *t)
{
    if (t->shut_wr || !stream_request_ended(t->s) || t->bev == NULL)
        return;
    struct evbuffer *body = stream_request_body(t->s);
    if ((body != NULL && evbuffer_get_length(body) > 0) ||
        evbuffer_get_length(bufferevent_get_output(t->bev)) > 0)
        return;
    t->shut_wr = true;
    /* Over TLS (an https:// upstream's WebSocket) a FIN under the records
     * would cut the session: the end waits for the close. */
    if (bufferevent_openssl_get_ssl(t->bev) == NULL)
        shutdown(bufferevent_getfd(t->bev), SHUT_WR);
}

static void tunnel_request_progress(void *end)
{
    struct h2g_tunnel *t = end;
    /* CLOSED: the target ended its side only; it may still read. */
    if ((t->state != T_OPEN && t->state != T_CLOSED) || t->bev == NULL || t->relay != NULL)
        return;
    struct evbuffer *body = stream_request_body(t->s);
    size_t n = body != NULL ? evbuffer_get_length(body) : 0;
    if (n > 0) {
        evbuffer_add_buffer(bufferevent_get_output(t->bev), body);
        t->unacked += n;
        t->last_active_ms = h2g_mono_ms();
        sockread_flush_soon(&t->rd);
    }
    ack(t);
    maybe_shutdown(t);
    try_splice(t);
}

/* Not whether reading is off: the stream asks before resuming, and an
 * open tunnel is always worth asking (resuming an enabled reader is a
 * no-op). */
static bool tunnel_reading_paused(const void *end)
{
    const struct h2g_tunnel *t = end;
    return t->state == T_OPEN && t->bev != NULL && t->relay == NULL;
}

static void tunnel_resume_reading(void *end)
{
    struct h2g_tunnel *t = end;
    if (t->state == T_OPEN && t->bev != NULL && t->relay == NULL && !t->settling)
        sockread_enable(&t->rd);
}

/* A tunnel waits for nobody the stream's timeout should answer for: its
 * own timeouts (upstream_connect, tunnel_idle) bound it. */
static bool tunnel_waiting(const void *end)
{
    (void)end;
    return false;
}

const char *tunnel_kind(const struct h2g_tunnel *t)
{
    return t->adopted ? "websocket" : t->check_acl ? "connect" : "tunnel";
}

uint64_t tunnel_last_active_ms(const struct h2g_tunnel *t)
{
    return t->last_active_ms;
}

bool tunnel_is_open(const struct h2g_tunnel *t)
{
    return t != NULL && t->state == T_OPEN;
}

bool tunnel_is_live(const struct h2g_tunnel *t)
{
    return t != NULL && t->state != T_FAILED;
}

static bool tunnel_live(const void *end)
{
    return tunnel_is_live(end);
}

static void t_read_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_tunnel *t = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (evbuffer_get_length(in) == 0 || t->state != T_OPEN)
        return;
    struct evbuffer *out = stream_resp_body(t->s);
    if (out == NULL) {
        fail(t, H2G_TUNNEL_INTERNAL_ERROR, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR, "out of memory");
        return;
    }
    evbuffer_add_buffer(out, in);
    t->last_active_ms = h2g_mono_ms();
    if (evbuffer_get_length(out) >= t->rd.high)
        sockread_disable(&t->rd);
    stream_upstream_data_ready(t->s);
}

static void t_write_cb(struct bufferevent *bev, void *arg)
{
    struct h2g_tunnel *t = arg;
    if (t->state != T_OPEN && t->state != T_CLOSED)
        return;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
    ack(t);
    maybe_shutdown(t);
    try_splice(t);
}

/* --- the splice relay (splice_relay.h) --- */

static void relay_moved(void *arg, size_t up, size_t down)
{
    struct h2g_tunnel *t = arg;
    t->last_active_ms = h2g_mono_ms();
    stream_tunnel_moved(t->s, up, down);
}

/* Both directions over: the stream ends as when a copying tunnel's
 * target closes (the client's connection closes).  A failure on the
 * client's socket is the session's end, as the copying path sees it. */
static void relay_done(void *arg, int err, enum splice_side side)
{
    struct h2g_tunnel *t = arg;
    if (t->state != T_OPEN)
        return;
    if (err != 0) {
        if (side == SPLICE_CLIENT)
            set_close_reason(t, H2G_TUNNEL_SESSION_CLOSED);
        char why[128];
        snprintf(why, sizeof(why), "splice (%s): %s", side == SPLICE_CLIENT ? "client" : "target", strerror(err));
        fail(t, H2G_TUNNEL_UPSTREAM_ERROR, 502, NGHTTP2_CONNECT_ERROR, why);
        return;
    }
    t->state = T_CLOSED;
    set_close_reason(t, side == SPLICE_CLIENT ? H2G_TUNNEL_CLIENT_END : H2G_TUNNEL_UPSTREAM_END);
    stream_upstream_done(t->s);
}

static const struct h2g_splice_relay_cbs relay_cbs = {relay_moved, relay_done};

/* A target that sends without pause would keep bytes in user space at
 * every moment try_splice looks, and the tunnel would copy for good: so
 * while the switch waits for the client's side to drain, the target is
 * not read.  Only while nothing of the client's is held for the target:
 * a target we stop reading may stop reading in turn (blocked in its own
 * write), and bytes held for it would then never leave. */
static void settle(struct h2g_tunnel *t)
{
    if (t->settling)
        return;
    t->settling = true;
    sockread_disable(&t->rd);
}

static void unsettle(struct h2g_tunnel *t)
{
    if (!t->settling)
        return;
    t->settling = false;
    struct evbuffer *out = stream_resp_body(t->s);
    if (out == NULL || evbuffer_get_length(out) < t->rd.high)
        sockread_enable(&t->rd); /* its failure (no event) left the reader as it was: off */
}

/* Hands the tunnel to a splice relay once both sockets are plain TCP
 * (the client's a cleartext HTTP/1.1 connection) and no byte is held in
 * user space on either side; until then, and for good for TLS and
 * HTTP/2 clients, bytes are copied.  Called as the tunnel opens and
 * whenever a side drains. */
static void try_splice(struct h2g_tunnel *t)
{
    if (t->relay != NULL || t->state != T_OPEN || t->bev == NULL)
        return;
    if (t->no_splice || t->shut_wr) {
        unsettle(t);
        return;
    }
    ack(t);
    int cfd = stream_client_socket(t->s, false);
    /* Never spliceable, or the client's bytes wait for the target. */
    if (cfd == -1 || t->unacked > 0 || evbuffer_get_length(bufferevent_get_output(t->bev)) > 0) {
        unsettle(t);
        return;
    }
    if (cfd < 0 || evbuffer_get_length(bufferevent_get_input(t->bev)) > 0) {
        settle(t);
        return;
    }
    struct h2g_splice_relay *r = splice_relay_new(t->svc->base, t->ctx->cfg->limits.tunnel_pipe_size, &relay_cbs, t);
    if (r == NULL || splice_relay_start(r, cfd, bufferevent_getfd(t->bev)) != 0) {
        /* Out of file descriptors for the pipes (EMFILE, ENFILE) or of
         * memory: this tunnel keeps copying. */
        LOG_INFO("conn=%llu stream=%d: tunnel %s: copying, no pipes for splice: %s",
                 (unsigned long long)t->ctx->client->conn_id, t->ctx->stream_id, stream_upstream_id(t->s),
                 strerror(errno));
        splice_relay_free(r);
        t->no_splice = true;
        unsettle(t);
        return;
    }
    stream_client_socket(t->s, true);
    sockread_disable(&t->rd);
    bufferevent_disable(t->bev, EV_READ | EV_WRITE);
    t->relay = r;
    STAT_INC(&t->svc->stats, tunnels_spliced);
    LOG_DEBUG("conn=%llu stream=%d: tunnel %s spliced", (unsigned long long)t->ctx->client->conn_id,
              t->ctx->stream_id, stream_upstream_id(t->s));
}

static void tunnel_client_flushed(void *end)
{
    try_splice(end);
}

/* 0, or -1 when the reader's event cannot be made (out of memory): the
 * target would never be read.  Bytes already there are handed on, which
 * may fail the tunnel (tunnel_is_live tells). */
static int open_tunnel(struct h2g_tunnel *t)
{
    t->state = T_OPEN;
    t->last_active_ms = h2g_mono_ms();
    /* Their bytes pass through TLS or HTTP/2 framing: always copied. */
    bool up_tls = bufferevent_openssl_get_ssl(t->bev) != NULL;
    t->no_splice = t->ctx->client->tls || stream_client_is_h2(t->s) || up_tls;
    bufferevent_set_timeouts(t->bev, NULL, NULL);
    bufferevent_setwatermark(t->bev, EV_WRITE, TUNNEL_OUT_CAP / 2, 0);
    bufferevent_setcb(t->bev, NULL, t_write_cb, t_event_cb, t);
    bufferevent_disable(t->bev, EV_READ | EV_WRITE); /* writes: sockwrite_flush */
    sockread_init(&t->rd, t->bev);
    if (up_tls)
        sockread_use_bev(&t->rd);
    sockread_setcb(&t->rd, t_read_cb, t_write_cb, t_event_cb, t);
    /* The reader's cap is also where the response body stops it
     * (t_read_cb, unsettle). */
    bool bulk = stream_client_is_h2(t->s) && !t->ctx->client->tls;
    sockread_set_high(&t->rd, bulk ? H2G_TUNNEL_BULK_CAP : H2G_TUNNEL_RESP_CAP);
    if (bulk) {
        sockread_set_max_chunk(&t->rd, SOCKREAD_FRAME_CHUNK);
        sockread_set_batch(&t->rd, H2G_TUNNEL_BATCH);
    }
    if (sockread_enable(&t->rd) != 0)
        return -1;
    arm_idle(t);
    tunnel_request_progress(t);
    if (evbuffer_get_length(bufferevent_get_input(t->bev)) > 0)
        t_read_cb(t->bev, t);
    return 0;
}

static void t_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2g_tunnel *t = arg;
    struct h2g_stream *s = t->s;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (open_tunnel(t) != 0) {
            fail(t, H2G_TUNNEL_INTERNAL_ERROR, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR, "out of memory");
            return;
        }
        if (t->state == T_FAILED)
            return; /* answered already */
        /* RFC 9113 8.5: 2xx without content; the client may send now.
         * The head is only a status: nothing to allocate, nothing to fail. */
        stream_upstream_head(s, 200, NULL, 0, false);
        return;
    }
    if (t->state == T_CONNECTING && (what & BEV_EVENT_TIMEOUT)) {
        STAT_INC(&t->svc->stats, timeouts[H2G_TIMEOUT_UPSTREAM_CONNECT]);
        fail(t, H2G_TUNNEL_CONNECT_TIMEOUT, 504, 0, "connect timed out");
        return;
    }
    if (t->state == T_CONNECTING) {
        fail(t, H2G_TUNNEL_UPSTREAM_ERROR, 502, 0, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return;
    }
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        /* The target finished sending: END_STREAM once the client has
         * everything. */
        t_read_cb(bev, t);
        if (t->state == T_FAILED)
            return; /* bev is gone */
        t->state = T_CLOSED;
        set_close_reason(t, t->shut_wr ? H2G_TUNNEL_CLIENT_END : H2G_TUNNEL_UPSTREAM_END);
        sockread_disable(&t->rd);
        stream_upstream_done(s);
        return;
    }
    if ((what & BEV_EVENT_READING) && (what & BEV_EVENT_ERROR) && errno == ENOMEM) {
        fail(t, H2G_TUNNEL_INTERNAL_ERROR, H2G_STATUS_NOMEM, NGHTTP2_INTERNAL_ERROR, "out of memory"); /* no buffer to read into */
        return;
    }
    fail(t, H2G_TUNNEL_UPSTREAM_ERROR, 502, NGHTTP2_CONNECT_ERROR,
         (what & BEV_EVENT_ERROR) ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "closed");
}

static void start_connect(struct h2g_tunnel *t, const struct sockaddr *sa, socklen_t len)
{
    t->state = T_CONNECTING;
    t->bev = sockwrite_bufferevent_new(t->svc->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (t->bev == NULL) {
        fail(t, H2G_TUNNEL_INTERNAL_ERROR, H2G_STATUS_NOMEM, 0, "out of memory");
        return;
    }
    bufferevent_set_max_single_read(t->bev, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(t->bev, H2G_IO_CHUNK);
    uint64_t ms = t->ctx->cfg->timeouts.upstream_connect;
    struct timeval tv = h2g_ms_timeval(ms);
    bufferevent_set_timeouts(t->bev, NULL, &tv);
    bufferevent_setcb(t->bev, NULL, NULL, t_event_cb, t);
    bufferevent_enable(t->bev, EV_WRITE);
    if (bufferevent_socket_connect(t->bev, sa, (int)len) != 0)
        fail(t, errno == ENOMEM ? H2G_TUNNEL_INTERNAL_ERROR : H2G_TUNNEL_UPSTREAM_ERROR,
             errno == ENOMEM ? H2G_STATUS_NOMEM : 502, 0, "connect failed");
}

static void target_sockaddr(const struct h2g_acl_target *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->addr, 4);
        s4->sin_port = htons(a->port);
        *len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->addr, 16);
        s6->sin6_port = htons(a->port);
        *len = sizeof(*s6);
    }
}

static void resolved_cb(int err, struct evutil_addrinfo *res, void *arg)
{
    /* tunnel_free cancelled the lookup: libevent 2.1 reports that on a
     * later loop turn (evdns_cancel_request defers the reply), when the
     * tunnel is gone.  arg must not be touched. */
    if (err == EVUTIL_EAI_CANCEL)
        return;
    struct h2g_tunnel *t = arg;
    t->dns_req = NULL;
    if (err != 0) {
        fail(t, H2G_TUNNEL_UPSTREAM_ERROR, 502, 0, evutil_gai_strerror(err));
        return;
    }
    const struct h2g_config *cfg = t->ctx->cfg;
    struct h2g_acl_target chosen;
    bool have = false;
    for (struct evutil_addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        struct h2g_acl_target a = {.is_addr = true, .port = t->target.port};
        if (ai->ai_family == AF_INET) {
            a.family = AF_INET;
            memcpy(a.addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
        } else if (ai->ai_family == AF_INET6) {
            const struct in6_addr *in6 = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(in6)) {
                a.family = AF_INET;
                memcpy(a.addr, in6->s6_addr + 12, 4);
            } else {
                a.family = AF_INET6;
                memcpy(a.addr, in6, 16);
            }
        } else {
            continue;
        }
        /* A name must not lead anywhere its addresses could not be
         * reached directly: every address is checked, one denied address
         * refuses the name. */
        if (t->check_acl && (acl_matches(&cfg->connect_deny, &a) ||
                             (!t->allowed_by_name && !acl_matches(&cfg->connect_allow, &a)))) {
            char txt[64];
            inet_ntop(a.family, a.addr, txt, sizeof(txt));
            evutil_freeaddrinfo(res);
            LOG_INFO("conn=%llu stream=%d: CONNECT %s refused: resolves to %s",
                     (unsigned long long)t->ctx->client->conn_id, t->ctx->stream_id, stream_upstream_id(t->s), txt);
            t->state = T_FAILED;
            set_close_reason(t, H2G_TUNNEL_DENIED);
            STAT_INC(&t->svc->stats, refusals[H2G_REFUSAL_CONNECT_DENIED]);
            stream_upstream_fail(t->s, 403, NGHTTP2_INTERNAL_ERROR);
            return;
        }
        if (!have) {
            chosen = a;
            have = true;
        }
    }
    evutil_freeaddrinfo(res);
    if (!have) {
        fail(t, H2G_TUNNEL_UPSTREAM_ERROR, 502, 0, "no address");
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    target_sockaddr(&chosen, &ss, &len);
    start_connect(t, (struct sockaddr *)&ss, len);
}

static struct h2g_tunnel *tunnel_new(struct h2g_stream *s)
{
    struct h2g_tunnel *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->s = s;
    t->ctx = stream_ctx(s);
    t->svc = t->ctx->svc;
    t->close_reason = -1;
    t->idle_ev = evtimer_new(t->svc->base, idle_cb, t);
    if (t->idle_ev == NULL) {
        free(t);
        return NULL;
    }
    STAT_INC(&t->svc->stats, tunnels_total);
    STAT_INC(&t->svc->stats, tunnels_open);
    return t;
}

int tunnel_connect(struct h2g_stream *s, const char *target, size_t len, bool check_acl)
{
    const struct h2g_request_ctx *ctx = stream_ctx(s);
    const struct h2g_config *cfg = ctx->cfg;
    struct h2g_acl_target at;
    const char *err = h2g_acl_target_parse(target, len, &at);
    if (err != NULL) {
        LOG_INFO("conn=%llu stream=%d: CONNECT target %.*s: %s", (unsigned long long)ctx->client->conn_id,
                 ctx->stream_id, (int)(len > 200 ? 200 : len), target, err);
        return 400;
    }
    stream_set_upstream_id(s, target, len);
    bool allowed_by_name = false;
    if (check_acl) {
        if (h2g_acl_check(&cfg->connect_allow, &cfg->connect_deny, &at) == H2G_ACL_ALLOW)
            allowed_by_name = true;
        else if (at.is_addr || acl_matches(&cfg->connect_deny, &at) || cfg->connect_allow.n_rules == 0) {
            STAT_INC(&ctx->svc->stats, refusals[H2G_REFUSAL_CONNECT_DENIED]);
            return 403;
        }
        /* A name not allowed by name may still be allowed by the address
         * rules once resolved. */
    }
    struct h2g_tunnel *t = tunnel_new(s);
    if (t == NULL)
        return H2G_STATUS_NOMEM;
    t->target = at;
    t->check_acl = check_acl;
    t->allowed_by_name = allowed_by_name;
    stream_upstream_attach(s, &tunnel_ops, t);
    if (at.is_addr) {
        struct sockaddr_storage ss;
        socklen_t sl;
        target_sockaddr(&at, &ss, &sl);
        start_connect(t, (struct sockaddr *)&ss, sl);
        return 0;
    }
    t->state = T_RESOLVING;
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
    /* May call back at once (numeric host, hosts file): the callback
     * only reports through the stream, which is fine here. */
    t->dns_req = evdns_getaddrinfo(t->svc->dns, at.name, NULL, &hints, resolved_cb, t);
    return 0;
}

struct h2g_tunnel *tunnel_adopt(struct h2g_stream *s, struct bufferevent *bev)
{
    struct h2g_tunnel *t = tunnel_new(s);
    if (t == NULL)
        return NULL;
    t->bev = bev;
    t->adopted = true;
    stream_upstream_attach(s, &tunnel_ops, t);
    if (open_tunnel(t) != 0) {
        /* The caller still owns bev. */
        set_close_reason(t, H2G_TUNNEL_INTERNAL_ERROR);
        sockread_clear(&t->rd);
        t->bev = NULL;
        stream_upstream_detach(s);
        tunnel_free(t);
        return NULL;
    }
    return t;
}

/* How long bytes the client sent may take to reach the target once the
 * stream is gone. */
#define LINGER_MS 10000

static void orphan_free(struct h2g_tunnel *t)
{
    LIST_REMOVE(t, link);
    sockread_clear(&t->rd);
    bufferevent_free(t->bev);
    free(t);
}

void tunnel_free_orphans(struct h2g_services *svc)
{
    struct h2g_tunnel *t;
    while ((t = LIST_FIRST(&svc->orphans)) != NULL)
        orphan_free(t);
}

static void orphan_write_cb(struct bufferevent *bev, void *arg)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        orphan_free(arg);
}

static void orphan_event_cb(struct bufferevent *bev, short what, void *arg)
{
    orphan_free(arg);
}

/* Counts what the tunnel carried, and why it ended, now that its stream
 * lets it go.  No cause recorded: the stream went while the tunnel was
 * live, reset by the client, or with its session (the connection closed,
 * timeouts.shutdown ran out). */
static void count_bytes(struct h2g_tunnel *t)
{
    if (t->close_reason < 0)
        t->close_reason = stream_client_reset(t->s) ? H2G_TUNNEL_CLIENT_RESET
                          : t->svc->stop_forced     ? H2G_TUNNEL_SHUTDOWN
                                                    : H2G_TUNNEL_SESSION_CLOSED;
    STAT_INC(&t->svc->stats, tunnel_closes[t->close_reason]);
    uint64_t in, out;
    stream_byte_counts(t->s, &in, &out);
    STAT_DEC(&t->svc->stats, tunnels_open);
    STAT_ADD(&t->svc->stats, tunnel_bytes_up, in);
    STAT_ADD(&t->svc->stats, tunnel_bytes_down, out);
}

static void tunnel_free(struct h2g_tunnel *t)
{
    if (t == NULL)
        return;
    if (t->bev != NULL && (t->state == T_OPEN || t->state == T_CLOSED) &&
        evbuffer_get_length(bufferevent_get_output(t->bev)) > 0) {
        /* The stream ended (both sides done) with bytes for the target
         * still queued: they were acknowledged, so deliver them first. */
        event_free(t->idle_ev);
        count_bytes(t);
        t->s = NULL;
        t->ctx = NULL;
        LIST_INSERT_HEAD(&t->svc->orphans, t, link);
        struct timeval tv = h2g_ms_timeval(LINGER_MS);
        bufferevent_set_timeouts(t->bev, NULL, &tv);
        bufferevent_setwatermark(t->bev, EV_WRITE, 0, 0);
        bufferevent_setcb(t->bev, NULL, orphan_write_cb, orphan_event_cb, t);
        sockread_disable(&t->rd);
        sockread_setcb(&t->rd, NULL, NULL, NULL, NULL);
        bufferevent_enable(t->bev, EV_WRITE);
        return;
    }
    if (t->dns_req != NULL) {
        evdns_getaddrinfo_cancel(t->dns_req); /* calls back with EAI_CANCEL, later */
        t->dns_req = NULL;
    }
    splice_relay_free(t->relay);
    t->relay = NULL;
    sockread_clear(&t->rd);
    if (t->bev != NULL)
        bufferevent_free(t->bev);
    event_free(t->idle_ev);
    count_bytes(t);
    free(t);
}

static void tunnel_free_end(void *end)
{
    tunnel_free(end);
}

static const struct h2g_upstream_ops tunnel_ops = {
    .tunnel = true,
    .request_progress = tunnel_request_progress,
    .reading_paused = tunnel_reading_paused,
    .resume_reading = tunnel_resume_reading,
    .waiting = tunnel_waiting,
    .live = tunnel_live,
    .client_flushed = tunnel_client_flushed,
    .free = tunnel_free_end,
};
