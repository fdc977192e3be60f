/*
 * failshim.c: fault injection for the integration tests, by LD_PRELOAD.
 *
 * Makes a library function fail as if out of memory (or out of entropy)
 * while a file of its name exists in $H2G_FAILSHIM_DIR, and only when
 * h2gate's own code calls it: libraries calling the same function (libevent
 * makes its bufferevents' buffers with evbuffer_new) are not disturbed, so
 * what is tested is what h2gate does with the failure.  The test creates
 * and removes the files while the daemon runs.
 *
 *   evbuffer_new   returns NULL
 *   RAND_bytes     returns 0
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct evbuffer;

/* The main program's loaded segments: a caller's address in one of them
 * is h2gate's code. */
#define MAX_SEGS 16
static struct {
    uintptr_t lo, hi;
} segs[MAX_SEGS];
static int n_segs;
static struct evbuffer *(*real_evbuffer_new)(void);
static int (*real_rand_bytes)(unsigned char *, int);

static int main_program_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (int i = 0; i < info->dlpi_phnum && n_segs < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        segs[n_segs].lo = info->dlpi_addr + ph->p_vaddr;
        segs[n_segs].hi = segs[n_segs].lo + ph->p_memsz;
        n_segs++;
    }
    return 1; /* the first object is the main program */
}

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        fprintf(stderr, "failshim: no %s after the shim\n", name);
        abort();
    }
    return f;
}

/* Before main, so the workers' threads only read what is set here. */
__attribute__((constructor)) static void init(void)
{
    dl_iterate_phdr(main_program_cb, NULL);
    real_evbuffer_new = (struct evbuffer * (*)(void)) next("evbuffer_new");
    real_rand_bytes = (int (*)(unsigned char *, int))next("RAND_bytes");
}

static bool armed(const char *name, const void *caller)
{
    const char *dir = getenv("H2G_FAILSHIM_DIR");
    bool from_main = false;
    for (int i = 0; i < n_segs; i++)
        if ((uintptr_t)caller >= segs[i].lo && (uintptr_t)caller < segs[i].hi)
            from_main = true;
    if (dir == NULL || !from_main)
        return false;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

struct evbuffer *evbuffer_new(void)
{
    if (armed("evbuffer_new", __builtin_return_address(0)))
        return NULL;
    return real_evbuffer_new();
}

int RAND_bytes(unsigned char *buf, int num)
{
    if (armed("RAND_bytes", __builtin_return_address(0)))
        return 0;
    return real_rand_bytes(buf, num);
}
