/*
 * memcached.h: the replies of memcached's text protocol that h2gate reads
 * (memcached's doc/protocol.txt): to "get KEY" and to "add KEY ...".
 * Pure: the caller owns the bytes; offsets point into them.
 */
#ifndef H2G_MEMCACHED_H
#define H2G_MEMCACHED_H

#include <stddef.h>

enum h2g_mc_reply {
    H2G_MC_INCOMPLETE, /* more bytes are needed */
    H2G_MC_VALUE,      /* get: the value at buf + *val_off, *vlen bytes */
    H2G_MC_MISS,       /* get: no such key ("END") */
    H2G_MC_STORED,     /* add: stored */
    H2G_MC_NOT_STORED, /* add: the key exists already */
};

/*
 * The reply to one "get KEY" at the start of buf (len bytes).  NULL with
 * *r set and, when complete, *used its length; or a static message: an
 * error reply (ERROR, CLIENT_ERROR, SERVER_ERROR), a value larger than
 * max, or bytes that are no such reply.
 */
const char *h2g_mc_parse_get(const char *buf, size_t len, size_t max, enum h2g_mc_reply *r, size_t *used,
                             size_t *val_off, size_t *vlen);
/* The reply to one "add": as h2g_mc_parse_get, *r STORED or NOT_STORED. */
const char *h2g_mc_parse_store(const char *buf, size_t len, enum h2g_mc_reply *r, size_t *used);

#endif
