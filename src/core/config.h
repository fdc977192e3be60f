/*
 * config.h: the immutable configuration snapshot (shared/spec/config.md).
 *
 * Created by h2g_config_load() (config_load.c), which fills every default.
 * Shared read-only by all workers and sessions; a reference is taken by
 * every object that must outlive a reload (h2g_config_ref) and released
 * with h2g_config_unref, which frees the snapshot at zero.  Nothing in it
 * changes after load.  Durations are milliseconds, sizes bytes.
 */
#ifndef H2G_CONFIG_H
#define H2G_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acl.h"
#include "core/ticket_keys.h"
#include "core/units.h"

enum h2g_log_level { H2G_LOG_ERROR = 0, H2G_LOG_WARN, H2G_LOG_INFO, H2G_LOG_DEBUG };

/* The most workers a configuration may ask for (config_load.c); "auto"
 * is capped to it too (process.c).  Connection ids depend on it. */
#define H2G_MAX_WORKERS 256

/*
 * The id of a worker's seq-th connection (seq from 1), shown in logs
 * (conn=) and by h2gatectl sessions.  Each worker counts its own
 * connections, so accepting shares no counter between threads; the
 * counts are interleaved with a stride of H2G_MAX_WORKERS (not the number
 * of workers running, which a restart may change), so the ids of two
 * workers never meet and id % H2G_MAX_WORKERS is the worker.
 */
static inline uint64_t h2g_conn_id(unsigned worker, uint64_t seq)
{
    return seq * H2G_MAX_WORKERS + worker;
}

struct h2g_sni_cert {
    char **names;   /* "a.example" or "*.b.example", lowercased */
    size_t n_names;
    char *certificate; /* absolute paths (relative ones resolved against
                          the config file's directory) */
    char *key;
};

struct h2g_tls_config {
    char *certificate;
    char *key;
    struct h2g_sni_cert *sni;
    size_t n_sni;
    char *ticket_keys;       /* NULL: off (OpenSSL's own per-process keys);
                                else the keys file, absolute */
    struct h2g_ticket_keys_text *ticket_keys_text; /* its keys as read at
                                load (ticket_keys.h); NULL when off */
    char *ticket_keys_memcached; /* NULL: off; else "host:port" as written */
    struct h2g_hostport ticket_keys_memcached_addr;
};

struct h2g_listen_config {
    char *text;              /* the address as written, for logs */
    struct h2g_hostport addr;
    struct h2g_tls_config *tls; /* NULL: cleartext */
    bool h2;                 /* "h2" in protocols */
    bool http11;             /* "http/1.1" in protocols */
    bool h2_preferred;       /* h2 listed before http/1.1 */
    bool proxy_protocol;     /* connections start with a PROXY v1/v2 header */
    char *line_hint;         /* unused; reserved */
};

enum h2g_route_kind {
    H2G_ROUTE_HTTP,    /* proxied to HTTP/1.1 or HTTP/2 upstream(s) */
    H2G_ROUTE_TUNNEL,  /* extended CONNECT -> raw TCP (tunnel:) */
};

struct h2g_upstream_config {
    char *url;                 /* as written */
    struct h2g_hostport addr;  /* host and port to connect to */
    char *id;                  /* "host:port", key of the per-worker pool */
    enum h2g_upstream_proto proto; /* the same for every upstream of a route */
    bool tls;                  /* https://, h2:// */
};

/* A route's upstream_tls (for its https:// and h2:// upstreams). */
struct h2g_upstream_tls_config {
    char *ca;                  /* NULL: the system store; else absolute */
    bool verify;
    char *server_name;         /* NULL: each upstream's host */
    char *certificate;         /* client certificate, absolute, or NULL */
    char *key;                 /* its key (both or neither) */
    char *where;               /* "file:line:column" of the key, for messages */
    /* Pools of connections with these settings are apart from others to
     * the same address (a client certificate, another CA): the settings
     * in one string, compared by the worker's pools. */
    char *pool_key;
};

/* The SSL_CTX of a route's TLS upstreams (upstream/upstream_tls.h),
 * built by the daemon before the snapshot is used. */
struct h2g_upstream_tls;

struct h2g_route_config {
    char *path;             /* prefix, starts with '/' */
    size_t path_len;
    enum h2g_route_kind kind;
    struct h2g_upstream_config *upstreams; /* HTTP routes: at least one */
    size_t n_upstreams;
    struct h2g_upstream_tls_config *upstream_tls; /* NULL: not written */
    struct h2g_upstream_tls *tls; /* routes with TLS upstreams: set before the
                               snapshot is used (the daemon's), not configuration */
    bool websocket;         /* extended CONNECT :protocol=websocket allowed */
    struct h2g_hostport tunnel; /* TUNNEL routes */
    char *tunnel_url;
    char **protocols;       /* TUNNEL routes: allowed :protocol values */
    size_t n_protocols;
    unsigned stats_slot;    /* the daemon's per-route counters (route_labels.h);
                               set before the snapshot is used, not configuration */
};

struct h2g_origin_config {
    char **hosts;           /* lowercased; "*", "*.suffix" or exact (one
                               trailing dot dropped; IPv6 literals stored
                               without brackets, as h2g_authority_host
                               yields them) */
    size_t n_hosts;
    char *altsvc;           /* NULL when absent */
    struct h2g_route_config *routes; /* sorted by path length, longest first */
    size_t n_routes;
};

struct h2g_limits {
    uint32_t max_concurrent_streams;
    uint32_t initial_window_size;
    uint32_t connection_window_size;
    uint32_t max_frame_size;
    uint32_t header_table_size;
    uint32_t max_header_list_size;
    uint32_t max_header_list_pairs;
    uint32_t max_deflate_dynamic_table_size;
    uint32_t max_settings;
    uint32_t max_outstanding_pings;
    uint64_t max_session_memory;
    uint32_t max_send_header_block_length;
    uint32_t peer_max_concurrent_streams;
    uint32_t max_session_invalid_frames;
    uint32_t max_session_rejected_streams;
    uint32_t stream_reset_burst;
    uint32_t stream_reset_rate;
    uint32_t max_connections;
    uint64_t max_request_body; /* 0 = unlimited */
    uint32_t tunnel_pipe_size; /* a spliced tunnel's kernel pipe, per direction */
};

struct h2g_timeouts {
    uint64_t handshake;
    uint64_t idle;
    uint64_t stream_idle;
    uint64_t upstream_connect;
    uint64_t upstream_response;
    uint64_t tunnel_idle;
    uint64_t shutdown;
};

struct h2g_config {
    int refcnt;                /* atomic; see h2g_config_ref */
    char *path;                /* the file it was loaded from, absolute;
                                  NULL when loaded from a string */
    char *dir;                 /* its directory, for relative paths */
    unsigned workers;          /* 0 = auto (one per CPU) */
    char *user;                /* NULL or "" = no privilege drop */
    struct h2g_listen_config *listen;
    size_t n_listen;
    struct h2g_origin_config *origins;
    size_t n_origins;
    char **origin_set;
    size_t n_origin_set;
    struct h2g_acl connect_allow;
    struct h2g_acl connect_deny;
    bool connect_section;      /* the `connect:` key was present */
    struct h2g_limits limits;
    struct h2g_timeouts timeouts;
    enum h2g_log_level log_level;
    char *log_access;          /* "stdout", "off" or a path */
    char *control_socket;
    char *metrics_listen_text; /* NULL or "" = off */
    struct h2g_hostport metrics_listen;
    bool enable_connect_protocol; /* derived: a route has websocket or tunnel */
    /* Runtime state built from this snapshot by the daemon (TLS contexts
     * of its listeners) that must live exactly as long as it: freed by
     * attachment_free when the last reference goes.  Not part of the
     * configuration itself. */
    void *attachment;
    void (*attachment_free)(void *attachment);
};

/* Allocates a snapshot holding every default of the contract (listen and
 * origins empty), refcount 1.  NULL on allocation failure. */
struct h2g_config *h2g_config_new_defaults(void);
struct h2g_config *h2g_config_ref(struct h2g_config *c);
/* Drops a reference; frees at zero.  NULL is a no-op. */
void h2g_config_unref(struct h2g_config *c);

const char *h2g_log_level_str(enum h2g_log_level l);

#endif
