/*
 * buf.h: a growable byte buffer for the pure core (no libevent there).
 *
 * Owner: whoever embeds it; h2g_buf_clear() frees the storage.
 * Invariant: len <= cap; data is NULL iff cap == 0.
 */
#ifndef H2G_BUF_H
#define H2G_BUF_H

#include <stddef.h>
#include <string.h>

#include "core/errors.h"

struct h2g_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Empties without freeing, so the storage is reused. */
static inline void h2g_buf_reset(struct h2g_buf *b) { b->len = 0; }
/* Frees the storage; the buffer may be reused after. */
void h2g_buf_clear(struct h2g_buf *b);
/* Grows the storage for n more bytes (the slow path of reserve). */
int h2g_buf_grow(struct h2g_buf *b, size_t n);
/* Ensures room for n more bytes. 0 or H2G_ERR_NOMEM. */
static inline int h2g_buf_reserve(struct h2g_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : h2g_buf_grow(b, n);
}
/* Appends n bytes. 0 or H2G_ERR_NOMEM.  Inline: request heads are built
 * from a few dozen small appends. */
static inline int h2g_buf_append(struct h2g_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (b->cap - b->len < n && h2g_buf_grow(b, n) != 0)
        return H2G_ERR_NOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
/* Appends a NUL-terminated string. 0 or H2G_ERR_NOMEM. */
static inline int h2g_buf_puts(struct h2g_buf *b, const char *s)
{
    return h2g_buf_append(b, s, strlen(s));
}
/* Appends printf output. 0 or H2G_ERR_NOMEM. */
int h2g_buf_printf(struct h2g_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
