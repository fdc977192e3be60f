#include "runtime/blockcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/recycle.h"

#define HDR 16            /* keeps the payload 16-byte aligned */
#define CLASS_SHIFT 6     /* 64-byte classes */
#define N_CLASSES 33      /* payloads up to 2 KiB are cached */
#define PER_CLASS_MAX 512

struct free_block {
    struct free_block *next;
};

static __thread struct {
    struct free_block *head[N_CLASSES];
    uint16_t n[N_CLASSES];
    size_t bytes;
} tc;

static size_t class_of(size_t n)
{
    return (n + (1u << CLASS_SHIFT) - 1) >> CLASS_SHIFT;
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
    size_t c = class_of(n ? n : 1);
    if (c >= N_CLASSES) {
        if (n > SIZE_MAX - HDR)
            return NULL;
        unsigned char *b = malloc(HDR + n);
        return b ? payload(b, n) : NULL;
    }
    struct free_block *f = tc.head[c];
    if (H2G_RECYCLE && f != NULL) {
        tc.head[c] = f->next;
        tc.n[c]--;
        tc.bytes -= c << CLASS_SHIFT;
        return payload((unsigned char *)f, n);
    }
    /* The whole class, so the block can serve any size of it later. */
    unsigned char *b = malloc(HDR + (c << CLASS_SHIFT));
    return b ? payload(b, n) : NULL;
}

void h2g_block_free(void *p)
{
    if (p == NULL)
        return;
    unsigned char *b = base_of(p);
    size_t c = class_of(h2g_block_size(p) ? h2g_block_size(p) : 1);
    if (H2G_RECYCLE && c < N_CLASSES && tc.n[c] < PER_CLASS_MAX &&
        tc.bytes + (c << CLASS_SHIFT) <= H2G_BLOCK_CACHE_BYTES) {
        struct free_block *f = (struct free_block *)b;
        f->next = tc.head[c];
        tc.head[c] = f;
        tc.n[c]++;
        tc.bytes += c << CLASS_SHIFT;
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
    size_t oc = class_of(old ? old : 1), nc = class_of(n ? n : 1);
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
