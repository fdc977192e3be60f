/*
 * h1_resp.h: the reason phrase of every status, and the head (and the
 * chunked body's end) of every HTTP/1.1 response h2gate writes itself or
 * relays to an HTTP/1.1 client (RFC 9112 4, 6 and 7.1).  Pure: the caller
 * owns the buffer, and the fields are borrowed for the call only.
 */
#ifndef H2G_H1_RESP_H
#define H2G_H1_RESP_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The RFC 9110 (section 15) name of a status, or that of RFC 6585, 7725,
 * 8297 or 8470 for the few they add ("Not Found", "Too Many Requests").
 * Another status of one of the five classes gets the class's name
 * ("Client Error" for 499); a status outside them, "" (RFC 9112 4 allows
 * an empty phrase).  Never NULL. */
const char *h2g_reason_phrase(int status);

/* What the head says about the connection. */
enum h2g_h1_conn {
    H2G_H1_CONN_NONE,       /* nothing: the version's default persistence */
    H2G_H1_CONN_CLOSE,      /* connection: close */
    H2G_H1_CONN_KEEP_ALIVE, /* connection: keep-alive (an HTTP/1.0 client) */
    H2G_H1_CONN_UPGRADE,    /* upgrade: <upgrade>, connection: Upgrade (101) */
};

/* One response head.  Zero-initialised fields mean "nothing", except
 * content_length, where "nothing" is -1. */
struct h2g_h1_resp {
    int status;               /* 100..999 */
    const char *reason;       /* NULL: h2g_reason_phrase(status) */
    const nghttp2_nv *fields; /* written as they are: "name: value" */
    size_t n_fields;
    const nghttp2_nv *extra;  /* after fields: what h2gate adds (alt-svc) */
    size_t n_extra;
    int64_t content_length;   /* >= 0: content-length: N; -1: none */
    bool chunked;             /* transfer-encoding: chunked */
    enum h2g_h1_conn connection;
    const char *upgrade;      /* the protocol, for H2G_H1_CONN_UPGRADE */
};

/*
 * The head's bytes, from the status line to the empty line that ends it,
 * in this order: status line, fields, extra, content-length,
 * transfer-encoding, upgrade, connection.  Returns the head's length;
 * when that is at most cap, dst holds the head (dst may be NULL, cap 0,
 * to measure; a longer head leaves dst with pieces of it, not to be
 * used).  Names and values go out as given: the caller has checked them
 * (no CR, LF or NUL).
 */
size_t h2g_h1_resp_head(char *dst, size_t cap, const struct h2g_h1_resp *r);

/* The end of a chunked body (RFC 9112 7.1.2): the last chunk, the
 * trailer fields as given, the empty line.  Length and dst as for
 * h2g_h1_resp_head. */
size_t h2g_h1_last_chunk(char *dst, size_t cap, const nghttp2_nv *trailers, size_t n);

#endif
