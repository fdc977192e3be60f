/*
 * main.c: the command line.  Everything else is in process.c.
 */
#include <event2/event.h>
#include <getopt.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/evmem.h"
#include "runtime/failalloc.h"
#include "runtime/jsonmem.h"
#include "process/process.h"
#include "runtime/recycle.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define DEFAULT_CONFIG SYSCONFDIR "/h2gate/h2gate.yaml"

/*
 * glibc gives the top of a worker thread's heap back to the kernel
 * (madvise) whenever more than 128 KiB of it is free, and the next
 * allocation faults the pages in again, zeroed.  A tunnel or an upload
 * frees and reuses its window's worth of buffers (1 MiB by default) all
 * the time: that churn was a tenth of h2gate's CPU on a CONNECT upload.
 * Up to 16 MiB per heap is kept instead (memory stays bounded by the
 * limits; only its return to the kernel is later), and blocks up to
 * 1 MiB come from the heap, not from an mmap each (setting the trim
 * threshold stops glibc from raising that threshold by itself).
 * Measured with bench/tunnel's client, 1 GiB uploads, one worker:
 * 99-123 -> 74-80 CPU ticks per GiB (nghttpx 84-106 in the same runs).
 */
static void tune_malloc(void)
{
#if defined(__GLIBC__)
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: h2gate [-c FILE] [-t] [-V] [-h]\n"
            "HTTP/2 reverse proxy and CONNECT tunnel.\n\n"
            "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
            "  -t, --test         check the configuration and exit\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n\n"
            "Signals: TERM/INT graceful stop, HUP reload, USR1 reopen the access log.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"test", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    failalloc_init();
    h2g_evmem_init();
    jsonmem_init();
    const char *path = DEFAULT_CONFIG;
    bool test = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 't': test = true; break;
        case 'V':
            printf("h2gate %s (nghttp2 %s, libevent %s, %s)\n", PACKAGE_VERSION, nghttp2_version(0)->version_str,
                   event_get_version(), OpenSSL_version(OPENSSL_VERSION));
            /* Performance figures of such a build are not the daemon's
             * (and its test suite checks the caches are really off). */
            if (!H2G_RECYCLE)
                printf("AddressSanitizer build: freed objects are not recycled (no block, stream or exchange caches)\n");
            /* The allocation sweep test runs only on such a build. */
            if (H2G_FAILALLOC_BUILD)
                printf("allocation failure injection build (H2G_FAIL_ALLOC_AT, H2G_FAIL_ALLOC_FILE)\n");
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (test)
        return process_test(path);
    tune_malloc();
    return process_run(path);
}
