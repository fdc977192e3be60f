/*
 * proxy_proto.h: the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that an L4 balancer sends before a connection's own
 * bytes, carrying the client's address.
 *
 * Pure: the caller hands the bytes received so far (from the first byte
 * of the connection), as often as more arrive; nothing is kept between
 * calls.  The parser never looks past the header: what follows it
 * (a TLS ClientHello, an HTTP request) is the caller's, from `len` on.
 */
#ifndef H2G_PROXY_PROTO_H
#define H2G_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A v1 header is at most this long, CRLF included. */
#define H2G_PP_V1_MAX 107
/* A v2 header's address block (and TLVs) is refused beyond this. */
#define H2G_PP_V2_MAX_BODY 2048

enum h2g_pp_status {
    H2G_PP_NEED_MORE, /* a valid header so far: call again with more bytes */
    H2G_PP_ERROR,     /* not a valid header (more bytes will not help) */
    H2G_PP_DONE,      /* a whole header: see struct h2g_pp_result */
};

enum h2g_pp_kind {
    H2G_PP_PROXIED, /* addresses carried: the client's is `src` */
    H2G_PP_LOCAL,   /* v2 LOCAL (a health check), or v2 PROXY of family
                     * UNSPEC or UNIX: the connection's own peer stays */
    H2G_PP_UNKNOWN, /* v1 "PROXY UNKNOWN": the connection's own peer stays */
};

enum h2g_pp_family {
    H2G_PP_INET = 4,  /* addresses in the first 4 bytes */
    H2G_PP_INET6 = 6, /* 16 bytes */
};

struct h2g_pp_result {
    size_t len;              /* header bytes, to consume */
    int version;             /* 1 or 2 */
    enum h2g_pp_kind kind;
    /* PROXIED only (zeroed otherwise): network byte order addresses,
     * host order ports. */
    enum h2g_pp_family family;
    uint8_t src_addr[16];
    uint8_t dst_addr[16];
    uint16_t src_port;
    uint16_t dst_port;
};

/*
 * Parses the header at the start of buf[0..n).  DONE fills *out (out->len
 * <= n); NEED_MORE when buf is a valid beginning; ERROR with *err a static
 * message otherwise.  A result other than NEED_MORE is final: more bytes
 * after the same prefix give the same answer.
 */
enum h2g_pp_status h2g_pp_parse(const uint8_t *buf, size_t n, struct h2g_pp_result *out, const char **err);

#endif
