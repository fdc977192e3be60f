/*
 * ssl_reason.h: why OpenSSL failed to load a file, in words.
 *
 * A function, no state: it empties the calling thread's OpenSSL error
 * queue.  Used by the listeners' TLS contexts (edge/tls.c) and the
 * upstreams' (upstream/upstream_tls.c), both built on the main thread.
 */
#ifndef H2G_SSL_REASON_H
#define H2G_SSL_REASON_H

#include <stddef.h>

/* The first reason OpenSSL recorded, into buf, unless it ran out of
 * memory, which it may record below a reason that blames the file
 * ("decode error"), or not at all (no memory for the record): then
 * "out of memory", the file not being to blame.  Returns buf. */
const char *h2g_ssl_reason(char *buf, size_t len);

#endif
