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
 *
 * Posting allocates nothing: the message is the poster's, usually a
 * member of the object it is about.  A message lost for want of memory
 * would leave a thread waiting for good (a worker that never stops, a
 * control client never answered), so posting cannot fail.
 */
#ifndef H2G_MAILBOX_H
#define H2G_MAILBOX_H

#include <pthread.h>

struct event;
struct event_base;

/* One message.  The mailbox holds it from mailbox_post until fn(arg)
 * runs on the owning loop; fn may free it.  Not to be posted again
 * before that. */
struct h2g_mail {
    struct h2g_mail *next;
    void (*fn)(void *arg);
    void *arg;
};

struct h2g_mailbox {
    pthread_mutex_t mu;
    struct h2g_mail *head, *tail;
    int efd;
    struct event *ev;
};

/* 0 or -1. */
int mailbox_init(struct h2g_mailbox *mb, struct event_base *base);
/* Thread-safe. */
void mailbox_post(struct h2g_mailbox *mb, struct h2g_mail *m, void (*fn)(void *arg), void *arg);
/* Messages never run stay their posters' (none are left at a normal
 * stop: the loop ran them). */
void mailbox_clear(struct h2g_mailbox *mb);

#endif
