#include "runtime/log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int h2g_log_level = H2G_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void h2g_log_set_level(enum h2g_log_level l)
{
    __atomic_store_n(&h2g_log_level, (int)l, __ATOMIC_RELAXED);
}

static void libevent_log_cb(int severity, const char *msg)
{
    enum h2g_log_level l = severity >= EVENT_LOG_ERR    ? H2G_LOG_ERROR
                           : severity >= EVENT_LOG_WARN ? H2G_LOG_WARN
                                                        : H2G_LOG_DEBUG;
    LOG(l, "libevent: %s", msg);
}

void h2g_log_init(void)
{
    event_set_log_callback(libevent_log_cb);
}

void h2g_log_write(enum h2g_log_level l, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ [%s] ", ts.tv_nsec / 1000000,
                          level_names[l]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line so lines from several workers never interleave. */
    ssize_t r = write(STDERR_FILENO, line, n);
    (void)r;
}

uint64_t h2g_mono_ms(void)
{
    /* The coarse clock is read without a syscall and without touching the
     * hardware counter (a few ns): it moves once per tick (1-4 ms), which
     * is plenty for timeouts of a second or more. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t h2g_mono_ms_step(void)
{
    static _Atomic uint64_t step; /* the same value whoever computes it */
    uint64_t v = atomic_load_explicit(&step, memory_order_relaxed);
    if (v == 0) {
        struct timespec res;
        v = clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0
                ? (uint64_t)res.tv_sec * 1000 + ((uint64_t)res.tv_nsec + 999999) / 1000000
                : 10;
        if (v == 0)
            v = 1;
        atomic_store_explicit(&step, v, memory_order_relaxed);
    }
    return v;
}

uint64_t h2g_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
