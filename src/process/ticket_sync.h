/*
 * ticket_sync.h: TLS session-ticket keys shared through memcached
 * (listen[].tls.ticket_keys_memcached), so that a fleet of instances
 * resumes each other's sessions.
 *
 * One per process: made by process_run before the first configuration is
 * built, started on the main event loop, freed at exit.  For each
 * memcached address that a listener names it keeps one key store
 * (edge/tls.h), which every TLS context of those listeners shares and
 * which outlives reloads.  On the main loop, every minute and after each
 * reload, it gets key "h2gate:ticket-keys" (the format of a ticket_keys
 * file, core/ticket_keys.h) and puts its keys in the store.  When the
 * key is absent (first start, or its hour is over: it is stored to
 * expire after an hour) it makes a key, puts it before the first key it
 * had, and stores that with "add": the first instance to add wins and
 * the others take its keys.  Unreachable, slow (5 s) or wrong memcached:
 * the last keys stay, a line is logged, nothing waits on it.  Until the
 * first keys arrive, a store holds one random key of its own.
 */
#ifndef H2G_TICKET_SYNC_H
#define H2G_TICKET_SYNC_H

#include "core/config.h"
#include "edge/tls.h"

struct event_base;
struct h2g_ticket_sync;

/* NULL when out of memory. */
struct h2g_ticket_sync *ticket_sync_new(void);
/* The store of tc's memcached server (made on first use, and asked for
 * at once when the sync runs) in *out, borrowed; *out NULL when tc names
 * none.  0, or -1 when out of memory. */
int ticket_sync_store(struct h2g_ticket_sync *ts, const struct h2g_tls_config *tc,
                      struct h2g_ticket_store **out);
/* Runs the refreshes on base from now on (a first one at once).  0 or -1. */
int ticket_sync_start(struct h2g_ticket_sync *ts, struct event_base *base);
/* A refresh of every server now (after a reload). */
void ticket_sync_refresh(struct h2g_ticket_sync *ts);
/* NULL: no-op.  Before the event base is freed. */
void ticket_sync_free(struct h2g_ticket_sync *ts);

#endif
