/*
 * tunnel.h: a byte stream between a client stream and a TCP connection:
 * CONNECT (RFC 9113 8.5), extended CONNECT to a `tunnel:` route, and
 * WebSockets once the upstream answered 101 (RFC 8441).
 *
 * Created by stream_dispatch (tunnel_connect) or by the exchange that saw
 * the 101 (tunnel_adopt); owned by its stream as its upstream end
 * (upstream.h), which frees it through that end's ops; it sees its stream
 * only through upstream.h.  It owns the TCP bufferevent.  Freed with
 * client bytes still queued for the target, it lingers as an orphan of
 * the worker (services.h) until they are written.
 *
 * Buffers: client -> target bytes wait in the stream's request body and the socket's
 * output, acknowledged to the client (WINDOW_UPDATE) only while that
 * output is below TUNNEL_OUT_CAP; target -> client bytes are moved (not
 * copied) into the stream's response body, and reading stops above H2G_TUNNEL_RESP_CAP
 * until the client drains it (for a cleartext HTTP/2 client, reads of
 * H2G_TUNNEL_BATCH in frame-sized chains, stopping at
 * H2G_TUNNEL_BULK_CAP: upstream.h).  A stalled direction never blocks the other or other
 * streams.
 *
 * Splice: when the client is a cleartext HTTP/1.1 connection, both ends
 * are plain TCP sockets; once nothing is buffered on either side the
 * tunnel hands them to a splice relay (splice_relay.h, which it owns),
 * and the bytes no longer pass through user space.  Until then, while
 * none of the client's bytes wait for the target, the target is not read
 * (settle, in tunnel.c): what is held drains to the client, and a target
 * that never pauses cannot put the switch off for good.  TLS and HTTP/2
 * clients, a client that ended its side first, and a tunnel whose pipes
 * cannot be had (EMFILE), copy.
 *
 * States: RESOLVING -> CONNECTING -> OPEN -> CLOSED, or FAILED.
 */
#ifndef H2G_TUNNEL_H
#define H2G_TUNNEL_H

#include <stdbool.h>

#include "core/units.h"

struct bufferevent;
struct h2g_services;
struct h2g_stream;
struct h2g_tunnel;

/*
 * Opens a tunnel for s to `target` ("host:port" authority for CONNECT, or
 * a route's configured tcp:// address).  With check_acl the contract's
 * connect.deny / connect.allow are applied to the name and again to every
 * address it resolves to.  Returns 0 (the stream is answered 200 once
 * connected, or 403/502 later), or a status to answer at once (400, 403).
 */
int tunnel_connect(struct h2g_stream *s, const char *target, size_t len, bool check_acl);
/* Takes over an upstream connection that switched protocols (101) and
 * becomes the stream's upstream end in the exchange's place; bytes
 * already in its input buffer belong to the tunnel.  NULL on OOM (the
 * caller still owns bev). */
struct h2g_tunnel *tunnel_adopt(struct h2g_stream *s, struct bufferevent *bev);
/* Worker teardown: drops tunnels still delivering after their stream. */
void tunnel_free_orphans(struct h2g_services *svc);
bool tunnel_is_open(const struct h2g_tunnel *t);
/* Resolving, connecting, open, or closed by the target only: bounded by
 * the tunnel's own timeouts (evdns, upstream_connect, tunnel_idle), not by
 * the stream's.  false once it failed. */
bool tunnel_is_live(const struct h2g_tunnel *t);
/* "connect", "websocket" or "tunnel" (a tunnel: route). */
const char *tunnel_kind(const struct h2g_tunnel *t);
uint64_t tunnel_last_active_ms(const struct h2g_tunnel *t);

#endif
