/*
 * buf.h: a growable byte buffer for the pure core (no libevent there).
 *
 * Owner: whoever embeds it; h2g_buf_clear() frees the storage.
 * Invariant: len <= cap; data is NULL iff cap == 0.
 */
#ifndef H2G_BUF_H
#define H2G_BUF_H

#include <stddef.h>

struct h2g_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Empties without freeing, so the storage is reused. */
static inline void h2g_buf_reset(struct h2g_buf *b) { b->len = 0; }
/* Frees the storage; the buffer may be reused after. */
void h2g_buf_clear(struct h2g_buf *b);
/* Ensures room for n more bytes. 0 or H2G_ERR_NOMEM. */
int h2g_buf_reserve(struct h2g_buf *b, size_t n);
/* Appends n bytes. 0 or H2G_ERR_NOMEM. */
int h2g_buf_append(struct h2g_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. 0 or H2G_ERR_NOMEM. */
int h2g_buf_puts(struct h2g_buf *b, const char *s);
/* Appends printf output. 0 or H2G_ERR_NOMEM. */
int h2g_buf_printf(struct h2g_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
