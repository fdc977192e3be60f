/*
 * request_ctx.h: what a request knows of where it came from and what it
 * runs under, filled once when its stream is created (stream_new).
 *
 * The client facts are the connection's: conn.c fills them at accept and
 * they live as long as the connection, longer than any of its streams.
 * The snapshot is the stream's own reference (taken by stream_new,
 * released by stream_clear): the one configuration the request reads,
 * whatever reloads happen meanwhile.  The services are the worker's.
 * The stream and everything below it (exchange, tunnel, access log) read
 * these instead of the connection or the worker.
 */
#ifndef H2G_REQUEST_CTX_H
#define H2G_REQUEST_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h2g_config;
struct h2g_services;
struct h2g_snapshot;

struct h2g_client_facts {
    uint64_t conn_id;
    const char *peer_ip;           /* textual, no brackets */
    uint16_t peer_port;
    bool peer_ipv6;
    bool tls;
    struct h2g_services *svc;      /* the worker's */
    /* Does the certificate the connection presented cover `host`?  (true
     * in cleartext: nothing was presented that could be wrong) */
    bool (*cert_covers)(const struct h2g_client_facts *f, const char *host, size_t len);
};

struct h2g_request_ctx {
    const struct h2g_client_facts *client; /* the connection's (borrowed) */
    struct h2g_services *svc;              /* client->svc */
    int32_t stream_id;                     /* HTTP/2 stream id, or HTTP/1.1 request number */
    struct h2g_snapshot *snap;             /* owned reference, until stream_clear */
    const struct h2g_config *cfg;          /* snap->config */
};

#endif
