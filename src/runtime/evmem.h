/*
 * evmem.h: libevent's smallest blocks, packed in a region of their own.
 *
 * libevent keeps one block per file descriptor number it has ever
 * watched (evmap_io, 16 bytes), allocated when a new connection first
 * uses a higher fd number and never freed.  In a burst of new
 * connections those blocks land one per connection between the
 * connections' short-lived memory (the nghttp2 session, the buffers),
 * and when the connections go idle (h2_session.c dormancy) each keeps a
 * whole page of the heap resident: 4 KiB held for 16 bytes.  So blocks
 * of at most EVMEM_CELL bytes come from cells in one reserved region
 * (touched page by page, as they are used), and every other block from
 * malloc.  A block is known by its address (inside the region or not).
 * So what libevent allocates and leaves to its caller to free must be
 * freed with h2g_evmem_free, not free().
 *
 * libevent calls its allocator from every worker: a mutex guards the
 * cells; these blocks are rare (new fd numbers, signal slots), not per
 * request.  Not in builds with AddressSanitizer or allocation-failure
 * injection (failalloc.c has the hooks there).
 */
#ifndef H2G_EVMEM_H
#define H2G_EVMEM_H

/* Before libevent allocates anything (main). */
void h2g_evmem_init(void);

/* Frees what a libevent call handed over to be freed by the caller
 * (evbuffer_readln): it may be a cell, which free() must never see.
 * Every such call in h2gate frees with this. */
void h2g_evmem_free(void *p);

#endif
