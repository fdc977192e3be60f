/*
 * config.c: the configuration snapshot's defaults, reference count and
 * destruction.  Parsing lives in config_load.c.
 */
#include "core/config.h"

#include <stdlib.h>
#include <string.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

struct h2g_config *h2g_config_new_defaults(void)
{
    struct h2g_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->refcnt = 1;
    c->workers = 0; /* auto */

    /* The contract's defaults (shared/spec/config.md); the loader's schema
     * table repeats them as documentation and a unit test checks that an
     * explicit copy of the contract loads to the same values. */
    c->limits = (struct h2g_limits){
        .max_concurrent_streams = 128,
        .initial_window_size = 1 * MiB,
        .connection_window_size = 16 * MiB,
        .max_frame_size = 16 * KiB,
        .header_table_size = 4 * KiB,
        .max_header_list_size = 64 * KiB,
        .max_header_list_pairs = 128,
        .max_deflate_dynamic_table_size = 4 * KiB,
        .max_settings = 32,
        .max_outstanding_pings = 10,
        .max_session_memory = 10 * MiB,
        .max_send_header_block_length = 64 * KiB,
        .peer_max_concurrent_streams = 100,
        .max_session_invalid_frames = 1000,
        .max_session_rejected_streams = 100,
        .stream_reset_burst = 1000,
        .stream_reset_rate = 33,
        .max_connections = 10000,
        .max_request_body = 0,
        .tunnel_pipe_size = 64 * KiB,
    };
    c->timeouts = (struct h2g_timeouts){
        .handshake = 10 * 1000,
        .idle = 120 * 1000,
        .stream_idle = 60 * 1000,
        .upstream_connect = 5 * 1000,
        .upstream_response = 60 * 1000,
        .tunnel_idle = 300 * 1000,
        .shutdown = 30 * 1000,
    };
    c->log_level = H2G_LOG_INFO;
    c->log_access = strdup("stdout");
    c->control_socket = strdup("/run/h2gate/control.sock");
    if (c->log_access == NULL || c->control_socket == NULL) {
        h2g_config_unref(c);
        return NULL;
    }
    return c;
}

struct h2g_config *h2g_config_ref(struct h2g_config *c)
{
    if (c != NULL)
        __atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
    return c;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_tls(struct h2g_tls_config *t)
{
    if (t == NULL)
        return;
    free(t->certificate);
    free(t->key);
    for (size_t i = 0; i < t->n_sni; i++) {
        free_strv(t->sni[i].names, t->sni[i].n_names);
        free(t->sni[i].certificate);
        free(t->sni[i].key);
    }
    free(t->sni);
    free(t->ticket_keys);
    free(t->ticket_keys_text);
    free(t->ticket_keys_memcached);
    free(t);
}

static void free_route(struct h2g_route_config *r)
{
    free(r->path);
    for (size_t i = 0; i < r->n_upstreams; i++) {
        free(r->upstreams[i].url);
        free(r->upstreams[i].id);
    }
    free(r->upstreams);
    if (r->upstream_tls != NULL) {
        free(r->upstream_tls->ca);
        free(r->upstream_tls->server_name);
        free(r->upstream_tls->certificate);
        free(r->upstream_tls->key);
        free(r->upstream_tls->where);
        free(r->upstream_tls->pool_key);
        free(r->upstream_tls);
    }
    free(r->tunnel_url);
    free_strv(r->protocols, r->n_protocols);
}

/* Frees everything the snapshot owns.  Every array is allocated zeroed
 * with its count set at once, so a snapshot abandoned half-filled by the
 * loader is freed by the same code. */
static void config_free(struct h2g_config *c)
{
    free(c->path);
    free(c->dir);
    free(c->user);
    for (size_t i = 0; i < c->n_listen; i++) {
        free(c->listen[i].text);
        free_tls(c->listen[i].tls);
        free(c->listen[i].line_hint);
    }
    free(c->listen);
    for (size_t i = 0; i < c->n_origins; i++) {
        struct h2g_origin_config *o = &c->origins[i];
        free_strv(o->hosts, o->n_hosts);
        free(o->altsvc);
        for (size_t j = 0; j < o->n_routes; j++)
            free_route(&o->routes[j]);
        free(o->routes);
    }
    free(c->origins);
    free_strv(c->origin_set, c->n_origin_set);
    h2g_acl_clear(&c->connect_allow);
    h2g_acl_clear(&c->connect_deny);
    free(c->log_access);
    free(c->control_socket);
    free(c->metrics_listen_text);
    if (c->attachment_free != NULL)
        c->attachment_free(c->attachment);
    free(c);
}

void h2g_config_unref(struct h2g_config *c)
{
    if (c == NULL)
        return;
    /* acq_rel: the thread that frees must see every other thread's last
     * reads of the snapshot finished. */
    if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        config_free(c);
}

const char *h2g_log_level_str(enum h2g_log_level l)
{
    switch (l) {
    case H2G_LOG_ERROR:
        return "error";
    case H2G_LOG_WARN:
        return "warn";
    case H2G_LOG_INFO:
        return "info";
    case H2G_LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}
