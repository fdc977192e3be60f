/* Tests for src/core/ticket_keys.c: the text of TLS session-ticket keys,
 * and listen[].tls.ticket_keys in the loader. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_load.h"
#include "core/ticket_keys.h"
#include "suites.h"

/* The base64 of 80 bytes (not decoded here: the parser only checks). */
#define K1 "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVY="
#define K2 "Dg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF0="

static const char *parse(const char *text, struct h2g_ticket_keys_text *out, unsigned *line)
{
    return h2g_ticket_keys_parse(text, strlen(text), out, line);
}

START_TEST(good)
{
    struct h2g_ticket_keys_text kt;
    unsigned line = 99;
    ck_assert_ptr_null(parse(K1, &kt, &line)); /* no final LF */
    ck_assert_uint_eq(kt.n, 1);
    ck_assert_uint_eq(kt.keys[0].line, 1);
    ck_assert_str_eq(kt.keys[0].b64, K1);
    ck_assert_uint_eq(line, 0);

    /* Comments, blank lines, blanks around a key, CRLF; order kept. */
    ck_assert_ptr_null(parse("# keys\n\n \t" K1 " \r\n   # old\r\n\r\n" K2 "\n", &kt, &line));
    ck_assert_uint_eq(kt.n, 2);
    ck_assert_uint_eq(kt.keys[0].line, 3);
    ck_assert_str_eq(kt.keys[0].b64, K1);
    ck_assert_uint_eq(kt.keys[1].line, 6);
    ck_assert_str_eq(kt.keys[1].b64, K2);

    /* As many keys as allowed. */
    char text[H2G_TICKET_KEYS_MAX * (H2G_TICKET_KEY_B64_LEN + 1) + 1] = "";
    for (int i = 0; i < H2G_TICKET_KEYS_MAX; i++)
        strcat(strcat(text, i % 2 ? K2 : K1), "\n");
    ck_assert_ptr_null(parse(text, &kt, &line));
    ck_assert_uint_eq(kt.n, H2G_TICKET_KEYS_MAX);
    ck_assert_str_eq(kt.keys[H2G_TICKET_KEYS_MAX - 1].b64, K2);
}
END_TEST

/* text must fail on `want_line` with a message containing `want`. */
static void bad(const char *text, size_t len, unsigned want_line, const char *want)
{
    struct h2g_ticket_keys_text kt;
    unsigned line = 99;
    const char *err = h2g_ticket_keys_parse(text, len, &kt, &line);
    ck_assert_msg(err != NULL, "accepted: %s", text);
    ck_assert_msg(strstr(err, want) != NULL, "'%s' does not contain '%s'", err, want);
    ck_assert_uint_eq(line, want_line);
}

START_TEST(errors)
{
    bad("", 0, 0, "no key");
    bad("# only a comment\n\n", 18, 0, "no key");
    bad("# short\n" K1 "\nQUJD\n", strlen("# short\n" K1 "\nQUJD\n"), 3, "108 characters");
    /* 108 characters without the '=' of 80 bytes. */
    bad(K1 "A", strlen(K1 "A"), 1, "'=' before the end");
    const char *long_key = "A" K1;
    bad(long_key, strlen(long_key), 1, "108 characters");
    char no_pad[] = K1;
    no_pad[107] = 'A';
    bad(no_pad, strlen(no_pad), 1, "ending in one '='");
    char bad_char[] = K1;
    bad_char[10] = '-';
    bad(bad_char, strlen(bad_char), 1, "not a base64 character");
    char inner_space[] = "# x\n" K1;
    inner_space[4 + 50] = ' ';
    bad(inner_space, strlen(inner_space), 2, "not a base64 character");
    bad("# a\0b\n" K1, 6 + strlen(K1), 0, "NUL");
    /* Too many keys: the 17th line is at fault. */
    char text[(H2G_TICKET_KEYS_MAX + 1) * (H2G_TICKET_KEY_B64_LEN + 1) + 1] = "";
    for (int i = 0; i <= H2G_TICKET_KEYS_MAX; i++)
        strcat(strcat(text, K1), "\n");
    bad(text, strlen(text), H2G_TICKET_KEYS_MAX + 1, "more than 16 keys");
    /* Too large, whatever it holds. */
    size_t big = H2G_TICKET_KEYS_FILE_MAX + 1;
    char *b = malloc(big);
    ck_assert_ptr_nonnull(b);
    memset(b, '#', big);
    bad(b, big, 0, "larger than 64 KiB");
    free(b);
}
END_TEST

/* The loader reads the file at load: keys in order, the path absolute. */
START_TEST(config_key)
{
    struct h2g_config_errors errs;
    const char *text = "listen:\n"
                       "  - address: \"127.0.0.1:8443\"\n"
                       "    tls: {certificate: cert.pem, key: key.pem, ticket_keys: ticket-keys-good.txt}\n"
                       "  - address: \"127.0.0.1:8444\"\n"
                       "    tls: {certificate: cert.pem, key: key.pem, ticket_keys: \"\"}\n"
                       "  - address: \"127.0.0.1:8445\"\n"
                       "    tls: {certificate: cert.pem, key: key.pem}\n"
                       "connect:\n";
    struct h2g_config *c = h2g_config_load_string("test.yaml", FIXTURES, text, strlen(text), &errs);
    ck_assert_msg(c != NULL, "%s", errs.n ? errs.msgs[0] : "-");
    ck_assert_str_eq(c->listen[0].tls->ticket_keys, FIXTURES "/ticket-keys-good.txt");
    ck_assert_ptr_nonnull(c->listen[0].tls->ticket_keys_text);
    ck_assert_uint_eq(c->listen[0].tls->ticket_keys_text->n, 2);
    ck_assert_str_eq(c->listen[0].tls->ticket_keys_text->keys[0].b64, K1);
    ck_assert_str_eq(c->listen[0].tls->ticket_keys_text->keys[1].b64, K2);
    ck_assert_uint_eq(c->listen[0].tls->ticket_keys_text->keys[1].line, 5);
    for (size_t i = 1; i < 3; i++) {
        ck_assert_ptr_null(c->listen[i].tls->ticket_keys);
        ck_assert_ptr_null(c->listen[i].tls->ticket_keys_text);
    }
    h2g_config_unref(c);
}
END_TEST

START_TEST(config_memcached)
{
    struct h2g_config_errors errs;
    const char *text = "listen:\n"
                       "  - address: \"127.0.0.1:8443\"\n"
                       "    tls: {certificate: cert.pem, key: key.pem, ticket_keys_memcached: \"127.0.0.1:11211\",\n"
                       "          ticket_keys: \"\"}\n"
                       "connect:\n";
    struct h2g_config *c = h2g_config_load_string("test.yaml", FIXTURES, text, strlen(text), &errs);
    ck_assert_msg(c != NULL, "%s", errs.n ? errs.msgs[0] : "-");
    ck_assert_str_eq(c->listen[0].tls->ticket_keys_memcached, "127.0.0.1:11211");
    ck_assert_str_eq(c->listen[0].tls->ticket_keys_memcached_addr.host, "127.0.0.1");
    ck_assert_uint_eq(c->listen[0].tls->ticket_keys_memcached_addr.port, 11211);
    ck_assert_ptr_null(c->listen[0].tls->ticket_keys);
    h2g_config_unref(c);
}
END_TEST

Suite *ticket_keys_suite(void)
{
    Suite *s = suite_create("ticket_keys");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, good);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, config_key);
    tcase_add_test(tc, config_memcached);
    suite_add_tcase(s, tc);
    return s;
}
