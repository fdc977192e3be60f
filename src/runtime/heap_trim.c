#include "runtime/heap_trim.h"

#include <event2/event.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/blockcache.h"
#include "runtime/services.h"

#define HEAP_TRIM_AFTER (1024 * 1024)

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2g_services *svc = arg;
    svc->trim_freed = 0;
    /* The thread's cached blocks are scattered over the heap, each
     * keeping its page: they go first (the cache refills on demand). */
    h2g_block_thread_release();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void h2g_heap_trim_note(struct h2g_services *svc, size_t freed)
{
    svc->trim_freed += freed;
    if (svc->trim_freed < HEAP_TRIM_AFTER)
        return;
    if (svc->trim_ev == NULL && (svc->trim_ev = evtimer_new(svc->base, trim_cb, svc)) == NULL)
        return; /* out of memory: the heap stays as it is */
    if (!evtimer_pending(svc->trim_ev, NULL)) {
        struct timeval second = {1, 0};
        evtimer_add(svc->trim_ev, &second);
    }
}

void h2g_heap_trim_free(struct h2g_services *svc)
{
    if (svc->trim_ev != NULL)
        event_free(svc->trim_ev);
    svc->trim_ev = NULL;
}
