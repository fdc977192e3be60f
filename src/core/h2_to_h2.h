/*
 * h2_to_h2.h: a client request (HTTP/2, or HTTP/1.1 as h1_session parsed
 * it) -> the HTTP/2 header list h2gate sends an HTTP/2 upstream
 * (RFC 9113 8.2.2, 8.3.1; RFC 7239 for Forwarded).
 *
 * Pure.  The caller owns a struct h2g_h2_request (zeroed, or reused after
 * h2g_h2_request_reset) and frees it with h2g_h2_request_clear; its nva
 * points into its own store and stays valid until then (nghttp2 copies
 * the list when the request is submitted, so a retry may submit it again).
 */
#ifndef H2G_H2_TO_H2_H
#define H2G_H2_TO_H2_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/h2_to_h1.h"

struct h2g_h2_request {
    struct h2g_buf store; /* names and values (names lowercased); sized once, never moved after */
    nghttp2_nv *nva;      /* points into store */
    size_t n;
    size_t cap;           /* entries nva has room for */
};

/*
 * Fills out with :method, :scheme (the client's, else fwd->proto),
 * :authority (the client's, else its Host), :path (and for a request
 * with :protocol, an extended CONNECT: :method CONNECT and :protocol, RFC
 * 8441 4, whether the client sent one or an HTTP/1.1 Upgrade; its
 * Sec-WebSocket-Key is dropped), then the client's
 * fields minus connection-specific ones (Connection and what it lists,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, Host, TE
 * unless it is "trailers"), minus the client's own X-Forwarded-For /
 * X-Forwarded-Proto / Forwarded, then h2gate's x-forwarded-for,
 * x-forwarded-proto and forwarded as h2_to_h1_request writes them.  Names
 * are lowercased (RFC 9113 8.2.1); Cookie fields and Content-Length pass
 * as they came.
 * Returns NULL, a static message for a request an HTTP/2 upstream cannot
 * be sent (no method, path or authority, an empty :protocol), or
 * h2g_msg_nomem.  On error out holds no entries.
 */
const char *h2_to_h2_request(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                             struct h2g_h2_request *out);
void h2g_h2_request_reset(struct h2g_h2_request *r);
void h2g_h2_request_clear(struct h2g_h2_request *r);

#endif
