/*
 * Replays the fuzz inputs through the harnesses (the fuzz/ sources, compiled here
 * by the build's compiler, without libFuzzer): the seed corpora
 * (fuzz/corpus/NAME/) and every input a fuzzer once crashed on
 * (fuzz/regress/NAME/), so that `make check` catches a regression on a
 * machine without clang, and the ASan build of tools/check catches memory
 * errors on them.  A harness abort()s on a broken property: the test
 * fails by signal, and the input being replayed is printed first.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "suites.h"

static const struct {
    const char *name;
    int (*fn)(const uint8_t *data, size_t size);
} harnesses[] = {
    {"h1_request", fuzz_h1_request}, {"h1_response", fuzz_h1_response}, {"config", fuzz_config},
    {"parsers", fuzz_parsers},       {"path", fuzz_path},               {"h2_to_h1", fuzz_h2_to_h1},
    {"proxy_proto", fuzz_proxy_proto},
    {"tls_record", fuzz_tls_record},
};
#define N_HARNESSES (sizeof(harnesses) / sizeof(harnesses[0]))

/* The input being replayed, for the abort handler. */
static char current[1024];

static void on_abort(int sig)
{
    static const char msg[] = "check_fuzz: the input that failed: ";
    if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
        _exit(134);
    signal(sig, SIG_DFL);
    raise(sig);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    *len = n;
    return b;
}

/* Runs every file of dir through fn; how many there were (0 when the
 * directory does not exist). */
static size_t replay(const char *dir, int (*fn)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(current, sizeof(current), "%s/%s", dir, e->d_name);
        size_t len;
        unsigned char *data = read_file(current, &len);
        ck_assert_int_eq(fn(data, len), 0);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

START_TEST(test_replay)
{
    char dir[512];
    signal(SIGABRT, on_abort);
    snprintf(dir, sizeof(dir), "%s/corpus/%s", FUZZ_DIR, harnesses[_i].name);
    size_t seeds = replay(dir, harnesses[_i].fn);
    ck_assert_msg(seeds > 0, "no seed in %s", dir);
    snprintf(dir, sizeof(dir), "%s/regress/%s", FUZZ_DIR, harnesses[_i].name);
    replay(dir, harnesses[_i].fn);
    signal(SIGABRT, SIG_DFL);
}
END_TEST

/* The empty input and one byte go through every harness too (their
 * prefixes and selectors run short). */
START_TEST(test_short_inputs)
{
    static const uint8_t bytes[] = {0, 1, 0xff};
    for (size_t h = 0; h < N_HARNESSES; h++) {
        ck_assert_int_eq(harnesses[h].fn(bytes, 0), 0);
        for (size_t i = 0; i < sizeof(bytes); i++)
            ck_assert_int_eq(harnesses[h].fn(bytes + i, 1), 0);
    }
}
END_TEST

Suite *fuzz_suite(void)
{
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("replay");
    /* The sanitizer build is slower; the corpora are small. */
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_replay, 0, N_HARNESSES);
    tcase_add_test(tc, test_short_inputs);
    suite_add_tcase(s, tc);
    return s;
}
