/*
 * process.h: the h2gate process on its main thread: configuration
 * snapshots and reload, listening sockets (bound here, or inherited from
 * systemd socket activation), workers, signals, sd_notify, privilege
 * drop, and the services the main thread runs (control socket, metrics).
 *
 * One per process, created by main() (process_run) and alive until exit.
 * The workers get references to the current snapshot; a reload builds a
 * new snapshot completely (parse, check, TLS contexts, sockets) before any
 * worker sees it, so a bad file changes nothing.
 */
#ifndef H2G_PROCESS_H
#define H2G_PROCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/route_labels.h"
#include "runtime/mailbox.h"
#include "runtime/stats.h"

struct h2g_worker;
struct h2g_control;
struct h2g_metrics;
struct h2g_ticket_sync;
struct event_base;
struct event;

struct h2g_process {
    char *config_path;              /* absolute */
    struct h2g_config *config;      /* current snapshot (owned reference) */
    char config_sha256[65];
    struct event_base *base;
    struct h2g_worker **workers;
    unsigned n_workers;
    int access_fd;                  /* -1: off */
    uint64_t start_ms;
    unsigned reloads;
    int last_reload;                /* 0 none, 1 ok, -1 failed */
    bool stopping;
    bool drained;                   /* h2gatectl drain: no listeners, the process stays up */
    int *activated_fds;             /* systemd socket activation */
    char **activated_names;
    int n_activated;
    struct h2g_control *control;
    struct h2g_metrics *metrics;
    struct event *status_ev;        /* periodic sd_notify STATUS= */
    struct h2g_mailbox mailbox;     /* workers' answers (gathered JSON) */
    struct h2g_ticket_sync *tickets; /* ticket keys from memcached */
    struct h2g_route_labels route_labels; /* the per-route metrics' pairs (route_metrics.h) */
};

/* Runs the daemon on `path` until it stops.  Returns the exit status. */
int process_run(const char *path);
/* h2gate -t: loads `path` completely (TLS contexts too); prints
 * "PATH: configuration ok" or every error.  Returns the exit status. */
int process_test(const char *path);

/* Reload from the configuration file.  0, or -1 with the errors appended
 * to `errors` (a JSON array of strings) and the running config kept. */
int process_reload(struct h2g_process *p, json_t *errors);
/* Validates `path` and compares it with the running configuration:
 * {"valid":bool,"errors":[...],"diff":{...}}. */
json_t *process_check(struct h2g_process *p, const char *path);
/* Graceful stop (SIGTERM, h2gatectl drain --exit). */
void process_stop(struct h2g_process *p, const char *why);
/* h2gatectl drain: every worker closes its listening sockets (a
 * balancer's health check then fails) and drains its sessions (GOAWAY,
 * Connection: close); the process stays up.  A reload keeps it drained.
 * 0 (also when already drained), or -1 with the reason in errors. */
int process_drain(struct h2g_process *p, json_t *errors);
/* h2gatectl resume: new listening sockets for every address of the
 * running configuration (reload's path), accepting again.  0 (also when
 * not drained), or -1 with the reasons in errors (still drained). */
int process_resume(struct h2g_process *p, json_t *errors);
/* "serving", "draining" (drained, staying up) or "stopping". */
const char *process_state(const struct h2g_process *p);
/* Counters summed over the workers. */
void process_stats(struct h2g_process *p, struct h2g_stats *out);
json_t *process_status_json(struct h2g_process *p);
/* Sets "refusals", "timeouts" and "tunnel_closes" ({label: count}, every
 * label) in o, from st. */
void process_stat_families_json(json_t *o, const struct h2g_stats *st);

/* Collects per-worker JSON arrays on the workers' threads and hands the
 * concatenation to done() on the main thread, or NULL when a part could
 * not be made whole (out of memory).  kind: 0 sessions (only_id as in
 * introspect_sessions), 1 tunnels, 2 upstream names, 3 the status page's
 * lists (introspect_live; only_id is its max).  -1 (done is not called) when
 * stopping or out of memory. */
int process_gather(struct h2g_process *p, int kind, uint64_t only_id, void (*done)(json_t *result, void *arg),
                   void *arg);

#endif
