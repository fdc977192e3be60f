/*
 * introspect.h: JSON views of a worker's live sessions, streams and
 * tunnels for the control socket (h2gatectl sessions / session ID /
 * tunnels).  Called on the worker's own thread (worker_run_in); returns
 * new jansson objects owned by the caller.
 */
#ifndef H2G_INTROSPECT_H
#define H2G_INTROSPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct h2g_worker;

/* An array of session objects; with only_id != 0 just that session (with
 * its streams), else all of them without streams. */
json_t *introspect_sessions(struct h2g_worker *w, uint64_t only_id);
json_t *introspect_tunnels(struct h2g_worker *w);
/* For the status page: [{"sessions":[...],"sessions_more":bool,
 * "tunnels":[...],"tunnels_more":bool}], at most max of each. */
json_t *introspect_live(struct h2g_worker *w, size_t max);
/* An array with one object per upstream host name the worker resolved
 * (upstream_dns.h): worker, host, addresses (the set in use, round-robin
 * order), expires_in_s (until the next lookup is due; null before the
 * first), failing (the last lookup failed: the set is the last good one),
 * resolving (a lookup is in flight). */
json_t *introspect_upstreams(struct h2g_worker *w);

#endif
