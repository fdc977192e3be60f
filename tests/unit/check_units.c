/* Tests for src/core/units.c: sizes, durations, host:port, URLs, timevals. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "core/units.h"

START_TEST(size_ok)
{
    static const struct {
        const char *in;
        uint64_t out;
    } cases[] = {
        {"0", 0},
        {"65536", 65536},
        {"64KiB", 65536},
        {"1MiB", 1048576},
        {"16MiB", 16777216},
        {"2GiB", 2147483648ull},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183GiB", 17179869183ull << 30},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 42;
        ck_assert_msg(h2g_parse_size(cases[i].in, &v) == NULL, "%s", cases[i].in);
        ck_assert_uint_eq(v, cases[i].out);
    }
}
END_TEST

START_TEST(size_bad)
{
    static const char *const bad[] = {
        "", "-1", "KiB", "64kib", "64KB", "64 KiB", "64KiBx", "1.5MiB", "0x10", "+5",
        "18446744073709551616", "17179869184GiB", " 1", "1 ", "64K", "1TiB",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 42;
        ck_assert_msg(h2g_parse_size(bad[i], &v) != NULL, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(v, 42);
    }
}
END_TEST

START_TEST(duration_ok)
{
    static const struct {
        const char *in;
        uint64_t ms;
    } cases[] = {
        {"0", 0},       {"30", 30000},     {"500ms", 500}, {"30s", 30000},
        {"5m", 300000}, {"1h", 3600000},   {"24h", 86400000}, {"0ms", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 42;
        ck_assert_msg(h2g_parse_duration(cases[i].in, &v) == NULL, "%s", cases[i].in);
        ck_assert_uint_eq(v, cases[i].ms);
    }
}
END_TEST

START_TEST(duration_bad)
{
    static const char *const bad[] = {
        "", "-1s", "s", "5d", "5 s", "1.5s", "5S", "5sec", "5mss", "18446744073709551615h",
        "18446744073709551615", "99999999999999999999ms",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 42;
        ck_assert_msg(h2g_parse_duration(bad[i], &v) != NULL, "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(hostport_ok)
{
    struct h2g_hostport hp;
    ck_assert_ptr_null(h2g_parse_hostport("127.0.0.1:8443", &hp));
    ck_assert_str_eq(hp.host, "127.0.0.1");
    ck_assert_uint_eq(hp.port, 8443);
    ck_assert(!hp.wildcard && !hp.is_ipv6);

    ck_assert_ptr_null(h2g_parse_hostport("[::1]:443", &hp));
    ck_assert_str_eq(hp.host, "::1");
    ck_assert(hp.is_ipv6 && !hp.wildcard);

    ck_assert_ptr_null(h2g_parse_hostport("[FD00::AB]:1", &hp));
    ck_assert_str_eq(hp.host, "fd00::ab");
    ck_assert_uint_eq(hp.port, 1);

    ck_assert_ptr_null(h2g_parse_hostport("*:8443", &hp));
    ck_assert(hp.wildcard);
    ck_assert_str_eq(hp.host, "");
    ck_assert_uint_eq(hp.port, 8443);

    ck_assert_ptr_null(h2g_parse_hostport("Backend.Example:65535", &hp));
    ck_assert_str_eq(hp.host, "backend.example");
    ck_assert_uint_eq(hp.port, 65535);

    ck_assert_ptr_null(h2g_parse_hostport("localhost:80", &hp));
    ck_assert_str_eq(hp.host, "localhost");
}
END_TEST

START_TEST(hostport_bad)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999999999999999999999",
        "127.0.0.1:-1",
        "127.0.0.1:80x",
        ":80",
        "::1:80",
        "[::1]",
        "[::1]80",
        "[::1:80",
        "[nothex]:80",
        "[127.0.0.1]:80",
        "300.1.1.1:80",
        "1.2.3:80",
        "exa mple:80",
        "bad_chars!:80",
        "a..b:80",
        "example.com.:80",
        "*.example.com:80",
        "**:80",
        "host:80\n",
        "http://host:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_hostport hp;
        ck_assert_msg(h2g_parse_hostport(bad[i], &hp) != NULL, "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(hostname)
{
    ck_assert(h2g_is_hostname("a", 1));
    ck_assert(h2g_is_hostname("a-b.c_d.example", 15));
    ck_assert(h2g_is_hostname("1a.example", 10));
    ck_assert(!h2g_is_hostname("", 0));
    ck_assert(!h2g_is_hostname("a.", 2));
    ck_assert(!h2g_is_hostname(".a", 2));
    ck_assert(!h2g_is_hostname("1.2.3.4", 7));
    char big[300];
    memset(big, 'a', sizeof(big));
    ck_assert(!h2g_is_hostname(big, 64)); /* label > 63 */
    for (int i = 63; i < 300; i += 64)
        big[i] = '.';
    ck_assert(h2g_is_hostname(big, 253));
    ck_assert(!h2g_is_hostname(big, 254));
}
END_TEST

START_TEST(http_url)
{
    struct h2g_hostport hp;
    ck_assert_ptr_null(h2g_parse_http_url("http://127.0.0.1:9000", &hp));
    ck_assert_str_eq(hp.host, "127.0.0.1");
    ck_assert_uint_eq(hp.port, 9000);
    ck_assert_ptr_null(h2g_parse_http_url("http://backend", &hp));
    ck_assert_str_eq(hp.host, "backend");
    ck_assert_uint_eq(hp.port, 80);
    ck_assert_ptr_null(h2g_parse_http_url("http://backend/", &hp));
    ck_assert_uint_eq(hp.port, 80);
    ck_assert_ptr_null(h2g_parse_http_url("HTTP://[::1]:8080/", &hp));
    ck_assert_str_eq(hp.host, "::1");
    ck_assert(hp.is_ipv6);
    ck_assert_uint_eq(hp.port, 8080);

    static const char *const bad[] = {
        "https://backend",  "http://",          "http:///",          "http://user@backend",
        "http://u:p@b:80",  "http://backend/x", "http://backend?q",  "http://backend/?q",
        "http://backend#f", "http://backend:",  "http://backend:0",  "http://*:80",
        "ftp://backend",    "backend:80",       "http:/backend",     "http://::1:80",
        "tcp://backend:80", "http://back end",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(h2g_parse_http_url(bad[i], &hp) != NULL, "accepted '%s'", bad[i]);
    ck_assert_ptr_nonnull(strstr(h2g_parse_http_url("https://x", &hp), "https"));
}
END_TEST

START_TEST(upstream_url)
{
    struct h2g_hostport hp;
    enum h2g_upstream_proto proto;
    bool tls;
    ck_assert_ptr_null(h2g_parse_upstream_url("h2c://127.0.0.1:9000", &hp, &proto, &tls));
    ck_assert(!tls);
    ck_assert_int_eq(proto, H2G_UPSTREAM_H2C);
    ck_assert_str_eq(hp.host, "127.0.0.1");
    ck_assert_uint_eq(hp.port, 9000);
    ck_assert_ptr_null(h2g_parse_upstream_url("H2C://grpc.internal/", &hp, &proto, &tls));
    ck_assert_int_eq(proto, H2G_UPSTREAM_H2C);
    ck_assert_str_eq(hp.host, "grpc.internal");
    ck_assert_uint_eq(hp.port, 80);
    ck_assert_ptr_null(h2g_parse_upstream_url("h2c://[::1]:8080", &hp, &proto, &tls));
    ck_assert(hp.is_ipv6);
    ck_assert_ptr_null(h2g_parse_upstream_url("http://backend:81", &hp, &proto, &tls));
    ck_assert_int_eq(proto, H2G_UPSTREAM_HTTP1);
    ck_assert_uint_eq(hp.port, 81);
    ck_assert(!tls);
    /* TLS: port 443 by default. */
    ck_assert_ptr_null(h2g_parse_upstream_url("https://api.example", &hp, &proto, &tls));
    ck_assert(tls);
    ck_assert_int_eq(proto, H2G_UPSTREAM_HTTP1);
    ck_assert_uint_eq(hp.port, 443);
    ck_assert_ptr_null(h2g_parse_upstream_url("H2://[::1]:8443/", &hp, &proto, &tls));
    ck_assert(tls);
    ck_assert_int_eq(proto, H2G_UPSTREAM_H2C);
    ck_assert_uint_eq(hp.port, 8443);
    static const char *const bad[] = {
        "h2c://", "h2c://u@b", "h2c://b/x", "h2c://b:", "h2c://b:0", "h2c:/b", "h2:/b", "https://b/x", "h2://u@b",
        "tcp://b:1", "ftp://b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(h2g_parse_upstream_url(bad[i], &hp, &proto, &tls) != NULL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(tcp_url)
{
    struct h2g_hostport hp;
    ck_assert_ptr_null(h2g_parse_tcp_url("tcp://127.0.0.1:7000", &hp));
    ck_assert_str_eq(hp.host, "127.0.0.1");
    ck_assert_uint_eq(hp.port, 7000);
    ck_assert_ptr_null(h2g_parse_tcp_url("tcp://[::1]:7000", &hp));
    ck_assert(hp.is_ipv6);
    static const char *const bad[] = {
        "tcp://127.0.0.1", "tcp://host:", "tcp://host:70000", "http://host:80",
        "tcp://host:80/x", "tcp://u@host:80", "tcp://*:80", "tcp://",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(h2g_parse_tcp_url(bad[i], &hp) != NULL, "accepted '%s'", bad[i]);
}
END_TEST

/* Each mistake answers its own name, so the tests see which was found. */
static const struct h2g_authority_words words = {
    .empty = "empty",
    .ctl = "ctl",
    .no_close = "no_close",
    .after_close = "after_close",
    .colons = "colons",
    .missing_port = "missing_port",
    .empty_port = "empty_port",
    .port_chars = "port_chars",
    .port_range = "port_range",
    .empty_host = "empty_host",
};

static const char *authority(const char *s, unsigned flags, struct h2g_authority *a)
{
    return h2g_parse_authority(s, strlen(s), flags, &words, a);
}

START_TEST(authority_ok)
{
    struct h2g_authority a;
    ck_assert_ptr_null(authority("Example.com:8443", H2G_AUTH_PORT_REQUIRED, &a));
    ck_assert_uint_eq(a.host_len, 11);
    ck_assert(memcmp(a.host, "Example.com", 11) == 0); /* located, not copied or lowercased */
    ck_assert(a.has_port && a.port == 8443 && !a.bracketed && !a.any_port);
    ck_assert_ptr_null(authority("[::1]:443", 0, &a));
    ck_assert(a.bracketed && a.host_len == 3 && memcmp(a.host, "::1", 3) == 0 && a.port == 443);
    ck_assert_ptr_null(authority("[::1]", 0, &a));
    ck_assert(a.bracketed && !a.has_port && a.port == 0);
    ck_assert_ptr_null(authority("host", 0, &a));
    ck_assert(!a.has_port && a.host_len == 4);
    ck_assert_ptr_null(authority("h:65535", 0, &a));
    ck_assert_uint_eq(a.port, 65535);
    ck_assert_ptr_null(authority("h:00080", 0, &a)); /* leading zeros, 5 digits at most */
    ck_assert_uint_eq(a.port, 80);
    ck_assert_ptr_null(authority("h:*", H2G_AUTH_ANY_PORT, &a));
    ck_assert(a.any_port && a.has_port && a.port == 0);
    ck_assert_ptr_null(authority("h:0", H2G_AUTH_PORT_ZERO, &a));
    ck_assert(a.has_port && a.port == 0);
    /* The host is only located: what it holds is the caller's to judge. */
    ck_assert_ptr_null(authority("[not-v6]:1", 0, &a));
    ck_assert_ptr_null(authority("*.x_!:1", 0, &a));
    /* Bounded by len. */
    ck_assert_ptr_null(h2g_parse_authority("h:80xyz", 4, 0, &words, &a));
    ck_assert_uint_eq(a.port, 80);
}
END_TEST

START_TEST(authority_bad)
{
    static const struct {
        const char *in;
        unsigned flags;
        const char *err;
    } cases[] = {
        {"", 0, "empty"},
        {"a b:1", 0, "ctl"},
        {"a:1\n", 0, "ctl"},
        {"a\x7f:1", 0, "ctl"},
        {"[::1", 0, "no_close"},
        {"[::1]x", 0, "after_close"},
        {"[::1]80", 0, "after_close"},
        {"::1:80", 0, "colons"},
        {"a:b:1", 0, "colons"},
        {"a", H2G_AUTH_PORT_REQUIRED, "missing_port"},
        {"[::1]", H2G_AUTH_PORT_REQUIRED, "missing_port"},
        {"a:", 0, "empty_port"},
        {"[::1]:", 0, "empty_port"},
        {"a:8x", 0, "port_chars"},
        {"a:-1", 0, "port_chars"},
        {"a:*", 0, "port_chars"},
        {"a:abcdefgh", 0, "port_chars"},
        {"a:0", 0, "port_range"},
        {"a:65536", 0, "port_range"},
        {"a:000080", 0, "port_range"},
        {"a:99999999999999999999999", 0, "port_range"},
        {"a:080", H2G_AUTH_NO_LEADING_ZERO, "port_range"},
        {"a:0", H2G_AUTH_NO_LEADING_ZERO | H2G_AUTH_PORT_ZERO, "port_range"},
        {":80", 0, "empty_host"},
        {"[]:80", 0, "empty_host"},
        /* The order: structure, then the port, then the host. */
        {"a b:x", 0, "ctl"},
        {"[x:y", 0, "no_close"},
        {":x", 0, "port_chars"},
        {"a:b:x", 0, "colons"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct h2g_authority a;
        const char *err = authority(cases[i].in, cases[i].flags, &a);
        ck_assert_msg(err != NULL && strcmp(err, cases[i].err) == 0, "'%s': %s, not %s", cases[i].in,
                      err ? err : "accepted", cases[i].err);
    }
}
END_TEST

/* A NULL word turns its check off. */
START_TEST(authority_checks_off)
{
    struct h2g_authority_words w = words;
    struct h2g_authority a;
    w.ctl = NULL;
    ck_assert_ptr_null(h2g_parse_authority("a b:1", 5, 0, &w, &a));
    ck_assert_uint_eq(a.host_len, 3);
    w.colons = NULL; /* the first ':' splits; the port refuses the rest */
    ck_assert_str_eq(h2g_parse_authority("a:b:1", 5, 0, &w, &a), "port_chars");
    w.empty_host = NULL;
    ck_assert_ptr_null(h2g_parse_authority(":1", 2, 0, &w, &a));
    ck_assert(a.host_len == 0 && a.port == 1);
}
END_TEST

START_TEST(ms_timeval)
{
    struct timeval tv = h2g_ms_timeval(0);
    ck_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
    tv = h2g_ms_timeval(999);
    ck_assert(tv.tv_sec == 0 && tv.tv_usec == 999000);
    tv = h2g_ms_timeval(86400001);
    ck_assert(tv.tv_sec == 86400 && tv.tv_usec == 1000);
}
END_TEST

Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, size_ok);
    tcase_add_test(tc, size_bad);
    tcase_add_test(tc, duration_ok);
    tcase_add_test(tc, duration_bad);
    tcase_add_test(tc, hostport_ok);
    tcase_add_test(tc, hostport_bad);
    tcase_add_test(tc, hostname);
    tcase_add_test(tc, http_url);
    tcase_add_test(tc, upstream_url);
    tcase_add_test(tc, tcp_url);
    tcase_add_test(tc, authority_ok);
    tcase_add_test(tc, authority_bad);
    tcase_add_test(tc, authority_checks_off);
    tcase_add_test(tc, ms_timeval);
    suite_add_tcase(s, tc);
    return s;
}
