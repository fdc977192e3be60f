/*
 * route.h: authority -> origin -> route (the contract's `origins:`).
 *
 * Pure lookups over an immutable config snapshot; results are borrowed
 * from it and live as long as the caller's reference to the snapshot.
 */
#ifndef H2G_ROUTE_H
#define H2G_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* Does a host pattern ("example.com", "*.example.com", "*") match `host`
 * (already without port, any case, one trailing dot ignored)?
 * "*.example.com" matches names strictly below example.com. */
bool h2g_host_match(const char *pattern, const char *host, size_t host_len);

/* Strips the port from an authority ("a.example:8443", "[::1]:443") and
 * yields the host part (IPv6 without brackets).  false if malformed. */
bool h2g_authority_host(const char *authority, size_t len, const char **host, size_t *host_len);

/* The first origin whose hosts match the authority's host; NULL if none. */
const struct h2g_origin_config *h2g_route_origin(const struct h2g_config *c, const char *authority,
                                                 size_t len);

/* The route with the longest path prefix matching `path` (query ignored).
 * A prefix matches on a segment boundary: "/chat" matches "/chat",
 * "/chat/x" and "/chat?x" but not "/chatroom"; "/" and prefixes ending in
 * '/' match anything that starts with them.  NULL if none. */
const struct h2g_route_config *h2g_route_find(const struct h2g_origin_config *o, const char *path,
                                              size_t len);

#endif
