#include "runtime/evbuf.h"

#include <event2/buffer.h>
#include <string.h>

int evbuf_add_all(struct evbuffer *out, const struct evbuf_piece *pieces, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].len;
    if (total == 0)
        return 0;
    /* One extent: the reservation is the only step that allocates. */
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) != 1 || v.iov_len < total)
        return -1;
    char *p = v.iov_base;
    for (size_t i = 0; i < n; i++) {
        if (pieces[i].len > 0)
            memcpy(p, pieces[i].p, pieces[i].len);
        p += pieces[i].len;
    }
    v.iov_len = total;
    return evbuffer_commit_space(out, &v, 1);
}

/* Copies the first n bytes of src's first chain (n within it) to dst and
 * drains them from src. */
static int copy_from_first_chain(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(src, (ev_ssize_t)n, NULL, &v, 1) < 1 || v.iov_len < n)
        return -1;
    struct evbuf_piece piece = {v.iov_base, n};
    if (evbuf_add_all(dst, &piece, 1) != 0)
        return -1;
    return evbuffer_drain(src, n);
}

int evbuf_move(struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    if (n == 0)
        return 0;
    size_t total = evbuffer_get_length(src);
    if (n > total)
        return -1;
    if (n == total) {
        /* Every chain is relinked: nothing is allocated. */
        return evbuffer_add_buffer(dst, src);
    }
    /* Most moves are within the first chain: the upstream body slice
     * (upstream_http1.c on_data), a DATA frame cut on a chain end. */
    struct evbuffer_iovec first;
    if (evbuffer_peek(src, -1, NULL, &first, 1) < 1)
        return -1;
    if (first.iov_len == n)
        return evbuffer_remove_buffer(src, dst, n) == (int)n ? 0 : -1;
    if (first.iov_len > n) {
        struct evbuf_piece piece = {first.iov_base, n};
        if (evbuf_add_all(dst, &piece, 1) != 0)
            return -1;
        return evbuffer_drain(src, n);
    }
    /* The bytes in whole chains within the first n.  (An empty extent,
     * which a pointer never rests on, would not move it: the scan
     * stops there rather than spin.) */
    size_t whole = 0;
    struct evbuffer_ptr pos;
    evbuffer_ptr_set(src, &pos, 0, EVBUFFER_PTR_SET);
    for (;;) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(src, -1, &pos, &v, 1) < 1 || v.iov_len == 0 || whole + v.iov_len > n)
            break;
        whole += v.iov_len;
        if (evbuffer_ptr_set(src, &pos, v.iov_len, EVBUFFER_PTR_ADD) != 0)
            break;
    }
    if (whole == 0)
        return copy_from_first_chain(src, dst, n);
    if (whole == n) {
        /* Chains only: evbuffer_remove_buffer copies nothing (its copy of
         * a cut chain is the step that could fail). */
        return evbuffer_remove_buffer(src, dst, n) == (int)n ? 0 : -1;
    }
    if (evbuffer_get_length(dst) == 0) {
        /* An empty dst (the h2 DATA path): the whole chains are relinked,
         * then the cut chain's part is copied after them; if that copy
         * fails, everything goes back to the front of src.  No pullup:
         * it would copy the whole chains too. */
        if (evbuffer_remove_buffer(src, dst, whole) != (int)whole) {
            evbuffer_prepend_buffer(src, dst);
            return -1;
        }
        struct evbuffer_iovec v;
        size_t rest = n - whole;
        struct evbuf_piece piece;
        if (evbuffer_peek(src, (ev_ssize_t)rest, NULL, &v, 1) < 1 || v.iov_len < rest ||
            (piece = (struct evbuf_piece){v.iov_base, rest}, evbuf_add_all(dst, &piece, 1) != 0)) {
            evbuffer_prepend_buffer(src, dst);
            return -1;
        }
        return evbuffer_drain(src, rest);
    }
    /* Whole chains and part of the next: made one chain first (the copy
     * that can fail, before anything moved), then copied. */
    if (evbuffer_pullup(src, (ev_ssize_t)n) == NULL)
        return -1;
    return copy_from_first_chain(src, dst, n);
}
