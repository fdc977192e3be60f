/*
 * route_labels.h: the (origin, route) label pairs of the per-route
 * metrics, and the slot each route of a configuration counts into.
 *
 * One registry per process, owned by the main thread, which assigns a
 * snapshot's slots before any worker sees the snapshot.  A pair keeps its
 * slot for the life of the process: a reload that keeps a route keeps its
 * counters, a removed route's counters stay as they were (Prometheus
 * counters do not vanish), and a stream of an older snapshot still
 * counts into a valid slot.  The label values come from the configuration
 * only (an origin's first host, a route's path), never from a request,
 * and the registry is capped: past H2G_ROUTE_SLOTS pairs, new routes
 * share the "(other)" slot.
 */
#ifndef H2G_ROUTE_LABELS_H
#define H2G_ROUTE_LABELS_H

#include <stddef.h>

#include "core/config.h"

#define H2G_ROUTE_SLOTS 1024
/* Pseudo pairs, present from the start. */
enum {
    H2G_SLOT_NONE = 0,    /* ("(none)", "(none)"): matched no origin or route, or refused before routing */
    H2G_SLOT_CONNECT = 1, /* ("(connect)", "(connect)"): a CONNECT to an authority (no route) */
    H2G_SLOT_OTHER = 2,   /* ("(other)", "(other)"): routes past the cap */
    H2G_SLOT_FIRST = 3,
};

struct h2g_route_label {
    char *origin;
    char *route;
};

struct h2g_route_labels {
    struct h2g_route_label *v;  /* [H2G_ROUTE_SLOTS] once initialised */
    size_t n;
};

/* 0, or -1 out of memory. */
int h2g_route_labels_init(struct h2g_route_labels *l);
void h2g_route_labels_free(struct h2g_route_labels *l);

/* Sets stats_slot of every route of c: its pair's slot, added if new
 * (H2G_SLOT_OTHER when the registry is full or out of memory).  Returns
 * the number of slots in use afterwards. */
size_t h2g_route_labels_assign(struct h2g_route_labels *l, struct h2g_config *c);

/* The label an origin is known by: its first host. */
const char *h2g_origin_label(const struct h2g_origin_config *o);

#endif
