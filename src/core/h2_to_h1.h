/*
 * h2_to_h1.h: an HTTP/2 (or parsed HTTP/1.1 client) request -> the
 * HTTP/1.1 request head h2gate sends its upstream (RFC 9110 7.6.1,
 * RFC 9112 3, RFC 9113 8.2.2 and 8.3.1).
 *
 * Pure: reads the request, appends bytes to an h2g_buf.
 */
#ifndef H2G_H2_TO_H1_H
#define H2G_H2_TO_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/hdr.h"

/* A request as h2gate's client side received it.  Every pointer is
 * borrowed.  Pseudo-header values are NULL when absent. */
struct h2g_request_head {
    const char *method;
    size_t method_len;
    const char *scheme;
    size_t scheme_len;
    const char *authority; /* NULL: the Host field is used, if any */
    size_t authority_len;
    const char *path;
    size_t path_len;
    const char *protocol;  /* extended CONNECT :protocol */
    size_t protocol_len;
    const struct h2g_field *fields; /* regular fields in arrival order */
    size_t n_fields;
};

/* What h2gate adds for the upstream's benefit. */
struct h2g_forward_info {
    const char *client_addr; /* textual IP, no brackets, no port */
    bool client_is_ipv6;
    const char *proto;       /* "http" or "https" */
};

enum h2g_body_framing {
    H2G_BODY_NONE,     /* no body: no Content-Length unless the client sent "0"? no: none */
    H2G_BODY_LENGTH,   /* Content-Length: content_length */
    H2G_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
};

/*
 * Appends "METHOD path HTTP/1.1\r\n", "Host: <authority>", the regular
 * fields minus connection-specific ones (Connection and what it lists,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE unless its
 * value is "trailers", which is passed on) and minus the client's own
 * X-Forwarded-For / X-Forwarded-Proto / Forwarded (h2gate is the edge: a
 * client cannot spoof them), every Cookie field joined into one with "; "
 * (RFC 9113 8.2.3), then X-Forwarded-For, X-Forwarded-Proto and
 * Forwarded (RFC 7239, IPv6 quoted and bracketed), then the framing field
 * and the blank line.  Content-Length sent by the client is not copied:
 * framing decides it (LENGTH writes content_length).
 * Returns NULL or a static message for a request that cannot be
 * expressed in HTTP/1.1 (no authority and no Host, missing method/path),
 * or h2g_msg_nomem when out of memory (not the request's fault).
 */
const char *h2_to_h1_request(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                             enum h2g_body_framing framing, uint64_t content_length,
                             struct h2g_buf *out);

/* The forwarding facts fit to be written: *ip and *proto as in fwd, or
 * NULL when empty or holding bytes a field may not carry. */
void h2g_forward_checked(const struct h2g_forward_info *fwd, const char **ip, const char **proto);
/* Appends the value of a Forwarded field (RFC 7239 4: for=, proto=,
 * host=, each left out when NULL; an IPv6 `for` bracketed and quoted).
 * 0 or H2G_ERR_NOMEM. */
int h2g_forwarded_value(struct h2g_buf *out, bool ipv6, const char *ip, const char *proto, const char *host,
                        size_t host_len);
/* Is a TE value exactly "trailers" (RFC 9113 8.2.2), the one TE an
 * HTTP/2 request may carry? */
bool h2g_te_is_trailers(const char *v, size_t len);

/* Appends the last chunk with trailers: "0\r\n" + fields (minus names
 * that must not be trailers) + "\r\n".  0 or H2G_ERR_NOMEM. */
int h2_to_h1_trailers(const struct h2g_field *fields, size_t n, struct h2g_buf *out);

#endif
