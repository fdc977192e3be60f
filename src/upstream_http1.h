/*
 * upstream_http1.h: one exchange (request/response) with an HTTP/1.1
 * upstream over a pooled connection.
 *
 * Created by stream_dispatch (exchange_start), owned by its stream, freed
 * by exchange_free (from stream_clear, or by the stream when the exchange
 * reported done/failed).  It borrows an upstream connection from the pool
 * and gives it back (kept alive only after a complete, cleanly framed
 * exchange).  It talks to the client only through stream_upstream_*.
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

struct h2g_stream;
struct h2g_exchange;
struct h2g_worker;

/* Starts proxying s (routed to s->route).  0, or a status the stream
 * should answer with: 400 (not expressible in HTTP/1.1), 502 (no
 * connection), 503 (out of memory), 500 (no random bytes). */
int exchange_start(struct h2g_stream *s);
/* Back to the worker's cache (or freed). */
void exchange_free(struct h2g_exchange *ex);
/* Frees the worker's cached exchanges (worker teardown). */
void exchange_cache_free(struct h2g_worker *w);
/* The stream has request body bytes in its req_body / finished it. */
void exchange_request_progress(struct h2g_exchange *ex);
/* Is h2gate waiting for the upstream: still connecting, or request bytes
 * written but not taken by the upstream socket?  (false for NULL) */
bool exchange_upstream_pending(const struct h2g_exchange *ex);
/* Is the exchange waiting for the client to drain the response buffer? */
bool exchange_reading_paused(const struct h2g_exchange *ex);
/* The client drained the response buffer below its cap. */
void exchange_resume_reading(struct h2g_exchange *ex);

#endif
