#include "runtime/slab.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/recycle.h"

#if H2G_RECYCLE && !defined(H2G_FAILALLOC)
#define SLAB_CHUNKS 1
#else
#define SLAB_CHUNKS 0
#endif

/* Chunks are aligned on their size: an object finds its chunk by
 * masking its address. */
#define CHUNK_SIZE (64 * 1024)

struct h2g_slab_chunk {
    struct h2g_slab_chunk *next, *prev; /* in `partial` while it has a free object */
    void *free;                         /* free objects, linked through their first word */
    unsigned used;
    unsigned fresh;                     /* objects never handed out yet, from the end */
};

#define HEADER (((sizeof(struct h2g_slab_chunk) + 63) / 64) * 64)

static unsigned per_chunk(const struct h2g_slab *s)
{
    return (unsigned)((CHUNK_SIZE - HEADER) / s->size);
}

static struct h2g_slab_chunk *chunk_of(void *p)
{
    return (struct h2g_slab_chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK_SIZE - 1));
}

static void unlink_partial(struct h2g_slab *s, struct h2g_slab_chunk *k)
{
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        s->partial = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

static void push_partial(struct h2g_slab *s, struct h2g_slab_chunk *k)
{
    k->prev = NULL;
    k->next = s->partial;
    if (s->partial != NULL)
        s->partial->prev = k;
    s->partial = k;
}

static struct h2g_slab_chunk *new_chunk(struct h2g_slab *s)
{
    struct h2g_slab_chunk *k = s->spare;
    if (k != NULL) {
        s->spare = NULL;
    } else {
        void *mem;
        if (posix_memalign(&mem, CHUNK_SIZE, CHUNK_SIZE) != 0)
            return NULL;
        k = mem;
        memset(k, 0, sizeof(*k));
        k->fresh = per_chunk(s);
    }
    push_partial(s, k);
    return k;
}

void *h2g_slab_calloc(struct h2g_slab *s, size_t size)
{
    /* 16-byte aligned, as malloc's */
    size_t rounded = (size + 15) & ~(size_t)15;
    assert(size > 0 && size <= H2G_SLAB_MAX && (s->size == 0 || s->size == rounded));
    if (!SLAB_CHUNKS) {
        void *p = calloc(1, size);
        s->live += p != NULL;
        return p;
    }
    s->size = rounded;
    struct h2g_slab_chunk *k = s->partial != NULL ? s->partial : new_chunk(s);
    if (k == NULL)
        return NULL;
    void *p;
    if (k->free != NULL) {
        p = k->free;
        memcpy(&k->free, p, sizeof(void *));
    } else {
        p = (char *)k + HEADER + (size_t)(--k->fresh) * s->size;
    }
    if (++k->used == per_chunk(s))
        unlink_partial(s, k);
    s->live++;
    return memset(p, 0, s->size);
}

void h2g_slab_free(struct h2g_slab *s, void *p)
{
    if (p == NULL)
        return;
    s->live--;
    if (!SLAB_CHUNKS) {
        free(p);
        return;
    }
    struct h2g_slab_chunk *k = chunk_of(p);
    if (k->used-- == per_chunk(s))
        push_partial(s, k); /* it was full */
    memcpy(p, &k->free, sizeof(void *));
    k->free = p;
    if (k->used > 0)
        return;
    /* Empty: kept as the spare, or given back (with its pages). */
    unlink_partial(s, k);
    if (s->spare == NULL) {
        k->free = NULL;
        k->fresh = per_chunk(s);
        s->spare = k;
    } else {
        free(k);
    }
}

void h2g_slab_release(struct h2g_slab *s)
{
    /* An object still in use (a leak, which the AddressSanitizer build
     * reports) keeps its chunk: freeing it would be worse. */
    if (s->live > 0)
        return;
    struct h2g_slab_chunk *k;
    while ((k = s->partial) != NULL) {
        s->partial = k->next;
        free(k);
    }
    free(s->spare);
    s->spare = NULL;
}
