/* Tests for src/core/acl.c: patterns, target normalisation, allow/deny. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/acl.h"
#include "suites.h"

/* Builds an ACL from a NULL-terminated list of patterns (all must parse). */
static void acl_build(struct h2g_acl *acl, const char *const *patterns)
{
    size_t n = 0;
    while (patterns[n] != NULL)
        n++;
    acl->rules = calloc(n ? n : 1, sizeof(*acl->rules));
    ck_assert_ptr_nonnull(acl->rules);
    acl->n_rules = 0;
    for (size_t i = 0; i < n; i++) {
        const char *err = h2g_acl_rule_parse(patterns[i], &acl->rules[i]);
        ck_assert_msg(err == NULL, "%s: %s", patterns[i], err);
        acl->n_rules++;
    }
}

static struct h2g_acl_target target(const char *authority)
{
    struct h2g_acl_target t;
    const char *err = h2g_acl_target_parse(authority, strlen(authority), &t);
    ck_assert_msg(err == NULL, "%s: %s", authority, err);
    return t;
}

/* Verdict for `authority` under allow/deny lists. */
static enum h2g_acl_verdict verdict(const char *const *allow, const char *const *deny,
                                    const char *authority)
{
    struct h2g_acl a, d;
    acl_build(&a, allow);
    acl_build(&d, deny);
    struct h2g_acl_target t = target(authority);
    enum h2g_acl_verdict v = h2g_acl_check(&a, &d, &t);
    h2g_acl_clear(&a);
    h2g_acl_clear(&d);
    return v;
}

START_TEST(pattern_kinds)
{
    struct h2g_acl_rule r;
    ck_assert_ptr_null(h2g_acl_rule_parse("Example.COM.:443", &r));
    ck_assert_int_eq(r.kind, H2G_ACL_NAME);
    ck_assert_str_eq(r.name, "example.com");
    ck_assert(!r.any_port);
    ck_assert_uint_eq(r.port, 443);
    ck_assert_str_eq(r.text, "Example.COM.:443");
    h2g_acl_rule_clear(&r);
    ck_assert_ptr_null(r.name);
    h2g_acl_rule_clear(&r); /* twice is harmless */

    ck_assert_ptr_null(h2g_acl_rule_parse("*.example.com:*", &r));
    ck_assert_int_eq(r.kind, H2G_ACL_SUFFIX);
    ck_assert_str_eq(r.name, ".example.com");
    ck_assert(r.any_port);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("*:*", &r));
    ck_assert_int_eq(r.kind, H2G_ACL_ANY);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("10.0.0.0/8:22", &r));
    ck_assert_int_eq(r.kind, H2G_ACL_CIDR);
    ck_assert_int_eq(r.family, AF_INET);
    ck_assert_uint_eq(r.prefix, 8);
    ck_assert_uint_eq(r.addr[0], 10);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("192.0.2.7:80", &r));
    ck_assert_int_eq(r.kind, H2G_ACL_CIDR);
    ck_assert_uint_eq(r.prefix, 32);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("[fd00::/8]:*", &r));
    ck_assert_int_eq(r.family, AF_INET6);
    ck_assert_uint_eq(r.prefix, 8);
    ck_assert_uint_eq(r.addr[0], 0xfd);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("[::1]:443", &r));
    ck_assert_int_eq(r.family, AF_INET6);
    ck_assert_uint_eq(r.prefix, 128);
    h2g_acl_rule_clear(&r);

    /* A rule in the IPv4-mapped range is kept as IPv4, like targets. */
    ck_assert_ptr_null(h2g_acl_rule_parse("[::ffff:10.0.0.0/104]:*", &r));
    ck_assert_int_eq(r.family, AF_INET);
    ck_assert_uint_eq(r.prefix, 8);
    ck_assert_uint_eq(r.addr[0], 10);
    h2g_acl_rule_clear(&r);

    ck_assert_ptr_null(h2g_acl_rule_parse("0.0.0.0/0:*", &r));
    ck_assert_uint_eq(r.prefix, 0);
    h2g_acl_rule_clear(&r);
}
END_TEST

START_TEST(pattern_bad)
{
    static const char *const bad[] = {
        "",
        "example.com",        /* no port */
        "example.com:",       /* empty port */
        ":443",               /* empty host */
        "example.com:0",
        "example.com:65536",
        "example.com:http",
        "example.com:4 43",
        "exa mple.com:443",
        "ex\tample.com:443",
        "::1:443",            /* IPv6 without brackets */
        "[::1]",              /* no port */
        "[::1]443",
        "[::1:443",
        "[10.0.0.1]:443",     /* IPv4 inside brackets */
        "[fd00::/129]:*",
        "[fd00::1/8]:*",      /* bits beyond the prefix */
        "10.0.0.0/33:*",
        "10.0.0.1/8:*",
        "10.0.0.0/:*",
        "10.0.0.0/x:*",
        "256.0.0.1:80",
        "2130706433:80",      /* inet_aton spelling: write dotted quads */
        "0x7f.1:80",
        "127.1:80",
        "*.:80",
        "*.*.example.com:80",
        "foo*.example.com:80",
        "a..b:80",
        "under/score:80",
        "example.com/8:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_acl_rule r;
        ck_assert_msg(h2g_acl_rule_parse(bad[i], &r) != NULL, "accepted '%s'", bad[i]);
        ck_assert_ptr_null(r.name);
        ck_assert_ptr_null(r.text);
    }
}
END_TEST

static void assert_v4(const char *authority, const unsigned char a, unsigned char b,
                      unsigned char c, unsigned char d, unsigned port)
{
    struct h2g_acl_target t = target(authority);
    ck_assert_msg(t.is_addr, "%s not an address", authority);
    ck_assert_int_eq(t.family, AF_INET);
    ck_assert_msg(t.addr[0] == a && t.addr[1] == b && t.addr[2] == c && t.addr[3] == d,
                  "%s -> %u.%u.%u.%u", authority, t.addr[0], t.addr[1], t.addr[2], t.addr[3]);
    ck_assert_uint_eq(t.port, port);
}

START_TEST(target_normalise)
{
    assert_v4("127.0.0.1:22", 127, 0, 0, 1, 22);
    assert_v4("2130706433:22", 127, 0, 0, 1, 22);
    assert_v4("0x7f.1:22", 127, 0, 0, 1, 22);
    assert_v4("0X7F.0.0.1:22", 127, 0, 0, 1, 22);
    assert_v4("127.1:22", 127, 0, 0, 1, 22);
    assert_v4("127.0.1:22", 127, 0, 0, 1, 22);
    assert_v4("0177.0.0.1:22", 127, 0, 0, 1, 22);
    assert_v4("017700000001:22", 127, 0, 0, 1, 22);
    assert_v4("0x7f000001:22", 127, 0, 0, 1, 22);
    assert_v4("127.0.0.1.:22", 127, 0, 0, 1, 22);
    assert_v4("[::ffff:127.0.0.1]:22", 127, 0, 0, 1, 22);
    assert_v4("[::FFFF:7f00:1]:443", 127, 0, 0, 1, 443);
    assert_v4("0:1", 0, 0, 0, 0, 1);
    assert_v4("4294967295:1", 255, 255, 255, 255, 1);

    struct h2g_acl_target t = target("[::1]:443");
    ck_assert(t.is_addr);
    ck_assert_int_eq(t.family, AF_INET6);
    ck_assert_uint_eq(t.addr[15], 1);

    t = target("LocalHost.:80");
    ck_assert(!t.is_addr);
    ck_assert_str_eq(t.name, "localhost");
    ck_assert_uint_eq(t.port, 80);

    t = target("Example.COM:443");
    ck_assert_str_eq(t.name, "example.com");

    /* Not a target that parses with a length shorter than the string. */
    ck_assert_ptr_null(h2g_acl_target_parse("a.example:443junk", 13, &t));
    ck_assert_str_eq(t.name, "a.example");
}
END_TEST

START_TEST(target_bad)
{
    static const char *const bad[] = {
        "",
        ":443",
        "example.com",
        "example.com:",
        "example.com:0",
        "example.com:65536",
        "example.com:*",
        "example.com:+80",
        "exa mple.com:443",
        "example.com :443",
        "example.com\r:443",
        "example.com\x7f:443",
        "localhost..:80",
        ".:80",
        "a..b:80",
        "::1:443",
        "[::1]",
        "[::1]x443",
        "[]:443",
        "[fe80::1%eth0]:443",
        "[127.0.0.1]:443",
        "4294967296:1",       /* too big for inet_aton: then not a name either */
        "256.0.0.1:80",
        "08.0.0.1:80",
        "1.2.3.4.5:80",
        "user@host:80",
        "host/x:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct h2g_acl_target t;
        ck_assert_msg(h2g_acl_target_parse(bad[i], strlen(bad[i]), &t) != NULL, "accepted '%s'",
                      bad[i]);
    }
    /* An embedded NUL must not cut the authority short. */
    struct h2g_acl_target t;
    ck_assert_ptr_nonnull(h2g_acl_target_parse("evil\0.example:443", 17, &t));
}
END_TEST

START_TEST(check_cidr)
{
    static const char *const allow[] = {"10.0.0.0/8:*", "[fd00::/8]:443", "192.0.2.1:22",
                                        "172.16.0.0/12:80", NULL};
    static const char *const none[] = {NULL};
    ck_assert_int_eq(verdict(allow, none, "10.1.2.3:5"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "012.1:5"), H2G_ACL_ALLOW); /* octal 10 */
    ck_assert_int_eq(verdict(allow, none, "11.0.0.1:5"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "[fd12::1]:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "[fd12::1]:444"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "[fe00::1]:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "192.0.2.1:22"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "192.0.2.2:22"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "172.31.255.255:80"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "172.32.0.0:80"), H2G_ACL_DENY);
    /* IPv4-mapped spelling of an allowed IPv4 address is that address. */
    ck_assert_int_eq(verdict(allow, none, "[::ffff:10.9.9.9]:1"), H2G_ACL_ALLOW);
    /* CIDR rules never match names, even numeric-looking ones. */
    ck_assert_int_eq(verdict(allow, none, "ten.example:80"), H2G_ACL_DENY);
}
END_TEST

START_TEST(check_names)
{
    static const char *const allow[] = {"example.com:443", "*.example.org:*", NULL};
    static const char *const none[] = {NULL};
    ck_assert_int_eq(verdict(allow, none, "example.com:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "EXAMPLE.com.:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "example.com:80"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "www.example.com:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "a.example.org:1"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "a.b.example.org:1"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "example.org:1"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "badexample.org:1"), H2G_ACL_DENY);
    /* Name rules never match address targets. */
    static const char *const local[] = {"localhost:*", NULL};
    ck_assert_int_eq(verdict(local, none, "localhost.:22"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(local, none, "127.0.0.1:22"), H2G_ACL_DENY);
}
END_TEST

START_TEST(check_deny_first)
{
    static const char *const allow[] = {"*:*", NULL};
    static const char *const deny[] = {"127.0.0.0/8:*", "[::1]:*", "localhost:*", "10.0.0.0/8:22",
                                       NULL};
    ck_assert_int_eq(verdict(allow, deny, "example.com:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, deny, "192.0.2.1:22"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, deny, "127.0.0.1:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "2130706433:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "0x7f.1:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "0177.0.0.1:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "127.1:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "[::ffff:127.0.0.1]:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "[::1]:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "localhost:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "LOCALHOST.:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "10.0.0.1:22"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "10.0.0.1:23"), H2G_ACL_ALLOW);
}
END_TEST

START_TEST(check_empty)
{
    static const char *const none[] = {NULL};
    static const char *const deny[] = {"*:*", NULL};
    static const char *const allow[] = {"*:443", NULL};
    ck_assert_int_eq(verdict(none, none, "example.com:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(none, none, "1.2.3.4:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, deny, "example.com:443"), H2G_ACL_DENY);
    ck_assert_int_eq(verdict(allow, none, "example.com:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "[2001:db8::1]:443"), H2G_ACL_ALLOW);
    ck_assert_int_eq(verdict(allow, none, "example.com:80"), H2G_ACL_DENY);

    /* NULL lists are empty lists. */
    struct h2g_acl_target t = target("example.com:443");
    ck_assert_int_eq(h2g_acl_check(NULL, NULL, &t), H2G_ACL_DENY);
    struct h2g_acl empty = {0};
    h2g_acl_clear(&empty);
    h2g_acl_clear(NULL);
}
END_TEST

Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("acl");
    tcase_add_test(tc, pattern_kinds);
    tcase_add_test(tc, pattern_bad);
    tcase_add_test(tc, target_normalise);
    tcase_add_test(tc, target_bad);
    tcase_add_test(tc, check_cidr);
    tcase_add_test(tc, check_names);
    tcase_add_test(tc, check_deny_first);
    tcase_add_test(tc, check_empty);
    suite_add_tcase(s, tc);
    return s;
}
