/* Tests for src/core/route.c, over configs built by hand (not the loader). */
#include <check.h>
#include <string.h>

#include "core/route.h"
#include "suites.h"

#define HM(p, h) h2g_host_match(p, h, strlen(h))

START_TEST(host_patterns)
{
    ck_assert(HM("example.com", "example.com"));
    ck_assert(HM("example.com", "EXAMPLE.Com"));
    ck_assert(HM("example.com", "example.com."));
    ck_assert(!HM("example.com", "example.com.."));
    ck_assert(!HM("example.com", "www.example.com"));
    ck_assert(!HM("example.com", "example.co"));
    ck_assert(!HM("example.com", "xexample.com"));
    ck_assert(HM("*.example.com", "www.example.com"));
    ck_assert(HM("*.example.com", "a.b.example.com"));
    ck_assert(HM("*.example.com", "WWW.Example.COM."));
    ck_assert(!HM("*.example.com", "example.com"));
    ck_assert(!HM("*.example.com", ".example.com"));
    ck_assert(!HM("*.example.com", "wwwexample.com"));
    ck_assert(HM("*", "anything.test"));
    ck_assert(HM("*", "127.0.0.1"));
    ck_assert(!HM("*", ""));
    ck_assert(!HM("*", "."));
    /* host_len bounds the compare */
    ck_assert(h2g_host_match("example.com", "example.com:443", 11));
}
END_TEST

static void expect_host(const char *auth, const char *want)
{
    const char *h = NULL;
    size_t n = 0;
    ck_assert_msg(h2g_authority_host(auth, strlen(auth), &h, &n), "rejected %s", auth);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(h, want, n) == 0);
}

static void expect_bad(const char *auth)
{
    const char *h;
    size_t n;
    ck_assert_msg(!h2g_authority_host(auth, strlen(auth), &h, &n), "accepted %s", auth);
}

START_TEST(authority_host)
{
    expect_host("example.com", "example.com");
    expect_host("example.com:8443", "example.com");
    expect_host("Example.COM.:443", "Example.COM.");
    expect_host("127.0.0.1:80", "127.0.0.1");
    expect_host("[::1]", "::1");
    expect_host("[::1]:443", "::1");
    expect_host("[2001:db8::a:b]:65535", "2001:db8::a:b");
    expect_host("[::ffff:192.0.2.1]:1", "::ffff:192.0.2.1");
    expect_bad("");
    expect_bad(":443");
    expect_bad("example.com:");
    expect_bad("example.com:http");
    expect_bad("example.com:65536");
    expect_bad("example.com:123456");
    expect_bad("example.com:80:80");
    expect_bad("::1");
    expect_bad("[::1");
    expect_bad("[::1]x");
    expect_bad("[::1]:");
    expect_bad("[]:443");
    expect_bad("[example.com]");
    expect_bad("user@example.com");
    expect_bad("example.com/path");
    expect_bad("exa mple.com");
    expect_bad("example.com\r\n");
    const char *h;
    size_t n;
    ck_assert(!h2g_authority_host("a\0b", 3, &h, &n));
    ck_assert(!h2g_authority_host(NULL, 0, &h, &n));
}
END_TEST

/* A config in the shape the loader produces, built by hand. */
static char *hosts_a[] = {"example.com", "*.example.com"};
static char *hosts_b[] = {"api.example.com"}; /* shadowed by origin A */
static char *hosts_c[] = {"other.test"};
static char *hosts_any[] = {"*"};

static struct h2g_route_config routes_a[] = {
    {.path = "/", .path_len = 1},
    {.path = "/chat", .path_len = 5, .websocket = true},
    {.path = "/static/", .path_len = 8},
    {.path = "/chat/admin", .path_len = 11},
};
static struct h2g_route_config routes_c[] = {
    {.path = "/api", .path_len = 4},
};

static struct h2g_origin_config origins[] = {
    {.hosts = hosts_a, .n_hosts = 2, .routes = routes_a, .n_routes = 4},
    {.hosts = hosts_b, .n_hosts = 1},
    {.hosts = hosts_c, .n_hosts = 1, .routes = routes_c, .n_routes = 1},
    {.hosts = hosts_any, .n_hosts = 1},
};

static struct h2g_config cfg = {.origins = origins, .n_origins = 4};

static const struct h2g_origin_config *origin_of(const char *auth)
{
    return h2g_route_origin(&cfg, auth, strlen(auth));
}

START_TEST(origin_lookup)
{
    ck_assert_ptr_eq(origin_of("example.com"), &origins[0]);
    ck_assert_ptr_eq(origin_of("EXAMPLE.com:8443"), &origins[0]);
    ck_assert_ptr_eq(origin_of("www.example.com."), &origins[0]);
    /* first match wins, in config order */
    ck_assert_ptr_eq(origin_of("api.example.com"), &origins[0]);
    ck_assert_ptr_eq(origin_of("other.test:1"), &origins[2]);
    ck_assert_ptr_eq(origin_of("[::1]:443"), &origins[3]);
    ck_assert_ptr_eq(origin_of("unknown.test"), &origins[3]);
    ck_assert_ptr_null(origin_of("bad:port"));
    ck_assert_ptr_null(h2g_route_origin(&cfg, NULL, 0));

    /* without the catch-all */
    struct h2g_config c2 = {.origins = origins, .n_origins = 3};
    ck_assert_ptr_null(h2g_route_origin(&c2, "unknown.test", 12));
    ck_assert_ptr_eq(h2g_route_origin(&c2, "[::1]", 5), NULL);
    struct h2g_config empty = {0};
    ck_assert_ptr_null(h2g_route_origin(&empty, "example.com", 11));
}
END_TEST

static const char *route_of(const struct h2g_origin_config *o, const char *path)
{
    const struct h2g_route_config *r = h2g_route_find(o, path, strlen(path));
    return r ? r->path : "(none)";
}

START_TEST(longest_prefix)
{
    const struct h2g_origin_config *o = &origins[0];
    ck_assert_str_eq(route_of(o, "/"), "/");
    ck_assert_str_eq(route_of(o, "/index.html"), "/");
    ck_assert_str_eq(route_of(o, "/chat"), "/chat");
    ck_assert_str_eq(route_of(o, "/chat/"), "/chat");
    ck_assert_str_eq(route_of(o, "/chat/room/1"), "/chat");
    ck_assert_str_eq(route_of(o, "/chat?x=1"), "/chat");
    ck_assert_str_eq(route_of(o, "/chatroom"), "/");
    ck_assert_str_eq(route_of(o, "/chat/admin"), "/chat/admin");
    ck_assert_str_eq(route_of(o, "/chat/admin/x"), "/chat/admin");
    ck_assert_str_eq(route_of(o, "/chat/administrator"), "/chat");
    ck_assert_str_eq(route_of(o, "/static/"), "/static/");
    ck_assert_str_eq(route_of(o, "/static/app.js"), "/static/");
    ck_assert_str_eq(route_of(o, "/static"), "/"); /* "/static/" needs the slash */
    ck_assert_str_eq(route_of(o, "/?chat"), "/");
    ck_assert_str_eq(route_of(o, "*"), "(none)");
    ck_assert_str_eq(route_of(o, ""), "(none)");

    /* the query is not part of the match */
    const struct h2g_origin_config *c = &origins[2];
    ck_assert_str_eq(route_of(c, "/api"), "/api");
    ck_assert_str_eq(route_of(c, "/api?/x"), "/api");
    ck_assert_str_eq(route_of(c, "/api#frag"), "/api");
    ck_assert_str_eq(route_of(c, "/apix"), "(none)");
    ck_assert_str_eq(route_of(c, "/ap"), "(none)");
    ck_assert_str_eq(route_of(c, "/x?/api"), "(none)");
    ck_assert_str_eq(route_of(&origins[1], "/"), "(none)");
    ck_assert_ptr_null(h2g_route_find(NULL, "/", 1));
    /* len bounds the path */
    ck_assert_ptr_eq(h2g_route_find(o, "/chatroom", 5), &routes_a[1]);
}
END_TEST

Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("lookup");
    tcase_add_test(tc, host_patterns);
    tcase_add_test(tc, authority_host);
    tcase_add_test(tc, origin_lookup);
    tcase_add_test(tc, longest_prefix);
    suite_add_tcase(s, tc);
    return s;
}
