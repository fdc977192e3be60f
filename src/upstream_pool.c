/* upstream_pool.c: to be written */
