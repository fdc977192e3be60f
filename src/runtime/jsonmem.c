#include "runtime/jsonmem.h"

#include <jansson.h>
#include <stdlib.h>

static __thread bool failed;

static void *jsonmem_malloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        failed = true;
    return p;
}

void jsonmem_init(void)
{
    json_set_alloc_funcs(jsonmem_malloc, free);
}

void jsonmem_begin(void)
{
    failed = false;
}

bool jsonmem_failed(void)
{
    return failed;
}
