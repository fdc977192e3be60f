#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

void h2g_buf_clear(struct h2g_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int h2g_buf_grow(struct h2g_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    /* Most heads fit in 1 KiB: one allocation, no regrowth. */
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return H2G_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int h2g_buf_printf(struct h2g_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || h2g_buf_reserve(b, (size_t)n + 1) != 0)
        return H2G_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char h2g_msg_nomem[] = "out of memory";
