/*
 * worker.h: one event loop thread.
 *
 * Created by the process (process.c) after the configuration is loaded
 * and the listening sockets are bound; owned by the process, which joins
 * and frees it.  A worker owns its event_base, evdns_base, listeners (its
 * own SO_REUSEPORT socket per listen entry), client connections, upstream
 * pools and access log buffer.  Nothing is shared with other workers but
 * the refcounted, immutable config snapshot (and the TLS contexts hanging
 * off it).  Other threads reach a worker only through its mailbox.
 */
#ifndef H2G_WORKER_H
#define H2G_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core/balance.h"
#include "edge/listener.h"
#include "core/config.h"
#include "runtime/mailbox.h"
#include "runtime/recycle.h"
#include "runtime/services.h"
#include "runtime/stats.h"

struct h2g_conn;
struct h2g_upstream_pool;
struct h2g_tls_ctx;
struct evdns_base;
struct evbuffer;


/* One listening socket of a worker. */
struct h2g_worker_listener {
    struct h2g_worker *w;
    const struct h2g_listen_ctx *ctx;  /* of the worker's current snapshot */
    struct event *ev;                  /* readable: accept (worker.c accept_cb) */
    int fd;                            /* the listening socket, owned */
};

struct h2g_worker {
    struct h2g_services svc;         /* lent to everything on this loop (services.h) */
    unsigned id;
    pthread_t thread;
    struct h2g_snapshot *snap;      /* the same, for new requests */
    LIST_HEAD(, h2g_snapshot) retired;
    struct h2g_worker_listener **listeners; /* config->n_listen entries */
    size_t n_listen;
    bool accept_paused;
    bool limit_counted;         /* this pause left a client waiting: counted (refusals) */
    bool held;                  /* drained without stopping (h2gatectl drain): no listeners until resume */
    struct event *recheck_ev;        /* max_connections: look again later */
    struct h2g_balance **balance;    /* [origin][route] of config; lazily allocated */
    bool balance_lost;               /* allocating it failed (logged) since the last reload */
    struct h2g_mailbox mailbox;      /* the main thread's requests (apply, gather, stop) */
    struct h2g_mail stop_mail;
    struct event *stop_timer;        /* timeouts.shutdown elapsed */
    struct evbuffer *access_buf;     /* access log lines, flushed once per loop turn */
    struct event *access_flush_ev;
    int access_fd;                   /* -1: off (the fd number never changes: reopen dup2()s onto it) */
};

/* Global connection count for limits.max_connections (atomic). */
extern unsigned h2g_total_conns;

/* What the daemon builds from a snapshot (process.c build_snapshot) and
 * frees with it: its attachment.  The routes' upstream TLS contexts are
 * also in route->tls; here to be freed. */
struct h2g_snapshot_attachment {
    struct h2g_listen_ctx *listen;   /* one per listen entry, then lc == NULL */
    struct h2g_upstream_tls **up_tls;
    size_t n_up_tls;
};

/* The snapshot's listen contexts (in its attachment). */
struct h2g_listen_ctx *worker_listen_ctxs(const struct h2g_config *c);

/* fds: one listening socket per config->listen entry, owned from now on. */
struct h2g_worker *worker_new(unsigned id, struct h2g_config *config, int *fds, int access_fd);
int worker_start(struct h2g_worker *w);
/* Thread-safe: ask the worker to drain and stop. */
void worker_request_stop(struct h2g_worker *w);
/* Thread-safe: ask the worker to drain without stopping (h2gatectl
 * drain): it takes what is queued, closes its listeners and drains every
 * connection, then keeps running with no listener until a resume
 * (worker_resume_post).  0, or -1 out of memory (nothing posted). */
int worker_request_drain(struct h2g_worker *w);
void worker_join(struct h2g_worker *w);
void worker_free(struct h2g_worker *w);
/*
 * A reload, for one worker: new connections switch to `config` (a
 * reference is taken).  fds[i] is a new socket for listen entry i, or -1
 * where the entry's address was already listened on (that socket is
 * kept).  Sockets of entries that are gone are closed; idle upstream
 * connections to upstreams no longer configured are closed; connections
 * in flight keep their own snapshot.
 *
 * Everything the worker needs is made here, on the main thread, so that
 * applying it on the worker's allocates nothing: once every worker has
 * its job, the reload cannot half happen.  (Only a listener for a new
 * address makes its event there; failing that, the worker does not
 * listen on it, and says so.)  NULL when out of memory; fds (allocated,
 * config->n_listen entries) is owned by the job from now on.
 */
struct h2g_worker_apply *worker_apply_new(struct h2g_worker *w, struct h2g_config *config, int *fds);
/* Thread-safe: the worker switches, soon.  The job is the worker's now. */
void worker_apply_post(struct h2g_worker_apply *a);
/* Posts a job made with the running configuration and a socket for every
 * address: the worker leaves the held state and listens again. */
void worker_resume_post(struct h2g_worker_apply *a);
/* A job not posted (the reload failed meanwhile): freed, sockets closed. */
void worker_apply_cancel(struct h2g_worker_apply *a);


#endif
