/* Tests for src/core/route_labels.c: the per-route metrics' label pairs
 * and slots across loads and reloads. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_load.h"
#include "core/route_labels.h"
#include "suites.h"

#define ORIGINS(a, b)                                                                                    \
    "listen: [{address: \"127.0.0.1:8080\"}]\n"                                                          \
    "origins:\n"                                                                                         \
    "  - hosts: [\"a.test\", \"*.a.test\"]\n"                                                            \
    "    routes:\n"                                                                                      \
    "      - {path: /, upstream: \"http://127.0.0.1:9000\"}\n"                                           \
    "      - {path: " a ", upstream: \"http://127.0.0.1:9001\"}\n"                                       \
    "  - hosts: [\"b.test\"]\n"                                                                          \
    "    routes:\n"                                                                                      \
    "      - {path: " b ", upstream: \"http://127.0.0.1:9002\"}\n"

static struct h2g_config *load(const char *text)
{
    struct h2g_config_errors errs;
    struct h2g_config *c = h2g_config_load_string("test.yaml", "/", text, strlen(text), &errs);
    ck_assert_msg(c != NULL, "config: %s", errs.n ? errs.msgs[0] : "?");
    return c;
}

/* The slot of origin o's route with path `path`. */
static unsigned slot(const struct h2g_config *c, size_t o, const char *path)
{
    for (size_t j = 0; j < c->origins[o].n_routes; j++)
        if (strcmp(c->origins[o].routes[j].path, path) == 0)
            return c->origins[o].routes[j].stats_slot;
    ck_abort_msg("no route %s", path);
    return 0;
}

START_TEST(pseudo_pairs_first)
{
    struct h2g_route_labels l;
    ck_assert_int_eq(h2g_route_labels_init(&l), 0);
    ck_assert_uint_eq(l.n, H2G_SLOT_FIRST);
    ck_assert_str_eq(l.v[H2G_SLOT_NONE].origin, "(none)");
    ck_assert_str_eq(l.v[H2G_SLOT_CONNECT].route, "(connect)");
    ck_assert_str_eq(l.v[H2G_SLOT_OTHER].origin, "(other)");
    h2g_route_labels_free(&l);
}
END_TEST

START_TEST(slots_survive_reload)
{
    struct h2g_route_labels l;
    ck_assert_int_eq(h2g_route_labels_init(&l), 0);
    struct h2g_config *c1 = load(ORIGINS("/api", "/"));
    ck_assert_uint_eq(h2g_route_labels_assign(&l, c1), H2G_SLOT_FIRST + 3);
    unsigned a_root = slot(c1, 0, "/"), a_api = slot(c1, 0, "/api"), b_root = slot(c1, 1, "/");
    ck_assert_uint_ge(a_root, H2G_SLOT_FIRST);
    ck_assert_uint_ne(a_root, a_api);
    /* the same path under another origin is another pair */
    ck_assert_uint_ne(a_root, b_root);
    ck_assert_str_eq(l.v[a_api].origin, "a.test"); /* the first host names the origin */
    ck_assert_str_eq(l.v[a_api].route, "/api");
    /* reload: /api goes, /v2 comes; kept routes keep their slots, the
     * removed pair keeps its slot (not reused) */
    struct h2g_config *c2 = load(ORIGINS("/v2", "/"));
    ck_assert_uint_eq(h2g_route_labels_assign(&l, c2), H2G_SLOT_FIRST + 4);
    ck_assert_uint_eq(slot(c2, 0, "/"), a_root);
    ck_assert_uint_eq(slot(c2, 1, "/"), b_root);
    ck_assert_uint_eq(slot(c2, 0, "/v2"), H2G_SLOT_FIRST + 3);
    /* the same file again: nothing new */
    struct h2g_config *c3 = load(ORIGINS("/api", "/"));
    ck_assert_uint_eq(h2g_route_labels_assign(&l, c3), H2G_SLOT_FIRST + 4);
    ck_assert_uint_eq(slot(c3, 0, "/api"), a_api);
    h2g_config_unref(c1);
    h2g_config_unref(c2);
    h2g_config_unref(c3);
    h2g_route_labels_free(&l);
}
END_TEST

/* Past the cap every new pair shares "(other)"; known pairs keep theirs. */
START_TEST(capped)
{
    struct h2g_route_labels l;
    ck_assert_int_eq(h2g_route_labels_init(&l), 0);
    struct h2g_config *c = load(ORIGINS("/api", "/"));
    h2g_route_labels_assign(&l, c);
    unsigned a_api = slot(c, 0, "/api");
    char path[32];
    struct h2g_config *big = load(ORIGINS("/x", "/"));
    for (unsigned i = 0; l.n < H2G_ROUTE_SLOTS; i++) {
        snprintf(path, sizeof(path), "/fill%u", i);
        free(big->origins[1].routes[0].path);
        big->origins[1].routes[0].path = strdup(path);
        h2g_route_labels_assign(&l, big);
    }
    ck_assert_uint_eq(l.n, H2G_ROUTE_SLOTS);
    struct h2g_config *more = load(ORIGINS("/new", "/"));
    ck_assert_uint_eq(h2g_route_labels_assign(&l, more), H2G_ROUTE_SLOTS);
    ck_assert_uint_eq(slot(more, 0, "/new"), H2G_SLOT_OTHER);
    ck_assert_uint_eq(slot(more, 0, "/"), slot(c, 0, "/"));
    c->origins[0].routes[0].stats_slot = c->origins[0].routes[1].stats_slot = 0;
    h2g_route_labels_assign(&l, c);
    ck_assert_uint_eq(slot(c, 0, "/api"), a_api);
    h2g_config_unref(c);
    h2g_config_unref(big);
    h2g_config_unref(more);
    h2g_route_labels_free(&l);
}
END_TEST

Suite *route_labels_suite(void)
{
    Suite *s = suite_create("route_labels");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pseudo_pairs_first);
    tcase_add_test(tc, slots_survive_reload);
    tcase_add_test(tc, capped);
    suite_add_tcase(s, tc);
    return s;
}
