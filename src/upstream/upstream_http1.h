/*
 * upstream_http1.h: one exchange (request/response) with an HTTP/1.1
 * upstream over a pooled connection.
 *
 * Created by stream_dispatch (exchange_start), owned by its stream as its
 * upstream end (upstream.h), freed through that end's ops by the stream.
 * It borrows an upstream connection from the pool and gives it back (kept
 * alive only after a complete, cleanly framed exchange).  It sees its
 * stream only through upstream.h.
 *
 * States (enum ex_state): CONNECTING (only without an idle pooled
 * connection) -> SENDING (head written, no final response head yet) ->
 * RECEIVING (final head received, body flowing) -> DONE, or FAILED from
 * any of them; SENDING goes back to CONNECTING once when a reused
 * connection turns out closed before any response byte.
 */
#ifndef H2G_UPSTREAM_HTTP1_H
#define H2G_UPSTREAM_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h2g_services;
struct h2g_stream;

/* Starts proxying s (routed to stream_route(s)): the exchange attaches
 * itself as the stream's upstream end (upstream.h).  0, or a status the
 * stream should answer with: 400 (not expressible in HTTP/1.1), 502 (no
 * connection), 503 (out of memory), 500 (no random bytes). */
int exchange_start(struct h2g_stream *s);
/* Frees the worker's cached exchanges (worker teardown). */
void exchange_cache_free(struct h2g_services *svc);

#endif
