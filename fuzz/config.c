/*
 * config.c: the YAML configuration (src/core/config_load.h), loaded from
 * memory as a whole file.
 *
 * Input: the file.  Relative paths resolve against a directory that does
 * not exist, so only absolute ones (e.g. /dev/null as a certificate)
 * pass the readability checks.
 *
 * Checked: the loader returns a config or errors, never both and never
 * neither; errors are "name:line:column: message" or "name: message"; a
 * config holds what the rest of h2gate assumes without checking (the
 * contract's bounds, routes normalized and sorted longest first, parsed
 * addresses and ACL rules, the derived enable_connect_protocol); all of
 * it is freed (LeakSanitizer).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/config_load.h"
#include "fuzz.h"
#include "core/path.h"
#include "core/units.h"

#define NAME "fuzz.yaml"
#define DIR "/nonexistent-h2gate-fuzz"
#define MiB (1024ull * 1024)
#define DAY_MS (24ull * 3600 * 1000)

static void check_str(const char *s)
{
    FUZZ_CHECK(s != NULL);
    (void)strlen(s); /* NUL-terminated, in bounds (ASan) */
}

static void check_hostport(const struct h2g_hostport *a, bool port_required)
{
    FUZZ_CHECK(memchr(a->host, '\0', sizeof(a->host)) != NULL);
    if (port_required)
        FUZZ_CHECK(a->port != 0);
    if (a->wildcard)
        FUZZ_CHECK(a->host[0] == '\0');
    else
        FUZZ_CHECK(a->host[0] != '\0');
}

static void check_acl(const struct h2g_acl *acl)
{
    FUZZ_CHECK(acl->n_rules == 0 || acl->rules != NULL);
    for (size_t i = 0; i < acl->n_rules; i++) {
        const struct h2g_acl_rule *r = &acl->rules[i];
        check_str(r->text);
        switch (r->kind) {
        case H2G_ACL_ANY: break;
        case H2G_ACL_NAME: check_str(r->name); break;
        case H2G_ACL_SUFFIX:
            check_str(r->name);
            FUZZ_CHECK(r->name[0] == '.');
            break;
        case H2G_ACL_CIDR:
            FUZZ_CHECK(r->family == AF_INET ? r->prefix <= 32 : r->family == AF_INET6 && r->prefix <= 128);
            break;
        default: FUZZ_CHECK(!"unknown ACL kind");
        }
        if (!r->any_port)
            FUZZ_CHECK(r->port != 0);
    }
}

static void check_route(const struct h2g_route_config *r)
{
    check_str(r->path);
    FUZZ_CHECK(r->path[0] == '/' && strlen(r->path) == r->path_len);
    /* Normalized like the request paths it is matched against. */
    char *again = fuzz_dup(r->path, r->path_len, 0);
    size_t n = 0;
    FUZZ_CHECK(h2g_path_normalize(again, r->path_len, &n) == 0);
    FUZZ_CHECK(n == r->path_len && memcmp(again, r->path, n) == 0);
    free(again);
    if (r->kind == H2G_ROUTE_HTTP) {
        FUZZ_CHECK(r->n_upstreams > 0 && r->upstreams != NULL);
        for (size_t i = 0; i < r->n_upstreams; i++) {
            check_str(r->upstreams[i].url);
            check_str(r->upstreams[i].id);
            check_hostport(&r->upstreams[i].addr, true);
        }
        FUZZ_CHECK(r->n_protocols == 0);
    } else {
        FUZZ_CHECK(r->kind == H2G_ROUTE_TUNNEL);
        FUZZ_CHECK(r->n_upstreams == 0 && !r->websocket);
        check_str(r->tunnel_url);
        check_hostport(&r->tunnel, true);
        FUZZ_CHECK(r->n_protocols > 0);
        for (size_t i = 0; i < r->n_protocols; i++) {
            check_str(r->protocols[i]);
            FUZZ_CHECK(r->protocols[i][0] != '\0');
        }
    }
}

static void check_config(const struct h2g_config *c)
{
    FUZZ_CHECK(c->refcnt == 1);
    FUZZ_CHECK(c->path == NULL);
    check_str(c->dir);
    FUZZ_CHECK(c->workers <= H2G_MAX_WORKERS);
    FUZZ_CHECK(c->n_listen > 0 && c->listen != NULL);
    for (size_t i = 0; i < c->n_listen; i++) {
        const struct h2g_listen_config *l = &c->listen[i];
        check_str(l->text);
        check_hostport(&l->addr, true);
        FUZZ_CHECK(l->h2 || l->http11);
        if (l->h2_preferred)
            FUZZ_CHECK(l->h2);
        if (l->tls != NULL) {
            check_str(l->tls->certificate);
            check_str(l->tls->key);
            FUZZ_CHECK(l->tls->certificate[0] == '/' && l->tls->key[0] == '/');
            for (size_t j = 0; j < l->tls->n_sni; j++) {
                const struct h2g_sni_cert *s = &l->tls->sni[j];
                FUZZ_CHECK(s->n_names > 0);
                for (size_t k = 0; k < s->n_names; k++)
                    check_str(s->names[k]);
                check_str(s->certificate);
                check_str(s->key);
            }
        }
    }
    FUZZ_CHECK(c->n_origins > 0 || c->connect_section);
    bool connect_protocol = false;
    for (size_t i = 0; i < c->n_origins; i++) {
        const struct h2g_origin_config *o = &c->origins[i];
        FUZZ_CHECK(o->n_hosts > 0);
        for (size_t j = 0; j < o->n_hosts; j++) {
            check_str(o->hosts[j]);
            for (const char *p = o->hosts[j]; *p != '\0'; p++)
                FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z') && *p != '[' && *p != ']');
            /* Stored form: an IPv6 address without brackets, or what
             * checking it again leaves as it is. */
            if (strchr(o->hosts[j], ':') != NULL) {
                struct in6_addr a6;
                FUZZ_CHECK(inet_pton(AF_INET6, o->hosts[j], &a6) == 1);
            } else {
                char *again = fuzz_dup(o->hosts[j], strlen(o->hosts[j]), 1);
                FUZZ_CHECK(h2g_config_check_host_pattern(again) == NULL);
                FUZZ_CHECK(strcmp(again, o->hosts[j]) == 0);
                free(again);
            }
        }
        if (o->altsvc != NULL)
            FUZZ_CHECK(h2g_config_check_altsvc(o->altsvc) == NULL);
        FUZZ_CHECK(o->n_routes > 0);
        for (size_t j = 0; j < o->n_routes; j++) {
            check_route(&o->routes[j]);
            /* Longest first (h2g_route_find takes the first match), no
             * duplicate. */
            if (j > 0)
                FUZZ_CHECK(o->routes[j - 1].path_len >= o->routes[j].path_len);
            for (size_t k = 0; k < j; k++)
                FUZZ_CHECK(strcmp(o->routes[k].path, o->routes[j].path) != 0);
            if (o->routes[j].websocket || o->routes[j].kind == H2G_ROUTE_TUNNEL)
                connect_protocol = true;
        }
    }
    FUZZ_CHECK(c->enable_connect_protocol == connect_protocol);
    for (size_t i = 0; i < c->n_origin_set; i++) {
        check_str(c->origin_set[i]);
        char *again = fuzz_dup(c->origin_set[i], strlen(c->origin_set[i]), 1);
        FUZZ_CHECK(h2g_config_check_origin(again) == NULL);
        free(again);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(c->origin_set[j], c->origin_set[i]) != 0);
    }
    check_acl(&c->connect_allow);
    check_acl(&c->connect_deny);

    /* The contract's bounds (config_load.c's limits and timeouts tables):
     * what nghttp2 and the event loop are then given as they are. */
    const struct h2g_limits *l = &c->limits;
    FUZZ_CHECK(l->max_concurrent_streams >= 1 && l->max_concurrent_streams <= 2147483647u);
    FUZZ_CHECK(l->initial_window_size <= 2147483647u);
    FUZZ_CHECK(l->connection_window_size >= 65535 && l->connection_window_size <= 2147483647u);
    FUZZ_CHECK(l->max_frame_size >= 16384 && l->max_frame_size <= 16777215);
    FUZZ_CHECK(l->header_table_size <= 16 * MiB);
    FUZZ_CHECK(l->max_header_list_size >= 1024 && l->max_header_list_size <= 16 * MiB);
    FUZZ_CHECK(l->max_header_list_pairs >= 4 && l->max_header_list_pairs <= 65535);
    FUZZ_CHECK(l->max_deflate_dynamic_table_size <= 16 * MiB);
    FUZZ_CHECK(l->max_settings >= 1 && l->max_settings <= 1000);
    FUZZ_CHECK(l->max_outstanding_pings >= 1 && l->max_outstanding_pings <= 10000);
    FUZZ_CHECK(l->max_session_memory >= MiB && l->max_session_memory <= (1ull << 40));
    FUZZ_CHECK(l->max_send_header_block_length >= 1024 && l->max_send_header_block_length <= 16 * MiB);
    FUZZ_CHECK(l->peer_max_concurrent_streams >= 1 && l->peer_max_concurrent_streams <= 2147483647u);
    FUZZ_CHECK(l->stream_reset_burst >= 1 && l->stream_reset_rate >= 1);
    FUZZ_CHECK(l->max_connections >= 1 && l->max_connections <= 1000000);
    FUZZ_CHECK(l->max_request_body <= (1ull << 50));
    const uint64_t tmo[] = {c->timeouts.handshake,        c->timeouts.idle,
                            c->timeouts.stream_idle,      c->timeouts.upstream_connect,
                            c->timeouts.upstream_response, c->timeouts.tunnel_idle};
    for (size_t i = 0; i < sizeof(tmo) / sizeof(tmo[0]); i++)
        FUZZ_CHECK(tmo[i] >= 1 && tmo[i] <= DAY_MS);
    FUZZ_CHECK(c->timeouts.shutdown <= DAY_MS);
    FUZZ_CHECK(c->log_level >= H2G_LOG_ERROR && c->log_level <= H2G_LOG_DEBUG);
    check_str(c->log_access);
    check_str(c->control_socket);
    if (c->metrics_listen_text != NULL)
        check_hostport(&c->metrics_listen, true);
}

int fuzz_config(const uint8_t *data, size_t size)
{
    /* The loader takes a length; a copy of exactly that many bytes. */
    char *text = fuzz_dup(data, size, 0);
    struct h2g_config_errors errs;
    struct h2g_config *c = h2g_config_load_string(NAME, DIR, text, size, &errs);
    if (c != NULL) {
        FUZZ_CHECK(errs.n == 0 && errs.msgs == NULL);
        check_config(c);
        /* References are counted: the snapshot outlives one unref. */
        FUZZ_CHECK(h2g_config_ref(c) == c);
        h2g_config_unref(c);
        check_config(c);
        h2g_config_unref(c);
    } else {
        FUZZ_CHECK(errs.n > 0 && errs.msgs != NULL);
        for (size_t i = 0; i < errs.n; i++) {
            check_str(errs.msgs[i]);
            FUZZ_CHECK(strncmp(errs.msgs[i], NAME ":", sizeof(NAME)) == 0);
        }
    }
    h2g_config_errors_clear(&errs);
    free(text);
    return 0;
}

H2G_FUZZ_TARGET(fuzz_config)
