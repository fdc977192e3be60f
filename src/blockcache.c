#include "blockcache.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16              /* keeps the payload 16-byte aligned */
#define SMALL_SHIFT 6       /* 64-byte classes ... */
#define N_SMALL 33          /* ... for payloads up to 2 KiB */
#define LARGE_MIN_SHIFT 12  /* then powers of two: 4 KiB ... */
#define LARGE_MAX_SHIFT 18  /* ... 256 KiB (evbuffer chains, socket reads) */
#define N_CLASSES (N_SMALL + LARGE_MAX_SHIFT - LARGE_MIN_SHIFT + 1)
#define SMALL_PER_CLASS 512
#define LARGE_PER_CLASS 64

#if defined(__SANITIZE_ADDRESS__)
#define CACHING 0
#else
#define CACHING 1
#endif

struct free_block {
    struct free_block *next;
};

static __thread struct {
    struct free_block *head[N_CLASSES];
    uint16_t n[N_CLASSES];
    size_t bytes;
} tc;

/* The class of a payload size and its capacity; N_CLASSES if too large
 * to cache. */
static size_t class_of(size_t n, size_t *cap)
{
    if (n == 0)
        n = 1;
    if (n <= ((size_t)(N_SMALL - 1) << SMALL_SHIFT)) {
        size_t c = (n + (1u << SMALL_SHIFT) - 1) >> SMALL_SHIFT;
        *cap = c << SMALL_SHIFT;
        return c;
    }
    for (size_t k = LARGE_MIN_SHIFT; k <= LARGE_MAX_SHIFT; k++) {
        if (n <= ((size_t)1 << k)) {
            *cap = (size_t)1 << k;
            return N_SMALL + (k - LARGE_MIN_SHIFT);
        }
    }
    *cap = n;
    return N_CLASSES;
}

static void *payload(unsigned char *base, size_t n)
{
    memcpy(base, &n, sizeof(n));
    return base + HDR;
}

static unsigned char *base_of(const void *p)
{
    return (unsigned char *)(uintptr_t)p - HDR;
}

size_t h2g_block_size(const void *p)
{
    size_t n;
    memcpy(&n, base_of(p), sizeof(n));
    return n;
}

void *h2g_block_alloc(size_t n)
{
    if (n > SIZE_MAX - HDR - 1)
        return NULL;
    size_t cap, c = class_of(n, &cap);
    if (CACHING && c < N_CLASSES && tc.head[c] != NULL) {
        struct free_block *f = tc.head[c];
        tc.head[c] = f->next;
        tc.n[c]--;
        tc.bytes -= cap;
        return payload((unsigned char *)f, n);
    }
    /* The whole class, so the block can serve any size of it later. */
    unsigned char *b = malloc(HDR + cap);
    return b ? payload(b, n) : NULL;
}

void h2g_block_free(void *p)
{
    if (p == NULL)
        return;
    unsigned char *b = base_of(p);
    size_t cap, c = class_of(h2g_block_size(p), &cap);
    if (CACHING && c < N_CLASSES && tc.n[c] < (c < N_SMALL ? SMALL_PER_CLASS : LARGE_PER_CLASS) &&
        tc.bytes + cap <= H2G_BLOCK_CACHE_BYTES) {
        struct free_block *f = (struct free_block *)b;
        f->next = tc.head[c];
        tc.head[c] = f;
        tc.n[c]++;
        tc.bytes += cap;
        return;
    }
    free(b);
}

void *h2g_block_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = h2g_block_alloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *h2g_block_realloc(void *p, size_t n)
{
    if (p == NULL)
        return h2g_block_alloc(n);
    size_t old = h2g_block_size(p);
    size_t ocap, ncap, oc = class_of(old, &ocap), nc = class_of(n, &ncap);
    if (oc == nc && nc < N_CLASSES)
        return payload(base_of(p), n); /* the block holds the whole class */
    void *q = h2g_block_alloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    h2g_block_free(p);
    return q;
}

void h2g_block_thread_release(void)
{
    for (size_t c = 0; c < N_CLASSES; c++) {
        struct free_block *f;
        while ((f = tc.head[c]) != NULL) {
            tc.head[c] = f->next;
            free(f);
        }
        tc.n[c] = 0;
    }
    tc.bytes = 0;
}

void h2g_block_for_libevent(void)
{
    event_set_mem_functions(h2g_block_alloc, h2g_block_realloc, h2g_block_free);
}
