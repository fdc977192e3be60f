/*
 * failalloc.h: allocation failure injection, for the test build only.
 *
 * configure --enable-alloc-fail defines H2G_FAILALLOC, compiles
 * failalloc.c into h2gate and h2gatectl and links them with
 * -Wl,--wrap=malloc,calloc,realloc,strdup,strndup (libyaml and libnghttp2
 * linked statically there, so the wrapping reaches them).  Every
 * allocation then goes through one process-wide counter:
 *
 *   our code, libcore, llhttp     --wrap
 *   libyaml                       --wrap (static archive; it has no hook)
 *   nghttp2 sessions              their nghttp2_mem -> blockcache -> --wrap
 *   nghttp2 callbacks and options --wrap (static archive)
 *   libevent                      event_set_mem_functions
 *   OpenSSL                       CRYPTO_set_mem_functions
 *   jansson                       json_set_alloc_funcs (jsonmem.c) -> --wrap
 *
 * Not counted: glibc's own allocations (stdio, getaddrinfo, pthread) and
 * libsystemd's.  The counter starts at 0 when armed; allocation number
 * H2G_FAIL_ALLOC_AT (1-based) and the H2G_FAIL_ALLOC_RUN - 1 (default
 * none) after it return NULL, every other one succeeds.  0 only counts.
 *
 *   H2G_FAIL_ALLOC_AT=N    armed from the first allocation of the process
 *   H2G_FAIL_ALLOC_FILE=F  the daemon re-arms on SIGUSR2 from F ("N" or
 *                          "N K", K the run), after the scenario's setup
 *
 * H2G_FAIL_ALLOC_TRACE=1 prints the stack of each failed allocation
 * (sanitizer builds).  Each re-arming, and the exit, writes one line to
 * stderr:
 *   failalloc: counted C, failed F (first #A), held H while armed at N
 *   run K; armed at ...
 * so a sweep first counts what a scenario allocates (N = 0), then fails
 * each allocation of it in turn.
 *
 * Held: between failalloc_hold() and failalloc_release() (one thread)
 * allocations are counted but never failed, and H counts those that
 * would have been.  Only for a library call that cannot survive a
 * failure, so that a sweep reports the point as held instead of dying
 * there: libevent 2.1.12's bufferevent_openssl_filter_new crashes when
 * either of its buffers cannot be allocated (its error path frees a
 * bufferevent it has not finished making), and its bufferevent_filter_new
 * when its output callback's entry cannot (it uses it unchecked).
 *
 * A normal build has none of it: failalloc_init() is an empty inline and
 * no allocator is wrapped, so production pays nothing.
 */
#ifndef H2G_FAILALLOC_H
#define H2G_FAILALLOC_H

#ifdef H2G_FAILALLOC
/* Installs the counting allocator into libevent and OpenSSL and arms
 * from H2G_FAIL_ALLOC_AT; must run before either allocates (first thing
 * in main).  Exits with 70 if OpenSSL already has. */
void failalloc_init(void);
/* Reports what the last arming saw and arms from H2G_FAIL_ALLOC_FILE
 * (SIGUSR2).  Allocates nothing. */
void failalloc_rearm(void);
void failalloc_hold(void);
void failalloc_release(void);
#define H2G_FAILALLOC_BUILD 1
#else
static inline void failalloc_init(void)
{
}
static inline void failalloc_hold(void)
{
}
static inline void failalloc_release(void)
{
}
#define H2G_FAILALLOC_BUILD 0
#endif

#endif
