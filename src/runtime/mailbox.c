#include "runtime/mailbox.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void mailbox_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_mailbox *mb = arg;
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof(n));
    (void)r;
    pthread_mutex_lock(&mb->mu);
    struct h2g_mail *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    while (m != NULL) {
        struct h2g_mail *next = m->next; /* fn may free m */
        m->fn(m->arg);
        m = next;
    }
}

int mailbox_init(struct h2g_mailbox *mb, struct event_base *base)
{
    pthread_mutex_init(&mb->mu, NULL);
    mb->head = mb->tail = NULL;
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->efd < 0)
        return -1;
    mb->ev = event_new(base, mb->efd, EV_READ | EV_PERSIST, mailbox_cb, mb);
    if (mb->ev == NULL || event_add(mb->ev, NULL) != 0)
        return -1;
    return 0;
}

void mailbox_post(struct h2g_mailbox *mb, struct h2g_mail *m, void (*fn)(void *arg), void *arg)
{
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    pthread_mutex_lock(&mb->mu);
    if (mb->tail != NULL)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    pthread_mutex_unlock(&mb->mu);
    uint64_t one = 1;
    ssize_t r = write(mb->efd, &one, sizeof(one));
    (void)r;
}

void mailbox_clear(struct h2g_mailbox *mb)
{
    if (mb->ev != NULL)
        event_free(mb->ev);
    mb->ev = NULL;
    if (mb->efd >= 0)
        close(mb->efd);
    mb->efd = -1;
    mb->head = mb->tail = NULL;
    pthread_mutex_destroy(&mb->mu);
}
