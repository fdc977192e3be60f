/*
 * mailbox.h: how one thread asks another's event loop to run a function.
 *
 * A mutex-protected queue and an eventfd the owning loop watches.  This
 * is the only cross-thread path (main -> worker: run_in, stop; worker ->
 * main: gathered results), so libevent runs without its own locking
 * (no evthread_use_pthreads): no lock on any event or buffer operation
 * of the data path.
 *
 * Embedded in its owner (worker, process), initialised on the owning
 * loop's base, cleared after that loop stopped.
 */
#ifndef H2G_MAILBOX_H
#define H2G_MAILBOX_H

#include <pthread.h>

struct event;
struct event_base;
struct h2g_mail;

struct h2g_mailbox {
    pthread_mutex_t mu;
    struct h2g_mail *head, *tail;
    int efd;
    struct event *ev;
};

/* 0 or -1. */
int mailbox_init(struct h2g_mailbox *mb, struct event_base *base);
/* Thread-safe.  0, or -1 (out of memory: fn will not run). */
int mailbox_post(struct h2g_mailbox *mb, void (*fn)(void *arg), void *arg);
void mailbox_clear(struct h2g_mailbox *mb);

#endif
