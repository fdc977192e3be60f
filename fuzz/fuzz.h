/*
 * fuzz.h: what the fuzz harnesses share.
 *
 * Each harness is one function that takes an input and drives one part
 * of the pure core with it, the way the daemon does, then asserts what
 * must hold whatever the bytes were.  The same functions are built two
 * ways:
 *  - by tools/fuzz with clang -fsanitize=fuzzer (H2G_FUZZ_LIBFUZZER
 *    defined), where H2G_FUZZ_TARGET gives each its LLVMFuzzerTestOneInput;
 *  - into the unit test runner (tests/unit/check_fuzz.c), which replays
 *    the committed seed corpora and crash inputs through them, so that
 *    `make check` (gcc, no libFuzzer) fails on a regression too.
 * A failed property is abort(): libFuzzer saves the input, Check reports
 * the test as failed (assert() would vanish under NDEBUG).
 */
#ifndef H2G_FUZZ_H
#define H2G_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#ifdef H2G_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define H2G_FUZZ_TARGET(fn)                                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                \
    {                                                                                           \
        return fn(data, size);                                                                  \
    }
#else
#define H2G_FUZZ_TARGET(fn)
#endif

/* The harnesses (fuzz/<name>.c), each 0 for any input (libFuzzer's
 * convention) or abort() on a broken property. */
int fuzz_h1_request(const uint8_t *data, size_t size);
int fuzz_h1_response(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_parsers(const uint8_t *data, size_t size);
int fuzz_path(const uint8_t *data, size_t size);
int fuzz_h2_to_h1(const uint8_t *data, size_t size);
int fuzz_proxy_proto(const uint8_t *data, size_t size);
/* Links libevent and OpenSSL (src/edge/tls_record.c). */
int fuzz_tls_record(const uint8_t *data, size_t size);
/* Links the daemon's glue and libevent too: built by tools/fuzz only. */
int fuzz_h2_session(const uint8_t *data, size_t size);

/* A copy of p[0..n) in a heap block of exactly n bytes (plus a NUL when
 * nul is set, outside the n): a read past the end is an ASan report, not
 * a silent read of the fuzzer's buffer (malloc(0) too gives a block of
 * its own, which nothing may read).  Never NULL (abort()). */
static inline char *fuzz_dup(const void *p, size_t n, int nul)
{
    char *d = malloc(n + (nul ? 1 : 0));
    if (d == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        d[i] = ((const char *)p)[i];
    if (nul)
        d[n] = '\0';
    return d;
}

#endif
