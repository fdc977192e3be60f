/*
 * evbuf.h: evbuffer writes that never stop halfway.
 *
 * A message written to a connection's output in several evbuffer_add
 * calls (a head, a chunk and its framing, a frame header and its payload)
 * is corrupt if one call runs out of memory after another succeeded: the
 * peer then reads the next bytes as something they are not (a request
 * body taken for a request line, a DATA payload for frame headers).  And
 * libevent 2.1's evbuffer_remove_buffer drops the bytes it copies when
 * that copy fails, yet reports them moved.  These helpers write all or
 * nothing: on -1 the buffers are as they were, and the caller fails the
 * stream or the exchange instead of sending a damaged message.
 */
#ifndef H2G_EVBUF_H
#define H2G_EVBUF_H

#include <stddef.h>

struct evbuffer;

struct evbuf_piece {
    const void *p;
    size_t len;
};

/* Appends the pieces, in order, in one reserved extent: 0, or -1 (out of
 * memory) with nothing appended. */
int evbuf_add_all(struct evbuffer *out, const struct evbuf_piece *pieces, size_t n);

/* Moves the first n bytes of src (n <= its length) to the end of dst:
 * whole chains are relinked, a chain cut by n is copied (cheapest when
 * dst is empty: then only the cut part is copied).  0, or -1 (out of
 * memory) with both buffers unchanged. */
int evbuf_move(struct evbuffer *src, struct evbuffer *dst, size_t n);

#endif
