#include "upstream/upstream_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "runtime/log.h"
#include "runtime/services.h"
#include "core/balance.h"
#include "core/config.h"
#include "core/units.h"
#include "upstream/upstream_dns.h"
#include "upstream/upstream.h"
#include "upstream/upstream_h2.h"
#include "upstream/upstream_tls.h"

static bool literal_addr(const struct h2g_hostport *a, struct sockaddr_storage *ss, int *len);

static bool same_key(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

struct h2g_upstream_pool *upstream_pool_get(struct h2g_services *svc, const char *id,
                                            const struct h2g_hostport *addr, bool h2, const char *tls_key)
{
    for (struct h2g_upstream_pool *p = svc->pools; p != NULL; p = p->next)
        if (p->h2 == h2 && strcmp(p->id, id) == 0 && same_key(p->tls_key, tls_key))
            return p;
    struct h2g_upstream_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (tls_key != NULL && (p->tls_key = strdup(tls_key)) == NULL) {
        free(p);
        return NULL;
    }
    p->svc = svc;
    p->h2 = h2;
    LIST_INIT(&p->h2_conns);
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->addr = *addr;
    LIST_INIT(&p->idle);
    struct sockaddr_storage ss;
    int len;
    if (!literal_addr(addr, &ss, &len))
        p->dns = upstream_dns_get(svc, addr->host); /* NULL: connected by name */
    p->next = svc->pools;
    svc->pools = p;
    return p;
}

struct h2g_upstream_pool *upstream_pool_pick_address(struct h2g_upstream_pool *p)
{
    struct h2g_ipaddr ip;
    if (!upstream_dns_pick(p->dns, &ip))
        return p;
    for (struct h2g_upstream_pool *a = p->by_addr; a != NULL; a = a->next)
        if (h2g_ipaddr_equal(&a->ip, &ip))
            return a;
    struct h2g_upstream_pool *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return p;
    a->svc = p->svc;
    a->h2 = p->h2;
    a->tls_key = p->tls_key;
    LIST_INIT(&a->h2_conns);
    memcpy(a->id, p->id, sizeof(a->id));
    a->addr = p->addr;
    LIST_INIT(&a->idle);
    a->set = p->dns;
    a->has_ip = true;
    a->ip = ip;
    a->next = p->by_addr;
    p->by_addr = a;
    return a;
}

void upstream_pool_health(struct h2g_upstream_pool *p, bool ok)
{
    if (p->set != NULL)
        upstream_dns_health(p->set, &p->ip, ok);
}

void upstream_pool_addresses_changed(struct h2g_services *svc, const struct h2g_upstream_dns *d)
{
    for (struct h2g_upstream_pool *p = svc->pools; p != NULL; p = p->next) {
        if (p->dns != d)
            continue;
        for (struct h2g_upstream_pool *a = p->by_addr; a != NULL; a = a->next) {
            a->stale = !h2g_addrset_contains(d->addrs, d->n_addrs, &a->ip);
            if (a->stale)
                upstream_pool_drain(a);
        }
    }
}

static void uconn_free(struct h2g_upstream_conn *uc)
{
    struct h2g_stats *st = &uc->pool->svc->stats;
    if (uc->idle) {
        LIST_REMOVE(uc, link);
        uc->pool->n_idle--;
        STAT_DEC(st, upstream_idle);
    }
    STAT_DEC(st, upstream_open);
    sockread_clear(&uc->rd);
    bufferevent_free(uc->bev);
    free(uc);
}

/* Anything from an idle upstream connection (EOF, stray bytes, error,
 * idle timeout) makes it unusable. */
static void idle_read_cb(struct bufferevent *bev, void *arg)
{
    uconn_free(arg);
}

static void idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
    uconn_free(arg);
}

struct h2g_upstream_conn *upstream_pool_take(struct h2g_upstream_pool *p)
{
    struct h2g_upstream_conn *uc = LIST_FIRST(&p->idle);
    if (uc == NULL)
        return NULL;
    LIST_REMOVE(uc, link);
    p->n_idle--;
    STAT_DEC(&p->svc->stats, upstream_idle);
    uc->idle = false;
    uc->reused = true;
    /* Reading stays enabled (no epoll_ctl per request): the exchange
     * sets its callbacks (reader and bufferevent) before returning to
     * the loop. */
    sockread_setcb(&uc->rd, NULL, NULL, NULL, NULL);
    sockread_set_timeout(&uc->rd, 0);
    return uc;
}

/* The address of an address pool. */
static void ip_sockaddr(const struct h2g_ipaddr *ip, uint16_t port, struct sockaddr_storage *ss, int *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (ip->family == 4) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, ip->bytes, 4);
        *len = sizeof(*s4);
    } else {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, ip->bytes, 16);
        *len = sizeof(*s6);
    }
}

static bool literal_addr(const struct h2g_hostport *a, struct sockaddr_storage *ss, int *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, a->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        *len = sizeof(*s4);
        return true;
    }
    if (inet_pton(AF_INET6, a->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        *len = sizeof(*s6);
        return true;
    }
    return false;
}

struct h2g_upstream_conn *upstream_conn_connect(struct h2g_upstream_pool *p, uint64_t timeout_ms,
                                               const struct h2g_upstream_tls *tls)
{
    struct h2g_upstream_conn *uc = calloc(1, sizeof(*uc));
    if (uc == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    uc->pool = p;
    uc->id = h2g_conn_id(p->svc->worker_id, ++p->svc->next_conn_id);
    uc->tls = tls != NULL;
    uc->bev = tls != NULL ? upstream_tls_bev(tls, p) : sockwrite_bufferevent_new(p->svc->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (uc->bev == NULL) {
        free(uc);
        errno = ENOMEM;
        return NULL;
    }
    uc->in = bufferevent_get_input(uc->bev);
    uc->out = bufferevent_get_output(uc->bev);
    sockread_init(&uc->rd, uc->bev);
    if (tls != NULL)
        sockread_use_bev(&uc->rd);
    sockread_set_max_chunk(&uc->rd, SOCKREAD_FRAME_CHUNK);
    struct timeval tv = h2g_ms_timeval(timeout_ms);
    bufferevent_set_timeouts(uc->bev, NULL, &tv);
    bufferevent_set_max_single_read(uc->bev, H2G_IO_CHUNK);
    bufferevent_set_max_single_write(uc->bev, H2G_IO_CHUNK);
    struct sockaddr_storage ss;
    int len;
    int rc;
    if (p->has_ip) {
        ip_sockaddr(&p->ip, p->addr.port, &ss, &len);
        rc = bufferevent_socket_connect(uc->bev, (struct sockaddr *)&ss, len);
    } else if (literal_addr(&p->addr, &ss, &len))
        rc = bufferevent_socket_connect(uc->bev, (struct sockaddr *)&ss, len);
    else
        rc = bufferevent_socket_connect_hostname(uc->bev, p->svc->dns, AF_UNSPEC, p->addr.host,
                                                 p->addr.port);
    if (rc != 0) {
        /* Reported through the event callback on the next turn would be
         * nicer, but libevent fails synchronously here only for resource
         * exhaustion or a refused-at-once local connect. */
        int e = errno;
        bufferevent_free(uc->bev);
        free(uc);
        errno = e;
        return NULL;
    }
    int fd = bufferevent_getfd(uc->bev);
    if (fd >= 0) {
        int one = 1;
        uc->nodelay = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
    }
    STAT_INC(&p->svc->stats, upstream_open);
    return uc;
}

void upstream_conn_release(struct h2g_upstream_conn *uc, bool reusable)
{
    if (uc == NULL)
        return;
    struct h2g_upstream_pool *p = uc->pool;
    if (!reusable || p->stale || p->n_idle >= H2G_POOL_MAX_IDLE || p->svc->draining || evbuffer_get_length(uc->in) != 0 ||
        evbuffer_get_length(uc->out) != 0) {
        uconn_free(uc);
        return;
    }
    uc->idle = true;
    LIST_INSERT_HEAD(&p->idle, uc, link);
    p->n_idle++;
    STAT_INC(&p->svc->stats, upstream_idle);
    /* The bufferevent's timeouts were cleared once connected
     * (write_head); its own reading is never on. */
    bufferevent_setcb(uc->bev, NULL, NULL, NULL, NULL);
    if (bufferevent_get_enabled(uc->bev) & EV_WRITE)
        bufferevent_disable(uc->bev, EV_WRITE);
    sockread_setcb(&uc->rd, idle_read_cb, NULL, idle_event_cb, uc);
    sockread_set_high(&uc->rd, 0);
    sockread_set_timeout(&uc->rd, H2G_POOL_IDLE_TIMEOUT_MS);
    if (sockread_enable(&uc->rd) != 0)
        uconn_free(uc);
}

void upstream_conn_abort(struct h2g_upstream_conn *uc)
{
    if (uc == NULL)
        return;
    int fd = bufferevent_getfd(uc->bev);
    int unsent = 0;
    if (fd >= 0 && (evbuffer_get_length(uc->out) > 0 || (ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent > 0))) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    upstream_conn_release(uc, false);
}

struct bufferevent *upstream_conn_detach(struct h2g_upstream_conn *uc)
{
    struct bufferevent *bev = uc->bev;
    sockread_clear(&uc->rd);
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    STAT_DEC(&uc->pool->svc->stats, upstream_open); /* a tunnel's now: tunnels_open */
    free(uc);
    return bev;
}

void upstream_pool_drain(struct h2g_upstream_pool *p)
{
    struct h2g_upstream_conn *uc;
    while ((uc = LIST_FIRST(&p->idle)) != NULL)
        uconn_free(uc);
    upstream_h2_pool_drain(p);
    for (struct h2g_upstream_pool *a = p->by_addr; a != NULL; a = a->next)
        upstream_pool_drain(a);
}

void upstream_pool_free_all(struct h2g_upstream_pool *p)
{
    while (p != NULL) {
        struct h2g_upstream_pool *next = p->next;
        struct h2g_upstream_conn *uc;
        while ((uc = LIST_FIRST(&p->idle)) != NULL)
            uconn_free(uc);
        upstream_h2_pool_free(p);
        upstream_pool_free_all(p->by_addr);
        upstream_tls_pool_clear(p);
        if (!p->has_ip)
            free(p->tls_key);
        free(p);
        p = next;
    }
}

struct h2g_upstream_pool *upstream_pool_for_route(struct h2g_services *svc, struct h2g_stream *s,
                                                  const struct h2g_route_config *r, bool h2, size_t *up_idx,
                                                  const struct h2g_upstream_tls **tls)
{
    struct h2g_balance *bal = services_balance(svc, r);
    size_t i = bal ? h2g_balance_pick(bal, h2g_mono_ms()) : 0;
    if (i >= r->n_upstreams)
        i = 0;
    *up_idx = i;
    const struct h2g_upstream_config *u = &r->upstreams[i];
    stream_set_upstream_id(s, u->id, strlen(u->id));
    *tls = u->tls ? r->tls : NULL;
    if (u->tls && *tls == NULL)
        return NULL;
    struct h2g_upstream_pool *p =
        upstream_pool_get(svc, u->id, &u->addr, h2, u->tls ? r->upstream_tls->pool_key : NULL);
    if (p != NULL && p->dns != NULL)
        p = upstream_pool_pick_address(p);
    return p;
}
