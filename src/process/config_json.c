#include "process/config_json.h"

#include <stdio.h>
#include <string.h>

static json_t *strv(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *acl_json(const struct h2g_acl *acl)
{
    json_t *a = json_array();
    for (size_t i = 0; i < acl->n_rules; i++)
        json_array_append_new(a, json_string(acl->rules[i].text ? acl->rules[i].text : ""));
    return a;
}

/* One table for limits and timeouts, so JSON and diff agree. */
#define LIMITS(X)                                                                                  \
    X(max_concurrent_streams) X(initial_window_size) X(connection_window_size) X(max_frame_size)   \
    X(header_table_size) X(max_header_list_size) X(max_header_list_pairs)                          \
    X(max_deflate_dynamic_table_size) X(max_settings) X(max_outstanding_pings)                     \
    X(max_session_memory) X(max_send_header_block_length) X(peer_max_concurrent_streams)           \
    X(max_session_invalid_frames) X(max_session_rejected_streams) X(stream_reset_burst)            \
    X(stream_reset_rate) X(max_connections) X(max_request_body) X(tunnel_pipe_size)
#define TIMEOUTS(X)                                                                                \
    X(handshake) X(idle) X(stream_idle) X(upstream_connect) X(upstream_response) X(tunnel_idle)    \
    X(shutdown)

static json_t *limits_json(const struct h2g_limits *l)
{
    json_t *o = json_object();
#define X(k) json_object_set_new(o, #k, json_integer((json_int_t)l->k));
    LIMITS(X)
#undef X
    return o;
}

static json_t *timeouts_json(const struct h2g_timeouts *t)
{
    json_t *o = json_object();
#define X(k) json_object_set_new(o, #k, json_integer((json_int_t)t->k));
    TIMEOUTS(X)
#undef X
    return o;
}

static json_t *route_json(const struct h2g_route_config *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(r->path));
    if (r->kind == H2G_ROUTE_TUNNEL) {
        json_object_set_new(o, "tunnel", json_string(r->tunnel_url ? r->tunnel_url : ""));
        json_object_set_new(o, "protocols", strv(r->protocols, r->n_protocols));
    } else {
        json_t *u = json_array();
        for (size_t i = 0; i < r->n_upstreams; i++)
            json_array_append_new(u, json_string(r->upstreams[i].url));
        json_object_set_new(o, "upstream", u);
        json_object_set_new(o, "websocket", json_boolean(r->websocket));
    }
    return o;
}

json_t *config_to_json(const struct h2g_config *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "workers", c->workers ? json_integer(c->workers) : json_string("auto"));
    json_object_set_new(o, "user", json_string(c->user ? c->user : ""));
    json_t *ls = json_array();
    for (size_t i = 0; i < c->n_listen; i++) {
        const struct h2g_listen_config *l = &c->listen[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "address", json_string(l->text));
        json_t *p = json_array();
        if (l->h2_preferred || !l->http11) {
            if (l->h2)
                json_array_append_new(p, json_string("h2"));
            if (l->http11)
                json_array_append_new(p, json_string("http/1.1"));
        } else {
            json_array_append_new(p, json_string("http/1.1"));
            if (l->h2)
                json_array_append_new(p, json_string("h2"));
        }
        json_object_set_new(lo, "protocols", p);
        json_object_set_new(lo, "proxy_protocol", json_boolean(l->proxy_protocol));
        if (l->tls != NULL) {
            json_t *t = json_object();
            json_object_set_new(t, "certificate", json_string(l->tls->certificate));
            json_object_set_new(t, "key", json_string(l->tls->key));
            json_t *sni = json_array();
            for (size_t j = 0; j < l->tls->n_sni; j++) {
                json_t *so = json_object();
                json_object_set_new(so, "names", strv(l->tls->sni[j].names, l->tls->sni[j].n_names));
                json_object_set_new(so, "certificate", json_string(l->tls->sni[j].certificate));
                json_object_set_new(so, "key", json_string(l->tls->sni[j].key));
                json_array_append_new(sni, so);
            }
            json_object_set_new(t, "sni", sni);
            json_object_set_new(lo, "tls", t);
        }
        json_array_append_new(ls, lo);
    }
    json_object_set_new(o, "listen", ls);
    json_t *os = json_array();
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct h2g_origin_config *or = &c->origins[i];
        json_t *oo = json_object();
        json_object_set_new(oo, "hosts", strv(or->hosts, or->n_hosts));
        if (or->altsvc)
            json_object_set_new(oo, "altsvc", json_string(or->altsvc));
        json_t *rs = json_array();
        for (size_t j = 0; j < or->n_routes; j++)
            json_array_append_new(rs, route_json(&or->routes[j]));
        json_object_set_new(oo, "routes", rs);
        json_array_append_new(os, oo);
    }
    json_object_set_new(o, "origins", os);
    json_object_set_new(o, "origin_set", strv(c->origin_set, c->n_origin_set));
    json_t *co = json_object();
    json_object_set_new(co, "allow", acl_json(&c->connect_allow));
    json_object_set_new(co, "deny", acl_json(&c->connect_deny));
    json_object_set_new(o, "connect", co);
    json_object_set_new(o, "limits", limits_json(&c->limits));
    json_object_set_new(o, "timeouts", timeouts_json(&c->timeouts));
    json_t *lg = json_object();
    json_object_set_new(lg, "level", json_string(h2g_log_level_str(c->log_level)));
    json_object_set_new(lg, "access", json_string(c->log_access ? c->log_access : "stdout"));
    json_object_set_new(o, "log", lg);
    json_t *ct = json_object();
    json_object_set_new(ct, "socket", json_string(c->control_socket ? c->control_socket : ""));
    json_object_set_new(o, "control", ct);
    json_t *m = json_object();
    json_object_set_new(m, "listen", json_string(c->metrics_listen_text ? c->metrics_listen_text : ""));
    json_object_set_new(o, "metrics", m);
    return o;
}

/* Adds to `added`/`removed` the keys of a that b lacks and vice versa. */
static void set_diff(json_t *a_keys, json_t *b_keys, json_t *added, json_t *removed)
{
    const char *k;
    json_t *v;
    json_object_foreach(b_keys, k, v) if (json_object_get(a_keys, k) == NULL) json_array_append_new(added, json_string(k));
    json_object_foreach(a_keys, k, v) if (json_object_get(b_keys, k) == NULL) json_array_append_new(removed, json_string(k));
}

static json_t *keyed(const struct h2g_config *c, int what)
{
    json_t *o = json_object();
    if (what == 0) {
        for (size_t i = 0; i < c->n_listen; i++) {
            json_t *v = json_object();
            json_object_set_new(v, "tls", json_boolean(c->listen[i].tls != NULL));
            json_object_set_new(o, c->listen[i].text, v);
        }
    }
    for (size_t i = 0; what > 0 && i < c->n_origins; i++) {
        const struct h2g_origin_config *or = &c->origins[i];
        char hosts[512] = "";
        size_t n = 0;
        for (size_t j = 0; j < or->n_hosts && n < sizeof(hosts); j++)
            n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s%s", j ? "," : "", or->hosts[j]);
        if (what == 1) {
            json_t *v = json_object();
            json_object_set_new(v, "altsvc", or->altsvc ? json_string(or->altsvc) : json_null());
            json_object_set_new(o, hosts, v);
        } else {
            for (size_t j = 0; j < or->n_routes; j++) {
                char key[1024];
                snprintf(key, sizeof(key), "%s %s", hosts, or->routes[j].path);
                json_object_set_new(o, key, route_json(&or->routes[j]));
            }
        }
    }
    return o;
}

static json_t *section_diff(const struct h2g_config *a, const struct h2g_config *b, int what)
{
    json_t *ka = keyed(a, what), *kb = keyed(b, what);
    json_t *d = json_object(), *added = json_array(), *removed = json_array(), *changed = json_array();
    set_diff(ka, kb, added, removed);
    const char *k;
    json_t *v;
    json_object_foreach(ka, k, v) {
        json_t *w = json_object_get(kb, k);
        if (w != NULL && !json_equal(v, w))
            json_array_append_new(changed, json_string(k));
    }
    json_object_set_new(d, "added", added);
    json_object_set_new(d, "removed", removed);
    json_object_set_new(d, "changed", changed);
    json_decref(ka);
    json_decref(kb);
    return d;
}

static json_t *values_diff(json_t *a, json_t *b)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v) {
        json_t *w = json_object_get(b, k);
        if (w == NULL || !json_equal(v, w))
            json_object_set_new(d, k, json_pack("[OO]", v, w ? w : json_null()));
    }
    return d;
}

json_t *config_diff(const struct h2g_config *old, const struct h2g_config *new_)
{
    json_t *d = json_object();
    json_object_set_new(d, "listeners", section_diff(old, new_, 0));
    json_object_set_new(d, "origins", section_diff(old, new_, 1));
    json_object_set_new(d, "routes", section_diff(old, new_, 2));
    json_t *ja = config_to_json(old), *jb = config_to_json(new_);
    json_object_set_new(d, "limits", values_diff(json_object_get(ja, "limits"), json_object_get(jb, "limits")));
    json_object_set_new(d, "timeouts", values_diff(json_object_get(ja, "timeouts"), json_object_get(jb, "timeouts")));
    json_t *other = json_object();
    const char *keys[] = {"workers", "user", "origin_set", "connect", "log", "control", "metrics"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *x = json_object_get(ja, keys[i]), *y = json_object_get(jb, keys[i]);
        if (!json_equal(x, y))
            json_object_set_new(other, keys[i], json_pack("[OO]", x, y));
    }
    json_object_set_new(d, "other", other);
    json_decref(ja);
    json_decref(jb);
    return d;
}
