/*
 * recycle.h: whether freed objects are kept for reuse.
 *
 * h2gate keeps freed objects for the next user: small heap blocks
 * (blockcache.c) and the worker's streams and exchanges (stream.c,
 * upstream_http1.c).  AddressSanitizer reports a use-after-free only of
 * memory that was really freed, so builds with it recycle nothing; every
 * cache asks this one switch.  GCC says __SANITIZE_ADDRESS__, clang only
 * __has_feature(address_sanitizer).
 */
#ifndef H2G_RECYCLE_H
#define H2G_RECYCLE_H

#if defined(__SANITIZE_ADDRESS__)
#define H2G_RECYCLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H2G_RECYCLE 0
#endif
#endif
#ifndef H2G_RECYCLE
#define H2G_RECYCLE 1
#endif

#endif
