/*
 * h1_to_h2.h: an HTTP/1.1 upstream response head -> HTTP/2 response
 * fields (RFC 9113 8.2.2, 8.3.2).  Pure; the nv array points into the
 * fields given (borrowed, names already lowercase).
 */
#ifndef H2G_H1_TO_H2_H
#define H2G_H1_TO_H2_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>

#include "core/hdr.h"

/*
 * Fills nva with ":status" (value written to status_buf, which the caller
 * keeps alive) then the fields minus connection-specific ones (Connection
 * and every name it lists, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade, TE).  nva must have room for n + 1 entries.
 * Returns the number of entries written.
 */
size_t h1_to_h2_response(int status, const struct h2g_field *fields, size_t n, char status_buf[4],
                         nghttp2_nv *nva);

/* Trailers: fields minus connection-specific ones and names that must
 * not be trailers (content-length, host, ...).  Returns the count. */
size_t h1_to_h2_trailers(const struct h2g_field *fields, size_t n, nghttp2_nv *nva);

#endif
