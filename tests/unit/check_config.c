/*
 * Tests for src/core/config.c and src/core/config_load.c.
 *
 * Bad configurations live in fixtures/bad-*.yaml; each starts with one
 * "# expect: LINE:COLUMN: substring" line per error it must produce, and
 * produces no other error.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/config_load.h"
#include "suites.h"

#ifndef FIXTURES
#error "FIXTURES must name the fixtures directory"
#endif

/* Loads YAML text; on failure returns NULL and leaves the errors in errs. */
static struct h2g_config *load_str(const char *text, struct h2g_config_errors *errs)
{
    return h2g_config_load_string("test.yaml", FIXTURES, text, strlen(text), errs);
}

/* Loads text that must be valid; fails the test with its errors if not. */
static struct h2g_config *load_ok(const char *text)
{
    struct h2g_config_errors errs;
    struct h2g_config *c = load_str(text, &errs);
    ck_assert_msg(c != NULL, "expected success, got: %s", errs.n ? errs.msgs[0] : "(no message)");
    ck_assert_uint_eq(errs.n, 0);
    return c;
}

/* Loads text that must fail with exactly one error containing `want`. */
static void load_fails(const char *text, const char *want)
{
    struct h2g_config_errors errs;
    struct h2g_config *c = load_str(text, &errs);
    ck_assert_msg(c == NULL, "expected failure (%s) for:\n%s", want, text);
    ck_assert_msg(errs.n == 1, "expected 1 error, got %zu (first: %s)", errs.n,
                  errs.n ? errs.msgs[0] : "-");
    ck_assert_msg(strstr(errs.msgs[0], want) != NULL, "'%s' does not contain '%s'", errs.msgs[0],
                  want);
    h2g_config_errors_clear(&errs);
}

#define PREFIX "listen: [{address: \"127.0.0.1:8080\"}]\n"

START_TEST(defaults)
{
    struct h2g_config *d = h2g_config_new_defaults();
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->refcnt, 1);
    ck_assert_uint_eq(d->workers, 0);
    ck_assert_ptr_null(d->user);
    ck_assert_uint_eq(d->n_listen, 0);
    ck_assert_uint_eq(d->n_origins, 0);
    ck_assert_uint_eq(d->limits.max_concurrent_streams, 128);
    ck_assert_uint_eq(d->limits.initial_window_size, 1048576);
    ck_assert_uint_eq(d->limits.connection_window_size, 16777216);
    ck_assert_uint_eq(d->limits.max_frame_size, 16384);
    ck_assert_uint_eq(d->limits.header_table_size, 4096);
    ck_assert_uint_eq(d->limits.max_header_list_size, 65536);
    ck_assert_uint_eq(d->limits.max_header_list_pairs, 128);
    ck_assert_uint_eq(d->limits.max_deflate_dynamic_table_size, 4096);
    ck_assert_uint_eq(d->limits.max_settings, 32);
    ck_assert_uint_eq(d->limits.max_outstanding_pings, 10);
    ck_assert_uint_eq(d->limits.max_session_memory, 10485760);
    ck_assert_uint_eq(d->limits.max_send_header_block_length, 65536);
    ck_assert_uint_eq(d->limits.peer_max_concurrent_streams, 100);
    ck_assert_uint_eq(d->limits.max_session_invalid_frames, 1000);
    ck_assert_uint_eq(d->limits.max_session_rejected_streams, 100);
    ck_assert_uint_eq(d->limits.stream_reset_burst, 1000);
    ck_assert_uint_eq(d->limits.stream_reset_rate, 33);
    ck_assert_uint_eq(d->limits.max_connections, 10000);
    ck_assert_uint_eq(d->limits.max_request_body, 0);
    ck_assert_uint_eq(d->limits.tunnel_pipe_size, 65536);
    ck_assert_uint_eq(d->timeouts.handshake, 10000);
    ck_assert_uint_eq(d->timeouts.idle, 120000);
    ck_assert_uint_eq(d->timeouts.stream_idle, 60000);
    ck_assert_uint_eq(d->timeouts.upstream_connect, 5000);
    ck_assert_uint_eq(d->timeouts.upstream_response, 60000);
    ck_assert_uint_eq(d->timeouts.tunnel_idle, 300000);
    ck_assert_uint_eq(d->timeouts.shutdown, 30000);
    ck_assert_int_eq(d->log_level, H2G_LOG_INFO);
    ck_assert_str_eq(d->log_access, "stdout");
    ck_assert_str_eq(d->control_socket, "/run/h2gate/control.sock");
    ck_assert_ptr_null(d->metrics_listen_text);
    ck_assert(!d->enable_connect_protocol);
    ck_assert(!d->connect_section);

    ck_assert_ptr_eq(h2g_config_ref(d), d);
    ck_assert_int_eq(d->refcnt, 2);
    h2g_config_unref(d);
    ck_assert_int_eq(d->refcnt, 1);
    h2g_config_unref(d);
    h2g_config_unref(NULL);
    ck_assert_ptr_null(h2g_config_ref(NULL));

    ck_assert_str_eq(h2g_log_level_str(H2G_LOG_ERROR), "error");
    ck_assert_str_eq(h2g_log_level_str(H2G_LOG_WARN), "warn");
    ck_assert_str_eq(h2g_log_level_str(H2G_LOG_INFO), "info");
    ck_assert_str_eq(h2g_log_level_str(H2G_LOG_DEBUG), "debug");
}
END_TEST

/* The same values, field by field (no memcmp: padding is not ours). */
static void assert_same_numbers(const struct h2g_config *a, const struct h2g_config *b)
{
#define SAME(f) ck_assert_msg(a->f == b->f, #f ": %llu != %llu", (unsigned long long)a->f, \
                              (unsigned long long)b->f)
    SAME(limits.max_concurrent_streams);
    SAME(limits.initial_window_size);
    SAME(limits.connection_window_size);
    SAME(limits.max_frame_size);
    SAME(limits.header_table_size);
    SAME(limits.max_header_list_size);
    SAME(limits.max_header_list_pairs);
    SAME(limits.max_deflate_dynamic_table_size);
    SAME(limits.max_settings);
    SAME(limits.max_outstanding_pings);
    SAME(limits.max_session_memory);
    SAME(limits.max_send_header_block_length);
    SAME(limits.peer_max_concurrent_streams);
    SAME(limits.max_session_invalid_frames);
    SAME(limits.max_session_rejected_streams);
    SAME(limits.stream_reset_burst);
    SAME(limits.stream_reset_rate);
    SAME(limits.max_connections);
    SAME(limits.max_request_body);
    SAME(limits.tunnel_pipe_size);
    SAME(timeouts.handshake);
    SAME(timeouts.idle);
    SAME(timeouts.stream_idle);
    SAME(timeouts.upstream_connect);
    SAME(timeouts.upstream_response);
    SAME(timeouts.tunnel_idle);
    SAME(timeouts.shutdown);
    SAME(workers);
    SAME(log_level);
#undef SAME
}

START_TEST(minimal_gets_defaults)
{
    struct h2g_config_errors errs;
    struct h2g_config *m = h2g_config_load(FIXTURES "/good-minimal.yaml", &errs);
    ck_assert_msg(m != NULL, "%s", errs.n ? errs.msgs[0] : "?");
    struct h2g_config *e = h2g_config_load(FIXTURES "/good-defaults.yaml", &errs);
    ck_assert_msg(e != NULL, "%s", errs.n ? errs.msgs[0] : "?");
    struct h2g_config *d = h2g_config_new_defaults();

    /* The contract written out, the contract left implicit, and the
     * built-in defaults: one set of values. */
    assert_same_numbers(m, d);
    assert_same_numbers(e, d);
    ck_assert_str_eq(m->log_access, "stdout");
    ck_assert_str_eq(e->log_access, "stdout");
    ck_assert_str_eq(m->control_socket, "/run/h2gate/control.sock");
    ck_assert_str_eq(e->control_socket, "/run/h2gate/control.sock");
    ck_assert_ptr_null(m->metrics_listen_text);
    ck_assert_ptr_null(e->metrics_listen_text);
    ck_assert(m->user == NULL);
    ck_assert_str_eq(e->user, "");
    ck_assert(m->connect_section && e->connect_section);
    ck_assert_uint_eq(m->connect_allow.n_rules, 0);
    ck_assert_uint_eq(e->connect_allow.n_rules, 0);
    ck_assert_uint_eq(m->n_listen, 1);
    ck_assert(m->listen[0].h2 && m->listen[0].http11 && m->listen[0].h2_preferred);
    ck_assert(e->listen[0].h2 && e->listen[0].http11 && e->listen[0].h2_preferred);
    ck_assert_ptr_null(m->listen[0].tls);
    ck_assert(!m->enable_connect_protocol);
    ck_assert_str_eq(m->path, FIXTURES "/good-minimal.yaml");
    ck_assert_str_eq(m->dir, FIXTURES);

    h2g_config_unref(m);
    h2g_config_unref(e);
    h2g_config_unref(d);
}
END_TEST

START_TEST(full)
{
    struct h2g_config_errors errs;
    struct h2g_config *c = h2g_config_load(FIXTURES "/good-full.yaml", &errs);
    ck_assert_msg(c != NULL, "%s", errs.n ? errs.msgs[0] : "?");
    ck_assert_uint_eq(errs.n, 0);

    ck_assert_uint_eq(c->workers, 4);
    ck_assert_str_eq(c->user, "h2gate");

    ck_assert_uint_eq(c->n_listen, 3);
    const struct h2g_listen_config *l = &c->listen[0];
    ck_assert_str_eq(l->text, "127.0.0.1:8443");
    ck_assert_str_eq(l->addr.host, "127.0.0.1");
    ck_assert_uint_eq(l->addr.port, 8443);
    ck_assert_ptr_nonnull(l->tls);
    ck_assert_str_eq(l->tls->certificate, FIXTURES "/cert.pem");
    ck_assert_str_eq(l->tls->key, FIXTURES "/key.pem");
    ck_assert_uint_eq(l->tls->n_sni, 1);
    ck_assert_uint_eq(l->tls->sni[0].n_names, 2);
    ck_assert_str_eq(l->tls->sni[0].names[0], "a.example");
    ck_assert_str_eq(l->tls->sni[0].names[1], "*.b.example");
    ck_assert_str_eq(l->tls->sni[0].certificate, FIXTURES "/cert.pem");
    ck_assert_str_eq(l->tls->sni[0].key, FIXTURES "/key.pem");
    ck_assert(l->h2 && l->http11 && !l->h2_preferred);
    l = &c->listen[1];
    ck_assert(l->addr.is_ipv6);
    ck_assert_str_eq(l->addr.host, "::1");
    ck_assert_uint_eq(l->addr.port, 8080);
    ck_assert_ptr_null(l->tls);
    ck_assert(l->h2 && !l->http11 && l->h2_preferred);
    l = &c->listen[2];
    ck_assert(l->addr.wildcard);
    ck_assert_uint_eq(l->addr.port, 8081);
    ck_assert(l->h2 && l->http11 && l->h2_preferred);

    ck_assert_uint_eq(c->n_origins, 2);
    const struct h2g_origin_config *o = &c->origins[0];
    ck_assert_uint_eq(o->n_hosts, 2);
    ck_assert_str_eq(o->hosts[0], "example.com");
    ck_assert_str_eq(o->hosts[1], "*.example.com");
    ck_assert_str_eq(o->altsvc, "h2=\"alt.example.com:443\"; ma=3600, h3=\":443\"; persist=1");
    ck_assert_uint_eq(o->n_routes, 4);
    /* Longest path first. */
    const struct h2g_route_config *r = &o->routes[0];
    ck_assert_str_eq(r->path, "/api/v1");
    ck_assert_uint_eq(r->path_len, 7);
    ck_assert_int_eq(r->kind, H2G_ROUTE_HTTP);
    ck_assert_uint_eq(r->n_upstreams, 3);
    ck_assert_str_eq(r->upstreams[0].url, "http://a.internal:1");
    ck_assert_str_eq(r->upstreams[0].id, "a.internal:1");
    ck_assert_str_eq(r->upstreams[1].id, "[::1]:2");
    ck_assert_str_eq(r->upstreams[2].id, "b.internal:80");
    ck_assert_uint_eq(r->upstreams[2].addr.port, 80);
    ck_assert(!r->websocket);
    r = &o->routes[1];
    ck_assert_str_eq(r->path, "/chat");
    ck_assert_int_eq(r->kind, H2G_ROUTE_HTTP);
    ck_assert(r->websocket);
    ck_assert_uint_eq(r->n_upstreams, 1);
    ck_assert_str_eq(r->upstreams[0].id, "127.0.0.1:9001");
    r = &o->routes[2];
    ck_assert_str_eq(r->path, "/raw");
    ck_assert_int_eq(r->kind, H2G_ROUTE_TUNNEL);
    ck_assert_str_eq(r->tunnel_url, "tcp://127.0.0.1:7000");
    ck_assert_str_eq(r->tunnel.host, "127.0.0.1");
    ck_assert_uint_eq(r->tunnel.port, 7000);
    ck_assert_uint_eq(r->n_protocols, 2);
    ck_assert_str_eq(r->protocols[0], "websocket");
    ck_assert_str_eq(r->protocols[1], "x-raw");
    ck_assert_uint_eq(r->n_upstreams, 0);
    r = &o->routes[3];
    ck_assert_str_eq(r->path, "/");
    ck_assert_str_eq(r->upstreams[0].id, "127.0.0.1:9000");

    o = &c->origins[1];
    ck_assert_str_eq(o->hosts[0], "*");
    ck_assert_str_eq(o->altsvc, "clear");
    ck_assert_uint_eq(o->n_routes, 1);
    ck_assert_int_eq(o->routes[0].kind, H2G_ROUTE_TUNNEL);
    ck_assert(o->routes[0].tunnel.is_ipv6);
    /* A tunnel without `protocols` accepts websocket only. */
    ck_assert_uint_eq(o->routes[0].n_protocols, 1);
    ck_assert_str_eq(o->routes[0].protocols[0], "websocket");

    ck_assert_uint_eq(c->n_origin_set, 3);
    ck_assert_str_eq(c->origin_set[0], "https://example.com");
    ck_assert_str_eq(c->origin_set[1], "https://www.example.com:8443");
    ck_assert_str_eq(c->origin_set[2], "http://[::1]:8080");

    ck_assert(c->connect_section);
    ck_assert_uint_eq(c->connect_allow.n_rules, 3);
    ck_assert_int_eq(c->connect_allow.rules[0].kind, H2G_ACL_SUFFIX);
    ck_assert_int_eq(c->connect_allow.rules[1].kind, H2G_ACL_CIDR);
    ck_assert_int_eq(c->connect_allow.rules[2].family, AF_INET6);
    ck_assert_uint_eq(c->connect_deny.n_rules, 1);
    ck_assert_str_eq(c->connect_deny.rules[0].text, "127.0.0.0/8:*");

    ck_assert_uint_eq(c->limits.max_concurrent_streams, 256);
    ck_assert_uint_eq(c->limits.initial_window_size, 2 << 20);
    ck_assert_uint_eq(c->limits.connection_window_size, 32 << 20);
    ck_assert_uint_eq(c->limits.max_frame_size, 32 << 10);
    ck_assert_uint_eq(c->limits.header_table_size, 8 << 10);
    ck_assert_uint_eq(c->limits.max_header_list_size, 128 << 10);
    ck_assert_uint_eq(c->limits.max_header_list_pairs, 200);
    ck_assert_uint_eq(c->limits.max_deflate_dynamic_table_size, 8 << 10);
    ck_assert_uint_eq(c->limits.max_settings, 16);
    ck_assert_uint_eq(c->limits.max_outstanding_pings, 5);
    ck_assert_uint_eq(c->limits.max_session_memory, 20 << 20);
    ck_assert_uint_eq(c->limits.max_send_header_block_length, 32 << 10);
    ck_assert_uint_eq(c->limits.peer_max_concurrent_streams, 50);
    ck_assert_uint_eq(c->limits.max_session_invalid_frames, 500);
    ck_assert_uint_eq(c->limits.max_session_rejected_streams, 50);
    ck_assert_uint_eq(c->limits.stream_reset_burst, 500);
    ck_assert_uint_eq(c->limits.stream_reset_rate, 20);
    ck_assert_uint_eq(c->limits.max_connections, 5000);
    ck_assert_uint_eq(c->limits.max_request_body, 1ull << 30);
    ck_assert_uint_eq(c->limits.tunnel_pipe_size, 256 << 10);

    ck_assert_uint_eq(c->timeouts.handshake, 5000);
    ck_assert_uint_eq(c->timeouts.idle, 120000);
    ck_assert_uint_eq(c->timeouts.stream_idle, 30000);
    ck_assert_uint_eq(c->timeouts.upstream_connect, 1500);
    ck_assert_uint_eq(c->timeouts.upstream_response, 3600000);
    ck_assert_uint_eq(c->timeouts.tunnel_idle, 600000);
    ck_assert_uint_eq(c->timeouts.shutdown, 0);

    ck_assert_int_eq(c->log_level, H2G_LOG_DEBUG);
    ck_assert_str_eq(c->log_access, FIXTURES "/logs/access.log");
    ck_assert_str_eq(c->control_socket, "/tmp/h2gate-test.sock");
    ck_assert_str_eq(c->metrics_listen_text, "127.0.0.1:9901");
    ck_assert_uint_eq(c->metrics_listen.port, 9901);
    ck_assert(c->enable_connect_protocol);
    h2g_config_unref(c);
}
END_TEST

START_TEST(derived)
{
    /* Equal path lengths keep their written order; longer ones first. */
    struct h2g_config *c = load_ok(PREFIX "origins:\n"
                                          "  - hosts: [\"*\"]\n"
                                          "    routes:\n"
                                          "      - {path: /b, upstream: \"http://h:1\"}\n"
                                          "      - {path: /, upstream: \"http://h:2\"}\n"
                                          "      - {path: /a, upstream: \"http://h:3\"}\n"
                                          "      - {path: /long, upstream: \"http://h:4\"}\n");
    const struct h2g_origin_config *o = &c->origins[0];
    ck_assert_str_eq(o->routes[0].path, "/long");
    ck_assert_str_eq(o->routes[1].path, "/b");
    ck_assert_str_eq(o->routes[2].path, "/a");
    ck_assert_str_eq(o->routes[3].path, "/");
    ck_assert(!c->enable_connect_protocol);
    ck_assert(!c->connect_section);
    h2g_config_unref(c);

    /* Route prefixes are normalized like the request paths they match. */
    c = load_ok(PREFIX "origins:\n"
                       "  - hosts: [\"*\"]\n"
                       "    routes:\n"
                       "      - {path: /%7euser/./x, upstream: \"http://h:1\"}\n"
                       "      - {path: /a%2fb/c/.., upstream: \"http://h:2\"}\n");
    ck_assert_str_eq(c->origins[0].routes[0].path, "/~user/x");
    ck_assert_uint_eq(c->origins[0].routes[0].path_len, 8);
    ck_assert_str_eq(c->origins[0].routes[1].path, "/a%2Fb/");
    h2g_config_unref(c);

    c = load_ok(PREFIX "origins:\n"
                       "  - hosts: [\"A.Example.\", \"[2001:DB8::1]\", \"192.0.2.1\"]\n"
                       "    routes: [{path: /, upstream: \"http://h:1\", websocket: true}]\n");
    ck_assert(c->enable_connect_protocol);
    ck_assert_str_eq(c->origins[0].hosts[0], "a.example");
    ck_assert_str_eq(c->origins[0].hosts[1], "2001:db8::1");
    ck_assert_str_eq(c->origins[0].hosts[2], "192.0.2.1");
    h2g_config_unref(c);

    c = load_ok(PREFIX "connect:\n");
    ck_assert(c->connect_section);
    ck_assert_ptr_null(c->path);
    ck_assert_str_eq(c->dir, FIXTURES);
    h2g_config_unref(c);

    /* Bare integer durations are seconds; workers accepts its bounds. */
    c = load_ok(PREFIX "connect: {}\nworkers: 256\ntimeouts: {idle: 24h, handshake: 1ms}\n"
                       "metrics: {listen: \"[::1]:9901\"}\nlog: {access: \"off\"}\n");
    ck_assert_uint_eq(c->workers, 256);
    ck_assert_uint_eq(c->timeouts.idle, 86400000);
    ck_assert_uint_eq(c->timeouts.handshake, 1);
    ck_assert(c->metrics_listen.is_ipv6);
    ck_assert_str_eq(c->log_access, "off");
    h2g_config_unref(c);
}
END_TEST

START_TEST(altsvc)
{
    static const char *const good[] = {
        "clear",
        "h2=\":443\"",
        "h2=\"alt.example.com:443\"",
        "h2=\"alt.example.com:443\"; ma=3600",
        "h2=\"alt.example.com:443\";ma=3600;persist=1",
        "h2=\"[2001:db8::1]:443\", h3=\":443\"; ma=86400",
        "w%3Dx%3Ay=\":8443\"",
        "h2=\"a.example:1\"; foo=bar; baz=\"q u o t e d\"",
    };
    static const char *const bad[] = {
        "",
        "Clear",
        "h2",
        "h2=alt.example.com:443",
        "h2=\"alt.example.com\"",
        "h2=\"alt.example.com:0\"",
        "h2=\"alt.example.com:99999\"",
        "h2=\"alt.example.com:443",
        "h2=\"alt example:443\"",
        "h2=\"[::1:443\"",
        "=\":443\"",
        "h2 =\":443\"",
        "w%3=\":443\"",
        "h2=\":443\"; ma=soon",
        "h2=\":443\"; ma=",
        "h2=\":443\";",
        "h2=\":443\",",
        "h2=\":443\" junk",
        "h2=\":443\"; persist=yes",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct h2g_buf b = {0};
        ck_assert_int_eq(h2g_buf_printf(&b,
                                        PREFIX "origins: [{hosts: [\"*\"], altsvc: '%s', routes: "
                                               "[{path: /, upstream: \"http://h\"}]}]\n",
                                        good[i]),
                         0);
        ck_assert_int_eq(h2g_buf_append(&b, "", 1), 0);
        struct h2g_config *c = load_ok(b.data);
        ck_assert_str_eq(c->origins[0].altsvc, good[i]);
        h2g_config_unref(c);
        h2g_buf_clear(&b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_buf b = {0};
        ck_assert_int_eq(h2g_buf_printf(&b,
                                        PREFIX "origins: [{hosts: [\"*\"], altsvc: '%s', routes: "
                                               "[{path: /, upstream: \"http://h\"}]}]\n",
                                        bad[i]),
                         0);
        ck_assert_int_eq(h2g_buf_append(&b, "", 1), 0);
        load_fails(b.data, "origins[0].altsvc: bad Alt-Svc value");
        h2g_buf_clear(&b);
    }
}
END_TEST

START_TEST(origin_set)
{
    static const char *const good[] = {
        "https://example.com", "http://example.com", "https://example.com:8443",
        "http://example.com:443", "https://192.0.2.1", "https://[2001:db8::1]:8443",
    };
    static const char *const bad[] = {
        "https://Example.com", "HTTPS://example.com", "https://example.com/",
        "https://example.com/x", "https://example.com:443", "http://example.com:80",
        "https://example.com:08443", "https://example.com:", "https://example.com:70000",
        "ftp://example.com", "example.com", "https://", "https://u@example.com",
        "https://example.com?q", "https://[::1", "https://ex ample.com", "https://a..b",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct h2g_buf b = {0};
        ck_assert_int_eq(h2g_buf_printf(&b, PREFIX "connect:\norigin_set: [\"%s\"]\n", good[i]), 0);
        ck_assert_int_eq(h2g_buf_append(&b, "", 1), 0);
        struct h2g_config *c = load_ok(b.data);
        ck_assert_str_eq(c->origin_set[0], good[i]);
        h2g_config_unref(c);
        h2g_buf_clear(&b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_buf b = {0};
        ck_assert_int_eq(h2g_buf_printf(&b, PREFIX "connect:\norigin_set: [\"%s\"]\n", bad[i]), 0);
        ck_assert_int_eq(h2g_buf_append(&b, "", 1), 0);
        load_fails(b.data, "origin_set[0]: ");
        h2g_buf_clear(&b);
    }
}
END_TEST

START_TEST(inline_errors)
{
    load_fails(PREFIX "connect:\nlimits: {max_frame_size: 16777216}\n",
               "test.yaml:3:26: limits.max_frame_size: 16777216 is out of range (16384..16777215)");
    load_fails(PREFIX "connect:\nlimits: {max_request_body: 18446744073709551616}\n",
               "max_request_body: 18446744073709551616 is out of range");
    load_fails(PREFIX "connect:\nlimits: {max_settings: 99999999999999999999999}\n",
               "is out of range (1..1000)");
    load_fails(PREFIX "connect:\ntimeouts: {idle: -5s}\n", "-5s is out of range (1ms..24h)");
    load_fails(PREFIX "connect:\ntimeouts: {shutdown: 1.5s}\n", "expected a duration");
    load_fails(PREFIX "connect:\nlimits: {max_settings: 1.5}\n", "expected an integer");
    load_fails(PREFIX "connect:\nlimits: {max_settings: }\n", "missing value (expected an integer)");
    load_fails(PREFIX "connect:\nworkers: 0\n", "workers: expected 'auto' or an integer 1..256");
    load_fails(PREFIX "connect:\nworkers: many\n", "got 'many'");
    load_fails(PREFIX "connect:\nlog: {level: verbose}\n",
               "log.level: 'verbose' is not one of error, warn, info, debug");
    load_fails(PREFIX "connect:\nlog: {access: \"\"}\n", "log.access: expected stdout, off");
    load_fails(PREFIX "connect:\ncontrol: {socket: \"\"}\n", "control.socket: empty");
    load_fails(PREFIX "connect:\ncontrol: {socket: /"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
               "longer than a unix socket path");
    load_fails(PREFIX "connect:\nmetrics: {listen: \"9901\"}\n", "metrics.listen: expected");
    load_fails(PREFIX "connect: {allow: \"*:*\"}\n", "connect.allow: expected a sequence");
    load_fails(PREFIX "connect: {allow: [[a]]}\n", "connect.allow[0]: expected");
    load_fails("listen: []\nconnect:\n", "listen: expected at least one entry");
    load_fails("listen:\nconnect:\n", "listen: expected at least one entry");
    load_fails("listen: [\"127.0.0.1:80\"]\nconnect:\n", "listen[0]: expected a mapping, got a string");
    load_fails(PREFIX "connect:\nlisten: []\n", "duplicate key 'listen' (first at 1:1)");
    load_fails(PREFIX "connect:\n? [a]\n: b\n", "mapping keys must be plain strings");
    load_fails(PREFIX "connect:\nuser: &u x\nlog: {access: *u}\n", "aliases");
    load_fails(PREFIX "connect:\n---\nfoo: 1\n", "only one YAML document");
    load_fails("[1, 2]\n", "test.yaml:1:1: expected a mapping, got a sequence");
    load_fails(PREFIX "connect:\nuser: \"a\\0b\"\n", "NUL character");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, tunnel: \"tcp://h:1\", "
                      "protocols: [\"web socket\"]}]\n",
               "not an HTTP token");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, tunnel: \"tcp://h:1\", "
                      "protocols: [a, a]}]\n",
               "'a' is listed twice");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, tunnel: \"tcp://h:1\", "
                      "protocols: []}]\n",
               "protocols: expected at least one entry");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: \"/a b\", upstream: "
                      "\"http://h\"}]\n",
               "may not contain spaces");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: \"/a%zz\", upstream: "
                      "\"http://h\"}]\n",
               "routes[0].path: '/a%zz' has a '%' not followed by two hex digits");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /a%00, upstream: "
                      "\"http://h\"}]\n",
               "an escaped control character");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes:\n"
                      "      - {path: /a/b, upstream: \"http://h\"}\n"
                      "      - {path: /a/./b, upstream: \"http://h\"}\n",
               "duplicate path '/a/b'");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, upstream: []}]\n",
               "upstream: expected at least one upstream URL");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, upstream: "
                      "[\"http://a\", \"tcp://b:1\"]}]\n",
               "routes[0].upstream[1]: expected http://, https://, h2c:// or h2://host[:port], got 'tcp://b:1'");

    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, upstream: "
                      "[\"h2c://a\", \"http://b:1\"]}]\n",
               "routes[0].upstream[1]: a route's upstreams all speak HTTP/1.1 (http://, https://) or all HTTP/2");
    load_fails(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes: [{path: /, upstream: "
                      "[\"h2://a\", \"https://b\"]}]\n",
               "routes[0].upstream[1]: a route's upstreams all speak HTTP/1.1 (http://, https://) or all HTTP/2");

    /* Deep nesting is refused, not recursed into. */
    struct h2g_buf b = {0};
    ck_assert_int_eq(h2g_buf_puts(&b, PREFIX "connect:\nuser: "), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(h2g_buf_puts(&b, "["), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(h2g_buf_puts(&b, "]"), 0);
    ck_assert_int_eq(h2g_buf_append(&b, "\n", 2), 0);
    load_fails(b.data, "nesting deeper than");
    h2g_buf_clear(&b);
}
END_TEST

START_TEST(file_errors)
{
    struct h2g_config_errors errs;
    ck_assert_ptr_null(h2g_config_load(FIXTURES "/does-not-exist.yaml", &errs));
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_str_eq(errs.msgs[0],
                     FIXTURES "/does-not-exist.yaml: cannot open: No such file or directory");
    h2g_config_errors_clear(&errs);
    ck_assert_uint_eq(errs.n, 0);
    h2g_config_errors_clear(&errs);

    ck_assert_ptr_null(h2g_config_load(FIXTURES, &errs)); /* a directory */
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_ptr_nonnull(strstr(errs.msgs[0], FIXTURES ": cannot "));
    h2g_config_errors_clear(&errs);
}
END_TEST

/* One bad fixture: its "# expect:" lines against the errors it yields.
 * Appends a description of every mismatch to `report`. */
static void check_fixture(const char *file, struct h2g_buf *report)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", FIXTURES, file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    struct {
        unsigned line, col;
        char text[512];
    } want[16];
    size_t n_want = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL && strncmp(line, "# expect: ", 10) == 0) {
        ck_assert_msg(n_want < 16, "%s: too many expect lines", file);
        int off = 0;
        ck_assert_msg(sscanf(line + 10, "%u:%u: %n", &want[n_want].line, &want[n_want].col, &off) == 2 &&
                          off > 0,
                      "%s: bad expect line: %s", file, line);
        snprintf(want[n_want].text, sizeof(want[n_want].text), "%s", line + 10 + off);
        want[n_want].text[strcspn(want[n_want].text, "\n")] = '\0';
        n_want++;
    }
    fclose(f);
    ck_assert_msg(n_want > 0, "%s: no '# expect:' line first", file);

    struct h2g_config_errors errs;
    struct h2g_config *c = h2g_config_load(path, &errs);
    bool bad = c != NULL || errs.n != n_want;
    for (size_t i = 0; i < n_want; i++) {
        char prefix[4200];
        snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", path, want[i].line, want[i].col);
        bool found = false;
        for (size_t j = 0; j < errs.n && !found; j++)
            found = strncmp(errs.msgs[j], prefix, strlen(prefix)) == 0 &&
                    strstr(errs.msgs[j] + strlen(prefix), want[i].text) != NULL;
        if (!found) {
            h2g_buf_printf(report, "%s: missing %u:%u: %s\n", file, want[i].line, want[i].col,
                           want[i].text);
            bad = true;
        }
    }
    if (bad) {
        h2g_buf_printf(report, "%s: %zu errors for %zu expected:\n", file, errs.n, n_want);
        for (size_t j = 0; j < errs.n; j++)
            h2g_buf_printf(report, "    %s\n", errs.msgs[j]);
    }
    h2g_config_unref(c);
    h2g_config_errors_clear(&errs);
}

START_TEST(bad_fixtures)
{
    DIR *d = opendir(FIXTURES);
    ck_assert_ptr_nonnull(d);
    struct h2g_buf report = {0};
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "bad-", 4) != 0 || len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        check_fixture(e->d_name, &report);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(h2g_buf_append(&report, "", 1), 0);
    ck_assert_msg(report.len == 1, "\n%s", report.data);
    h2g_buf_clear(&report);
    ck_assert_int_ge(n, 20);
}
END_TEST

START_TEST(conn_ids_unique)
{
    /* The loader allows no more workers than the ids have room for. */
    char text[128];
    snprintf(text, sizeof(text), PREFIX "connect:\nworkers: %d\n", H2G_MAX_WORKERS + 1);
    load_fails(text, "got '");
    /* Every allowed worker's first connections get ids of their own, which
     * name the worker. */
    enum { SEQS = 40 };
    size_t span = (SEQS + 1) * (size_t)H2G_MAX_WORKERS;
    unsigned char *seen = calloc(span, 1);
    ck_assert_ptr_nonnull(seen);
    for (unsigned w = 0; w < H2G_MAX_WORKERS; w++) {
        for (uint64_t seq = 1; seq <= SEQS; seq++) {
            uint64_t id = h2g_conn_id(w, seq);
            ck_assert_uint_lt(id, span);
            ck_assert_msg(!seen[id], "worker %u connection %llu: id %llu taken", w, (unsigned long long)seq,
                          (unsigned long long)id);
            seen[id] = 1;
            ck_assert_uint_eq(id % H2G_MAX_WORKERS, w);
        }
    }
    free(seen);
}
END_TEST

START_TEST(upstream_h2c)
{
    struct h2g_config *c = load_ok(PREFIX "origins:\n  - hosts: [\"*\"]\n    routes:\n"
                                          "      - {path: /, upstream: [\"h2c://127.0.0.1:9000\", \"h2c://b\"], websocket: true}\n"
                                          "      - {path: /old, upstream: \"http://127.0.0.1:9000\"}\n");
    const struct h2g_route_config *r = &c->origins[0].routes[1];
    ck_assert_str_eq(r->path, "/");
    ck_assert_uint_eq(r->n_upstreams, 2);
    ck_assert_int_eq(r->upstreams[0].proto, H2G_UPSTREAM_H2C);
    ck_assert_str_eq(r->upstreams[0].url, "h2c://127.0.0.1:9000");
    ck_assert_str_eq(r->upstreams[0].id, "127.0.0.1:9000");
    ck_assert_str_eq(r->upstreams[1].id, "b:80");
    ck_assert_int_eq(r->upstreams[1].proto, H2G_UPSTREAM_H2C);
    ck_assert(r->websocket);
    r = &c->origins[0].routes[0];
    ck_assert_str_eq(r->path, "/old");
    ck_assert_int_eq(r->upstreams[0].proto, H2G_UPSTREAM_HTTP1);
    h2g_config_unref(c);
}
END_TEST

#define TLS_ROUTE(up, extra) PREFIX "origins:\n  - hosts: [\"*\"]\n    routes:\n      - path: /\n        upstream: " up "\n" extra

START_TEST(upstream_tls)
{
    /* A TLS upstream without upstream_tls: verified against the system
     * store, the URL's host as the name. */
    struct h2g_config *c = load_ok(TLS_ROUTE("\"https://api.example\"", ""));
    const struct h2g_route_config *r = &c->origins[0].routes[0];
    ck_assert(r->upstreams[0].tls);
    ck_assert_uint_eq(r->upstreams[0].addr.port, 443);
    ck_assert_str_eq(r->upstreams[0].id, "api.example:443");
    ck_assert_ptr_nonnull(r->upstream_tls);
    ck_assert(r->upstream_tls->verify);
    ck_assert_ptr_null(r->upstream_tls->ca);
    ck_assert_ptr_null(r->upstream_tls->server_name);
    ck_assert_ptr_null(r->upstream_tls->certificate);
    ck_assert_str_eq(r->upstream_tls->where, "test.yaml:5:9");
    ck_assert_ptr_nonnull(r->upstream_tls->pool_key);
    h2g_config_unref(c);

    /* Every key; relative paths against the file's directory; TLS and
     * cleartext of one protocol mix. */
    c = load_ok(TLS_ROUTE("[\"h2://10.0.0.1:8443\", \"h2c://b\"]",
                          "        upstream_tls:\n          ca: bad-url.yaml\n          verify: false\n"
                          "          server_name: grpc.internal\n          certificate: bad-url.yaml\n"
                          "          key: bad-url.yaml\n"));
    r = &c->origins[0].routes[0];
    ck_assert(r->upstreams[0].tls);
    ck_assert(!r->upstreams[1].tls);
    ck_assert_int_eq(r->upstreams[0].proto, H2G_UPSTREAM_H2C);
    ck_assert_ptr_nonnull(strstr(r->upstream_tls->ca, "/bad-url.yaml"));
    ck_assert_int_eq(r->upstream_tls->ca[0], '/');
    ck_assert(!r->upstream_tls->verify);
    ck_assert_str_eq(r->upstream_tls->server_name, "grpc.internal");
    ck_assert_ptr_nonnull(r->upstream_tls->certificate);
    ck_assert_ptr_nonnull(r->upstream_tls->key);
    ck_assert_str_eq(r->upstream_tls->where, "test.yaml:8:11");
    h2g_config_unref(c);

    /* "" is the default of the optional strings. */
    c = load_ok(TLS_ROUTE("\"https://a\"", "        upstream_tls: {ca: \"\", server_name: \"\", certificate: \"\", key: \"\"}\n"));
    ck_assert_ptr_null(c->origins[0].routes[0].upstream_tls->ca);
    ck_assert_ptr_null(c->origins[0].routes[0].upstream_tls->server_name);
    h2g_config_unref(c);

    load_fails(TLS_ROUTE("\"http://a\"", "        upstream_tls: {verify: true}\n"),
               "test.yaml:7:9: origins[0].routes[0].upstream_tls: only for routes with an https:// or h2:// upstream");
    load_fails(TLS_ROUTE("\"h2c://a\"", "        upstream_tls: {ca: bad-url.yaml}\n"),
               "upstream_tls: only for routes with an https:// or h2:// upstream");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {certificate: bad-url.yaml}\n"),
               "test.yaml:7:24: origins[0].routes[0].upstream_tls.certificate: needs 'key' too");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {key: bad-url.yaml}\n"),
               "origins[0].routes[0].upstream_tls.key: needs 'certificate' too");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {ca: no-such.pem}\n"),
               "test.yaml:7:28: origins[0].routes[0].upstream_tls.ca: cannot read '");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {certificate: bad-url.yaml, key: nokey.pem}\n"),
               "origins[0].routes[0].upstream_tls.key: cannot read '");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {verify: maybe}\n"),
               "upstream_tls.verify: expected a boolean");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: {sni: a}\n"),
               "unknown key 'sni' in origins[0].routes[0].upstream_tls");
    load_fails(TLS_ROUTE("\"https://a\"", "        upstream_tls: [a]\n"), "upstream_tls: expected a mapping");
}
END_TEST

START_TEST(listen_proxy_protocol)
{
    struct h2g_config *c = load_ok("listen:\n  - address: \"127.0.0.1:8080\"\n"
                                   "  - address: \"127.0.0.1:8081\"\n    proxy_protocol: true\n"
                                   "connect:\n");
    ck_assert_uint_eq(c->n_listen, 2);
    ck_assert(!c->listen[0].proxy_protocol);
    ck_assert(c->listen[1].proxy_protocol);
    h2g_config_unref(c);
    load_fails("listen: [{address: \"127.0.0.1:8080\", proxy_protocol: v2}]\nconnect:\n", "proxy_protocol");
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, upstream_tls);
    tcase_add_test(tc, minimal_gets_defaults);
    tcase_add_test(tc, full);
    tcase_add_test(tc, derived);
    tcase_add_test(tc, altsvc);
    tcase_add_test(tc, origin_set);
    tcase_add_test(tc, inline_errors);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, bad_fixtures);
    tcase_add_test(tc, conn_ids_unique);
    tcase_add_test(tc, upstream_h2c);
    tcase_add_test(tc, listen_proxy_protocol);
    suite_add_tcase(s, tc);
    return s;
}
