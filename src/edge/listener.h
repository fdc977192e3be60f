/*
 * listener.h: binding the listening sockets of the `listen` entries.
 *
 * main() binds one socket per listen entry per worker (SO_REUSEPORT lets
 * the kernel spread connections over the workers without a shared accept
 * lock) before any thread starts, so a bad address fails the start with a
 * clear message; each worker then owns its sockets.
 */
#ifndef H2G_LISTENER_H
#define H2G_LISTENER_H

#include <stddef.h>

#include "core/units.h"

struct h2g_listen_config;
struct h2g_tls_ctx;

/* Per-listener state built from a snapshot (TLS context); lives in the
 * snapshot's attachment, so as long as the snapshot. */
struct h2g_listen_ctx {
    const struct h2g_listen_config *lc; /* borrowed from the config */
    struct h2g_tls_ctx *tls;            /* NULL for cleartext */
};

/* A listening, non-blocking socket for addr ("*" = all addresses, IPv6
 * and IPv4).  Returns the fd, or -1 with a message in err. */
int listener_bind(const struct h2g_hostport *addr, char *err, size_t errlen);

#endif
