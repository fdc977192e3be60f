/*
 * metrics.h: the metrics endpoint (metrics.listen): GET /metrics in the
 * Prometheus text format, GET /status as JSON (the same document as
 * h2gatectl status), GET / the live status page for a browser (the
 * file status_page.html, compiled in; it polls /status).  Served by libevent's evhttp on the main thread,
 * from counters the workers keep without locks (stats.h).
 */
#ifndef H2G_METRICS_H
#define H2G_METRICS_H

#include "core/units.h"

struct h2g_process;
struct h2g_metrics;

/* NULL (error logged) if it cannot listen. */
struct h2g_metrics *metrics_new(struct h2g_process *p, const struct h2g_hostport *addr);
void metrics_free(struct h2g_metrics *m);

#endif
