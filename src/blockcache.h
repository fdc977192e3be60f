/*
 * blockcache.h: per-thread caches of small heap blocks.
 *
 * nghttp2 allocates and frees a handful of small blocks per stream
 * (stream state, outbound items, header buffers), and libevent a buffer
 * chain per socket read and per write batch.  With hundreds of streams
 * finishing in one loop turn, glibc's per-thread cache (7 blocks per size,
 * none above 1 KiB) overflows and every block takes malloc's slow path;
 * a fresh 64 KiB read buffer is also cold in the CPU cache, which the
 * kernel's copy into it pays for.  These caches keep up to
 * H2G_BLOCK_CACHE_BYTES of freed blocks per thread -- 64-byte classes up
 * to 2 KiB, powers of two up to 256 KiB -- and hand the most recently
 * freed back first, without locking: each worker thread allocates from
 * and frees into its own cache.
 *
 * Every block carries its requested size in a header (h2g_block_size),
 * which the h2 session's memory accounting reads.  Blocks may be freed on
 * any thread.  Builds with AddressSanitizer cache nothing, so reuse never
 * hides a use-after-free from it.
 */
#ifndef H2G_BLOCKCACHE_H
#define H2G_BLOCKCACHE_H

#include <stddef.h>

#define H2G_BLOCK_CACHE_BYTES (4 * 1024 * 1024)

void *h2g_block_alloc(size_t n);
void *h2g_block_calloc(size_t n, size_t size);
void *h2g_block_realloc(void *p, size_t n);
void h2g_block_free(void *p);
/* The size asked for when p was (re)allocated. */
size_t h2g_block_size(const void *p);
/* Frees the calling thread's cached blocks (before a worker thread ends). */
void h2g_block_thread_release(void);
/* Makes libevent allocate with these functions: call first thing in
 * main, before any libevent object exists.  Memory libevent hands out
 * (evbuffer_readln) is then freed with h2g_block_free. */
void h2g_block_for_libevent(void);

#endif
