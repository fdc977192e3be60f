/*
 * heap_trim.h: heap given back to the kernel after a burst of frees.
 *
 * glibc keeps what is freed for the next malloc, and a process's RSS
 * only shrinks when the top of its heap is free.  When many idle
 * sessions are put away together (h2_session.c, dormancy), the
 * megabytes they free sit in the middle of the heap and stay resident.
 * h2g_heap_trim_note counts what a worker freed so; past
 * HEAP_TRIM_AFTER bytes, a timer a second later calls malloc_trim(0),
 * which gives back free pages anywhere in the heap (madvise).  At most
 * one trim a second per worker, and none while memory is only being
 * reused (a busy worker puts nothing away).  CPU and madvise(2) only:
 * nothing that waits.
 *
 * State: two fields of struct h2g_services, this file's alone; the
 * worker calls h2g_heap_trim_free before its event base goes.
 */
#ifndef H2G_HEAP_TRIM_H
#define H2G_HEAP_TRIM_H

#include <stddef.h>

struct h2g_services;

void h2g_heap_trim_note(struct h2g_services *svc, size_t freed);
void h2g_heap_trim_free(struct h2g_services *svc);

#endif
