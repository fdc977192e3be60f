/*
 * slab.h: objects that live as long as a connection, packed together.
 *
 * A connection that goes idle frees most of what it had (its nghttp2
 * session, its buffers: h2_session.c dormancy, conn_sleep) and keeps a
 * few small objects: itself, its h2 session, its events.  From malloc,
 * those few are scattered among the blocks freed around them, and each
 * keeps a whole page resident; heap_trim can give back only free pages.
 * From a slab, objects of one size sit side by side in 64 KiB chunks of
 * their own, and the pages the idle connections freed are free whole.
 *
 * One slab per object kind per worker (struct h2g_services), used by
 * that worker's thread only.  A chunk whose objects are all free is kept
 * if it is the only one spare, else freed.  Builds with AddressSanitizer
 * or allocation-failure injection take every object from calloc (so that
 * each is checked, and each allocation can fail).
 */
#ifndef H2G_SLAB_H
#define H2G_SLAB_H

#include <stddef.h>

struct h2g_slab_chunk;

struct h2g_slab {
    size_t size;                    /* of an object; set by the first alloc */
    struct h2g_slab_chunk *partial; /* chunks with a free object */
    struct h2g_slab_chunk *spare;   /* one chunk with no object in use */
    size_t live;                    /* objects in use */
};

/* A zeroed object of `size` bytes (the same size every time for one
 * slab; at most H2G_SLAB_MAX), or NULL. */
void *h2g_slab_calloc(struct h2g_slab *s, size_t size);
void h2g_slab_free(struct h2g_slab *s, void *p);
/* Frees the chunks, once every object is freed (else nothing). */
void h2g_slab_release(struct h2g_slab *s);

#define H2G_SLAB_MAX 4096

#endif
