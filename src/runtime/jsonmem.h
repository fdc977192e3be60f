/*
 * jsonmem.h: telling when jansson ran out of memory.
 *
 * jansson does not always say so.  Its parser drops a character it
 * cannot store and goes on (lex_save ignores the failure): a string
 * comes back shorter, and nothing is reported.  And the callers of
 * json_object_set_new and friends rarely look at their results, so a
 * reply built out of many of them lacks whatever failed.  Either is a
 * wrong answer where the right one is "out of memory".
 *
 * jansson's allocations come here instead (json_set_alloc_funcs, set
 * before any JSON is made), and a failure is noted for the thread.  A
 * piece of work that must come out whole (parsing a request, building a
 * reply) calls jsonmem_begin, then looks at jsonmem_failed before using
 * what it made.  The cost is a call through jansson's allocator hook.
 */
#ifndef H2G_JSONMEM_H
#define H2G_JSONMEM_H

#include <stdbool.h>

/* First thing in main, before jansson allocates. */
void jsonmem_init(void);
/* Forgets the calling thread's earlier failures. */
void jsonmem_begin(void);
/* Did one of jansson's allocations fail on this thread since
 * jsonmem_begin? */
bool jsonmem_failed(void);

#endif
