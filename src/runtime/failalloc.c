/*
 * failalloc.c: the counting allocator of the --enable-alloc-fail build
 * (failalloc.h says what it covers and how it is armed).
 */
#include "runtime/failalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

/* The allocator proper, below the wrapping (ASan's when it is linked). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/*
 * Shared by every thread, hence atomics; relaxed is enough, as a sweep
 * arms only while the daemon is idle.  `count` restarts at each arming,
 * `fail_at` 0 means count only.
 */
static uint64_t count, fail_at, armed_at, fail_run = 1, failed, first_failed, held;
static __thread int holding;
static int trace; /* H2G_FAIL_ALLOC_TRACE=1: a stack trace of each failed allocation (sanitizer builds) */

static void print_stack(void)
{
#ifdef __SANITIZE_ADDRESS__
    if (trace)
        __sanitizer_print_stack_trace();
#endif
}

static int should_fail(void)
{
    uint64_t n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    uint64_t at = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);
    if (at == 0 || n < at || n - at >= __atomic_load_n(&fail_run, __ATOMIC_RELAXED))
        return 0;
    if (holding) {
        __atomic_add_fetch(&held, 1, __ATOMIC_RELAXED);
        return 0;
    }
    if (__atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED) == 0)
        __atomic_store_n(&first_failed, n, __ATOMIC_RELAXED);
    print_stack();
    errno = ENOMEM; /* as malloc says it */
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    /* realloc(p, 0) frees: it is not an allocation that can fail. */
    if (n == 0 && p != NULL)
        return __real_realloc(p, n);
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    return __wrap_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    return __wrap_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    free(p);
}

/* One line to stderr, written at once and without allocating: the
 * numbers since the last arming, then what comes next. */
static void report(const char *next)
{
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "failalloc: counted %llu, failed %llu (first #%llu), held %llu while armed at %llu run %llu; %s\n",
                     (unsigned long long)__atomic_load_n(&count, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&failed, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&first_failed, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&held, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&armed_at, __ATOMIC_RELAXED),
                     (unsigned long long)__atomic_load_n(&fail_run, __ATOMIC_RELAXED), next);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        (void)w;
    }
}

/* Disarmed while the numbers restart, so no allocation of another thread
 * fails by an old count. */
static void arm(uint64_t at, uint64_t run)
{
    __atomic_store_n(&fail_at, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&failed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&first_failed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&held, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_run, run ? run : 1, __ATOMIC_RELAXED);
    __atomic_store_n(&armed_at, at, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_at, at, __ATOMIC_SEQ_CST);
}

static void report_at_exit(void)
{
    __atomic_store_n(&fail_at, 0, __ATOMIC_SEQ_CST);
    report("exit");
}

void failalloc_init(void)
{
    /* Each library refuses a new allocator once it has allocated with
     * the old one: a sweep would then miss its allocations silently. */
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
        fprintf(stderr, "failalloc: OpenSSL allocated before main\n");
        exit(70);
    }
    /* jansson's allocator is jsonmem.c's, which calls malloc: wrapped. */
    event_set_mem_functions(__wrap_malloc, __wrap_realloc, free);
    trace = getenv("H2G_FAIL_ALLOC_TRACE") != NULL;
    const char *at = getenv("H2G_FAIL_ALLOC_AT");
    const char *run = getenv("H2G_FAIL_ALLOC_RUN");
    if (at != NULL)
        arm(strtoull(at, NULL, 10), run != NULL ? strtoull(run, NULL, 10) : 1);
    if (at != NULL || getenv("H2G_FAIL_ALLOC_FILE") != NULL)
        atexit(report_at_exit);
}

void failalloc_rearm(void)
{
    const char *path = getenv("H2G_FAIL_ALLOC_FILE");
    char buf[64] = "";
    int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    char *end;
    uint64_t at = strtoull(buf, &end, 10);
    uint64_t run = strtoull(end, NULL, 10);
    __atomic_store_n(&fail_at, 0, __ATOMIC_SEQ_CST);
    char next[64];
    snprintf(next, sizeof(next), "armed at %llu run %llu", (unsigned long long)at,
             (unsigned long long)(run ? run : 1));
    report(next);
    arm(at, run);
}

void failalloc_hold(void)
{
    holding++;
}

void failalloc_release(void)
{
    holding--;
}
