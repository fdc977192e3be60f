/*
 * blockcache.h: per-thread caches of small heap blocks.
 *
 * nghttp2 allocates and frees a handful of small blocks per stream
 * (stream state, outbound items, header buffers).  With hundreds of
 * streams finishing in one loop turn, glibc's per-thread cache (7 blocks
 * per size) overflows and every block takes malloc's slow path.  These
 * caches keep up to H2G_BLOCK_CACHE_BYTES of freed blocks per thread, in
 * 64-byte size classes, and hand them back without locking: each worker
 * thread allocates from and frees into its own cache.
 *
 * Every block carries its requested size in a header (h2g_block_size),
 * which the h2 session's memory accounting reads.  Blocks may be freed on
 * any thread.  Builds with AddressSanitizer cache nothing (recycle.h).
 */
#ifndef H2G_BLOCKCACHE_H
#define H2G_BLOCKCACHE_H

#include <stddef.h>

#define H2G_BLOCK_CACHE_BYTES (1024 * 1024)

void *h2g_block_alloc(size_t n);
void *h2g_block_calloc(size_t n, size_t size);
void *h2g_block_realloc(void *p, size_t n);
void h2g_block_free(void *p);
/* The size asked for when p was (re)allocated. */
size_t h2g_block_size(const void *p);
/* Frees the calling thread's cached blocks (before a worker thread ends). */
void h2g_block_thread_release(void);

#endif
