/*
 * worker.h: one event loop thread.
 *
 * Created by main() (worker_new) after the configuration is loaded and the
 * listening sockets are bound; owned by main, which joins and frees it.
 * A worker owns its event_base, evdns_base, listeners (one SO_REUSEPORT
 * socket per listen entry), client connections, upstream pools and access
 * log buffer.  Nothing is shared with other workers except the refcounted,
 * immutable config snapshot and the TLS contexts (read-only after setup).
 */
#ifndef H2G_WORKER_H
#define H2G_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "balance.h"
#include "config.h"

struct h2g_conn;
struct h2g_upstream_pool;
struct h2g_tls_ctx;
struct evconnlistener;
struct evdns_base;
struct evbuffer;

/* Shared, read-only per-listener state built by main. */
struct h2g_listen_ctx {
    const struct h2g_listen_config *lc; /* borrowed from the config */
    struct h2g_tls_ctx *tls;            /* NULL for cleartext */
};

/* Process-wide counters, summed over workers on read. */
struct h2g_worker_stats {
    uint64_t conns_accepted;
    uint64_t requests;
    uint64_t upstream_errors;
};

/* One listening socket of a worker. */
struct h2g_worker_listener {
    struct h2g_worker *w;
    const struct h2g_listen_ctx *ctx;
    struct evconnlistener *l;  /* owns fd once created */
    int fd;
};

struct h2g_worker {
    unsigned id;
    pthread_t thread;
    struct event_base *base;
    struct evdns_base *dns;
    struct h2g_config *config;      /* owned reference */
    struct h2g_listen_ctx *listen;  /* borrowed array, config->n_listen entries */
    struct h2g_worker_listener *listeners; /* n_listen entries */
    size_t n_listen;
    bool accept_paused;
    struct event *recheck_ev;        /* max_connections: look again later */
    LIST_HEAD(, h2g_conn) conns;    /* every live client connection */
    unsigned n_conns;
    struct h2g_upstream_pool *pools; /* singly linked; one per upstream id */
    struct h2g_balance **balance;    /* [origin][route] round-robin state */
    struct event *stop_ev;           /* activated from the main thread */
    struct event *stop_timer;        /* timeouts.shutdown elapsed */
    bool draining;
    struct evbuffer *access_buf;     /* access log lines, flushed once per loop turn */
    struct event *access_flush_ev;
    int access_fd;                   /* -1: off */
    struct h2g_worker_stats stats;
    uint64_t next_conn_id;
};

/* Global connection count for limits.max_connections (atomic). */
extern unsigned h2g_total_conns;

struct h2g_worker *worker_new(unsigned id, struct h2g_config *config, struct h2g_listen_ctx *listen,
                              int *fds, int access_fd);
int worker_start(struct h2g_worker *w);
/* Thread-safe: ask the worker to drain and stop. */
void worker_request_stop(struct h2g_worker *w);
void worker_join(struct h2g_worker *w);
void worker_free(struct h2g_worker *w);

/* A connection closed: maybe finish a drain, resume accepting. */
void worker_conn_closed(struct h2g_worker *w);
/* Appends an access log line (already formatted, with '\n'). */
void worker_access_log(struct h2g_worker *w, const char *line, size_t len);
/* Round-robin state of a route in this worker's snapshot. */
struct h2g_balance *worker_balance(struct h2g_worker *w, const struct h2g_route_config *r);

#endif
