/*
 * log.h: the error log (stderr), level-gated before any formatting.
 *
 * The level is process-wide and set from the configuration at start and
 * on reload: an atomic int, one of the two mutable process-wide globals
 * with h2g_total_conns (worker.h).  Other state outside the objects is
 * per thread (blockcache.c, jsonmem.c), written once before main (hdr.c's
 * indexes) or only in --enable-alloc-fail builds (failalloc.c); the
 * config snapshot pointer is struct h2g_process's, not a global.
 * Lines look like
 *   2026-11-26T00:50:00.123Z [warn] conn=3 stream=5: upstream 127.0.0.1:9000: connection refused
 * libevent's and nghttp2's own diagnostics are routed here too.
 */
#ifndef H2G_LOG_H
#define H2G_LOG_H

#include <stdint.h>

#include "core/config.h"

extern int h2g_log_level;

void h2g_log_set_level(enum h2g_log_level l);
/* Routes libevent's internal warnings into our log. */
void h2g_log_init(void);
void h2g_log_write(enum h2g_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define h2g_log_enabled(l) ((int)(l) <= __atomic_load_n(&h2g_log_level, __ATOMIC_RELAXED))
#define LOG(l, ...)                                                                                \
    do {                                                                                           \
        if (h2g_log_enabled(l))                                                                    \
            h2g_log_write(l, __VA_ARGS__);                                                         \
    } while (0)
#define LOG_ERROR(...) LOG(H2G_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...) LOG(H2G_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) LOG(H2G_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) LOG(H2G_LOG_DEBUG, __VA_ARGS__)

/* Monotonic clocks: every duration and timeout is measured on these, so
 * a step of the wall clock (NTP, a VM resumed, an operator's `date -s`)
 * neither cuts every stream at once nor keeps one open forever.  The wall
 * clock is read only for timestamps in logs. */
uint64_t h2g_mono_ms(void);
/* How far h2g_mono_ms may lag the precise clock (its tick, in ms). */
uint64_t h2g_mono_ms_step(void);
uint64_t h2g_mono_us(void);

#endif
