#include "runtime/evmem.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/recycle.h"

#if H2G_RECYCLE && !defined(H2G_FAILALLOC)
#define EVMEM_CELLS 1
#else
#define EVMEM_CELLS 0
#endif

#define EVMEM_CELL 16
/* 2 Mi cells: more fd numbers than a process is allowed here. */
#define REGION_SIZE ((size_t)32 << 20)

static char *region;
static size_t bumped;   /* cells handed out from the region so far */
static void *free_cells; /* freed cells, linked through their first word */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int in_region(const void *p)
{
    return region != NULL && (const char *)p >= region && (const char *)p < region + REGION_SIZE;
}

static void *cell_alloc(void)
{
    void *p = NULL;
    pthread_mutex_lock(&lock);
    if (free_cells != NULL) {
        p = free_cells;
        memcpy(&free_cells, p, sizeof(void *));
    } else if (bumped < REGION_SIZE / EVMEM_CELL) {
        p = region + bumped++ * EVMEM_CELL;
    }
    pthread_mutex_unlock(&lock);
    return p;
}

static void cell_free(void *p)
{
    pthread_mutex_lock(&lock);
    memcpy(p, &free_cells, sizeof(void *));
    free_cells = p;
    pthread_mutex_unlock(&lock);
}

static void *ev_malloc(size_t n)
{
    void *p = n <= EVMEM_CELL ? cell_alloc() : NULL;
    return p != NULL ? p : malloc(n);
}

static void *ev_realloc(void *p, size_t n)
{
    if (!in_region(p))
        return realloc(p, n);
    if (n <= EVMEM_CELL)
        return p;
    void *q = malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, EVMEM_CELL);
    cell_free(p);
    return q;
}

void h2g_evmem_free(void *p)
{
    if (in_region(p))
        cell_free(p);
    else
        free(p);
}

void h2g_evmem_init(void)
{
    if (!EVMEM_CELLS)
        return;
    void *r = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return; /* libevent keeps malloc */
    region = r;
    event_set_mem_functions(ev_malloc, ev_realloc, h2g_evmem_free);
}
