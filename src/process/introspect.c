#include "process/introspect.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <stdio.h>

#include "edge/conn.h"
#include "edge/h1_session.h"
#include "edge/h2_session.h"
#include "runtime/log.h"
#include "stream/stream.h"
#include "upstream/tunnel.h"
#include "upstream/upstream_dns.h"
#include "upstream/upstream_h2.h"
#include "upstream/upstream_pool.h"
#include "process/worker.h"

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *strn(const char *s, size_t n)
{
    return json_stringn(s, n);
}

static json_t *stream_json(const struct h2g_stream *s, uint64_t now_ms)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(s->id));
    json_object_set_new(o, "method", s->has_method ? strn(stream_str(s, s->method), s->method.value_len) : json_null());
    json_object_set_new(o, "authority",
                        s->has_authority ? strn(stream_str(s, s->authority), s->authority.value_len) : json_null());
    json_object_set_new(o, "path", s->has_path ? strn(stream_str(s, s->path), s->path.value_len) : json_null());
    const char *state = stream_is_tunnel(s) ? "tunnel" : s->req_end ? "half-closed" : "open";
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "upstream", str_or_null(s->upstream_id));
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)s->bytes_out));
    json_object_set_new(o, "age_s", json_real((double)(h2g_mono_us() - s->start_us) / 1e6));
    (void)now_ms;
    return o;
}

static json_t *session_json(const struct h2g_conn *c, bool with_streams, uint64_t now_ms)
{
    json_t *o = json_object();
    char peer[80];
    snprintf(peer, sizeof(peer), "%s%s%s:%u", c->facts.peer_ipv6 ? "[" : "", c->peer_ip, c->facts.peer_ipv6 ? "]" : "",
             c->facts.peer_port);
    json_object_set_new(o, "id", json_integer((json_int_t)c->id));
    json_object_set_new(o, "worker", json_integer(c->svc->worker_id));
    json_object_set_new(o, "peer", json_string(peer));
    json_object_set_new(o, "alpn", json_string(c->state == H2G_CONN_HANDSHAKE ? "handshake" : conn_proto_name(c)));
    /* The server name is the TLS state's, not kept twice. */
    const char *tv = conn_tls_version(c), *layer = conn_tls_layer(c);
    json_object_set_new(o, "tls_version", tv != NULL ? json_string(tv) : json_null());
    json_object_set_new(o, "tls_layer", layer != NULL ? json_string(layer) : json_null());
    json_object_set_new(o, "sni", str_or_null(conn_tls_sni(c)));
    json_object_set_new(o, "age_s", json_real((double)(now_ms - c->start_ms) / 1000.0));
    /* Holding only its socket and session state (conn_sleep). */
    json_object_set_new(o, "asleep", json_boolean(c->asleep));
    json_t *streams = with_streams ? json_array() : NULL;
    const struct h2g_h2_session *h2 = conn_session_as(c, &h2_session_ops);
    const struct h2g_h1_session *h1 = conn_session_as(c, &h1_session_ops);
    if (h2 != NULL) {
        const struct h2g_h2_stats *st = h2_session_stats(h2);
        json_object_set_new(o, "dormant", json_boolean(h2_session_dormant(h2)));
        json_object_set_new(o, "streams_open", json_integer(h2_session_open_streams(h2)));
        json_object_set_new(o, "streams_total", json_integer((json_int_t)st->streams_opened));
        json_object_set_new(o, "local_window", json_integer(h2_session_local_window(h2)));
        json_object_set_new(o, "remote_window", json_integer(h2_session_remote_window(h2)));
        json_object_set_new(o, "bytes_in", json_integer((json_int_t)st->bytes_in));
        json_object_set_new(o, "bytes_out", json_integer((json_int_t)st->bytes_out));
        json_object_set_new(o, "frames_in", json_integer((json_int_t)st->frames_in));
        json_object_set_new(o, "frames_out", json_integer((json_int_t)st->frames_out));
        json_object_set_new(o, "peak_streams", json_integer(st->peak_streams));
        json_object_set_new(o, "avg_stream_ms", st->streams_closed
                                                    ? json_real((double)st->stream_us_total / 1000.0 / (double)st->streams_closed)
                                                    : json_null());
        json_object_set_new(o, "ping_rtt_ms", st->ping_rtt_us ? json_real((double)st->ping_rtt_us / 1000.0) : json_null());
        if (streams != NULL)
            for (const struct h2g_stream *s = h2_session_first_stream(h2); s != NULL; s = LIST_NEXT(s, link))
                json_array_append_new(streams, stream_json(s, now_ms));
    } else {
        const struct h2g_stream *s = h1 ? h1_session_stream(h1) : NULL;
        json_object_set_new(o, "streams_open", json_integer(s != NULL));
        json_object_set_new(o, "streams_total", json_integer(h1 ? (json_int_t)h1_session_requests(h1) : 0));
        json_object_set_new(o, "local_window", json_null());
        json_object_set_new(o, "remote_window", json_null());
        json_object_set_new(o, "bytes_in", json_integer(s ? (json_int_t)s->bytes_in : 0));
        json_object_set_new(o, "bytes_out", json_integer(s ? (json_int_t)s->bytes_out : 0));
        json_object_set_new(o, "frames_in", json_null());
        json_object_set_new(o, "frames_out", json_null());
        json_object_set_new(o, "ping_rtt_ms", json_null());
        if (streams != NULL && s != NULL)
            json_array_append_new(streams, stream_json(s, now_ms));
    }
    if (streams != NULL)
        json_object_set_new(o, "streams", streams);
    return o;
}

/* max: at most that many (0: all); *more set when some were left out. */
static json_t *sessions_upto(struct h2g_worker *w, uint64_t only_id, size_t max, bool *more)
{
    json_t *a = json_array();
    uint64_t now = h2g_mono_ms();
    struct h2g_conn *c;
    LIST_FOREACH(c, &w->svc.conns, link) {
        if (c->state == H2G_CONN_CLOSED)
            continue;
        if (only_id != 0 && c->id != only_id)
            continue;
        if (max != 0 && json_array_size(a) >= max) {
            *more = true;
            break;
        }
        json_array_append_new(a, session_json(c, only_id != 0, now));
    }
    return a;
}

json_t *introspect_sessions(struct h2g_worker *w, uint64_t only_id)
{
    bool more = false;
    return sessions_upto(w, only_id, 0, &more);
}

static void add_tunnel(json_t *a, const struct h2g_conn *c, const struct h2g_stream *s, uint64_t now)
{
    const struct h2g_tunnel *t = s != NULL ? stream_tunnel(s) : NULL;
    if (t == NULL || !tunnel_is_open(t))
        return;
    json_t *o = json_object();
    json_object_set_new(o, "session", json_integer((json_int_t)c->id));
    json_object_set_new(o, "stream", json_integer(s->id));
    json_object_set_new(o, "kind", json_string(tunnel_kind(t)));
    json_object_set_new(o, "target", str_or_null(s->upstream_id));
    json_object_set_new(o, "bytes_up", json_integer((json_int_t)s->bytes_in));
    json_object_set_new(o, "bytes_down", json_integer((json_int_t)s->bytes_out));
    json_object_set_new(o, "age_s", json_real((double)(h2g_mono_us() - s->start_us) / 1e6));
    json_object_set_new(o, "idle_s", json_real((double)(now - tunnel_last_active_ms(t)) / 1000.0));
    json_array_append_new(a, o);
}

static json_t *tunnels_upto(struct h2g_worker *w, size_t max, bool *more)
{
    json_t *a = json_array();
    uint64_t now = h2g_mono_ms();
    struct h2g_conn *c;
    LIST_FOREACH(c, &w->svc.conns, link) {
        if (max != 0 && json_array_size(a) >= max) {
            *more = true;
            break;
        }
        const struct h2g_h2_session *h2 = conn_session_as(c, &h2_session_ops);
        const struct h2g_h1_session *h1 = conn_session_as(c, &h1_session_ops);
        if (h2 != NULL) {
            for (const struct h2g_stream *s = h2_session_first_stream(h2); s != NULL; s = LIST_NEXT(s, link))
                add_tunnel(a, c, s, now);
        } else if (h1 != NULL) {
            add_tunnel(a, c, h1_session_stream(h1), now);
        }
    }
    return a;
}

json_t *introspect_tunnels(struct h2g_worker *w)
{
    bool more = false;
    return tunnels_upto(w, 0, &more);
}

json_t *introspect_live(struct h2g_worker *w, size_t max)
{
    bool more_sessions = false, more_tunnels = false;
    json_t *sessions = sessions_upto(w, 0, max, &more_sessions);
    json_t *tunnels = tunnels_upto(w, max, &more_tunnels);
    return json_pack("[{sosbsosb}]", "sessions", sessions, "sessions_more", more_sessions, "tunnels", tunnels,
                     "tunnels_more", more_tunnels);
}

static json_t *dns_name_json(const struct h2g_upstream_dns *d, unsigned worker_id, uint64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "worker", json_integer(worker_id));
    json_object_set_new(o, "host", json_string(d->host));
    json_t *a = json_array();
    for (size_t i = 0; i < d->n_addrs; i++) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(d->addrs[i].family == 4 ? AF_INET : AF_INET6, d->addrs[i].bytes, text, sizeof(text));
        json_array_append_new(a, json_string(text));
    }
    json_object_set_new(o, "addresses", a);
    json_object_set_new(o, "expires_in_s",
                        d->expires_ms == 0 ? json_null()
                        : d->expires_ms > now ? json_real((double)(d->expires_ms - now) / 1000.0)
                                              : json_real(0));
    json_object_set_new(o, "failing", json_boolean(d->failing));
    json_object_set_new(o, "resolving", json_boolean(d->in_flight > 0));
    return o;
}

/* An HTTP/2 upstream connection and its streams in flight. */
static json_t *h2_conn_json(const struct h2g_h2_conn *c, unsigned worker_id, uint64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "worker", json_integer(worker_id));
    json_object_set_new(o, "connection", json_integer((json_int_t)c->id));
    json_object_set_new(o, "upstream", json_string(c->pool->id));
    /* An address of a name's set, else the host as configured (an IP
     * literal, or a name not resolved yet: connected by name). */
    char text[INET6_ADDRSTRLEN];
    if (c->pool->has_ip)
        inet_ntop(c->pool->ip.family == 4 ? AF_INET : AF_INET6, c->pool->ip.bytes, text, sizeof(text));
    json_object_set_new(o, "address", json_string(c->pool->has_ip ? text : c->pool->addr.host));
    json_object_set_new(o, "proto", json_string(c->uc->tls ? "h2" : "h2c"));
    json_object_set_new(o, "tls", json_boolean(c->uc->tls));
    json_object_set_new(o, "tls_resumed", json_boolean(c->uc->tls_resumed));
    json_object_set_new(o, "state", json_string(upstream_h2_conn_state_str(c)));
    json_object_set_new(o, "streams", json_integer(c->n_ex));
    json_object_set_new(o, "max_streams", json_integer(upstream_h2_conn_max_streams(c)));
    json_object_set_new(o, "streams_total", json_integer((json_int_t)c->streams_total));
    json_object_set_new(o, "idle_s", c->idle_since_ms == 0 ? json_null()
                                                           : json_real((double)(now - c->idle_since_ms) / 1000.0));
    json_object_set_new(o, "pings_acked", json_integer((json_int_t)c->pings_acked));
    return o;
}

/* An idle HTTP/1.1 connection kept in its pool (those lent to an
 * exchange are the exchange's: not listed). */
static json_t *h1_conn_json(const struct h2g_upstream_conn *uc, unsigned worker_id)
{
    const struct h2g_upstream_pool *p = uc->pool;
    json_t *o = json_object();
    json_object_set_new(o, "worker", json_integer(worker_id));
    json_object_set_new(o, "connection", json_integer((json_int_t)uc->id));
    json_object_set_new(o, "upstream", json_string(p->id));
    char text[INET6_ADDRSTRLEN];
    if (p->has_ip)
        inet_ntop(p->ip.family == 4 ? AF_INET : AF_INET6, p->ip.bytes, text, sizeof(text));
    json_object_set_new(o, "address", json_string(p->has_ip ? text : p->addr.host));
    json_object_set_new(o, "proto", json_string(uc->tls ? "https" : "http"));
    json_object_set_new(o, "tls", json_boolean(uc->tls));
    json_object_set_new(o, "tls_resumed", json_boolean(uc->tls_resumed));
    json_object_set_new(o, "state", json_string("idle"));
    json_object_set_new(o, "streams", json_integer(0));
    json_object_set_new(o, "max_streams", json_integer(1));
    return o;
}

static void h2_pool_json(json_t *a, const struct h2g_upstream_pool *p, unsigned worker_id, uint64_t now)
{
    for (; p != NULL; p = p->next) {
        const struct h2g_h2_conn *c;
        LIST_FOREACH(c, &p->h2_conns, link)
            json_array_append_new(a, h2_conn_json(c, worker_id, now));
        const struct h2g_upstream_conn *uc;
        LIST_FOREACH(uc, &p->idle, link)
            json_array_append_new(a, h1_conn_json(uc, worker_id));
        h2_pool_json(a, p->by_addr, worker_id, now);
    }
}

json_t *introspect_upstreams(struct h2g_worker *w)
{
    json_t *a = json_array();
    uint64_t now = h2g_mono_ms();
    for (const struct h2g_upstream_dns *d = w->svc.dns_names; d != NULL; d = d->next)
        json_array_append_new(a, dns_name_json(d, w->svc.worker_id, now));
    h2_pool_json(a, w->svc.pools, w->svc.worker_id, now);
    return a;
}
