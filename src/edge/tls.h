/*
 * tls.h: OpenSSL server contexts of a TLS listener.
 *
 * Built by main() once per listen entry (tls_ctx_new) before the workers
 * start; shared read-only by every worker (SSL_CTX is thread-safe for
 * SSL_new) and freed by main after the workers are joined.  The default
 * certificate, the SNI certificates (picked by the servername callback)
 * and ALPN in the listener's preference order live here, and a
 * reference to the listener's session-ticket key store (ticket_keys or
 * ticket_keys_memcached), which the ticket callback of every context of
 * the listener reads.
 */
#ifndef H2G_TLS_H
#define H2G_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* One session-ticket key, decoded (core/ticket_keys.h). */
struct h2g_ticket_key {
    unsigned char name[H2G_TICKET_KEY_NAME_LEN];
    unsigned char aes[32];  /* AES-256-CBC */
    unsigned char hmac[32]; /* HMAC-SHA256 */
};

/*
 * The session-ticket keys of one or more listeners: a mutex-guarded set
 * that the ticket callback (on any worker thread) reads and the process
 * replaces (memcached, process/ticket_sync.c).  Refcounted: each TLS
 * context holds a reference, and so does its keeper; the last unref
 * frees it.  Made by ticket_store_new with n keys (n may be 0: the
 * ticket callback then issues empty tickets, until keys are set).
 */
struct h2g_ticket_store;
struct h2g_ticket_store *ticket_store_new(const struct h2g_ticket_key *keys, size_t n);
struct h2g_ticket_store *ticket_store_ref(struct h2g_ticket_store *s);
void ticket_store_unref(struct h2g_ticket_store *s); /* NULL: no-op */
/* Does a TLS context hold s (a reference besides its keeper's)? */
bool ticket_store_in_use(struct h2g_ticket_store *s);
/* Replaces the keys (n <= H2G_TICKET_KEYS_MAX; keys[0] encrypts). */
void ticket_store_set(struct h2g_ticket_store *s, const struct h2g_ticket_key *keys, size_t n);
/* Decodes keys the parser accepted (core/ticket_keys.h) into out (room
 * for H2G_TICKET_KEYS_MAX); the count, or -1 with err set ("SRC:LINE:
 * ...") when two keys share a name. */
int ticket_keys_decode(const struct h2g_ticket_keys_text *kt, const char *src, struct h2g_ticket_key *out,
                       char *err, size_t errlen);

struct h2g_tls_ctx {
    const struct h2g_listen_config *lc; /* borrowed from the config */
    SSL_CTX *ctx;                       /* default certificate */
    SSL_CTX **sni;                      /* one per lc->tls->sni entry */
    size_t n_sni;
    unsigned char alpn[32];             /* wire format, server preference */
    unsigned alpn_len;
    /* listen[].tls.ticket_keys or ticket_keys_memcached (a reference);
     * NULL: OpenSSL's own keys (random, per process). */
    struct h2g_ticket_store *keys;
};

/* NULL on failure with a message in err ("certificate /x: ...",
 * "/keys:3: ..." for a ticket key).  store: the keys of a listener with
 * ticket_keys_memcached (a reference is taken); NULL otherwise (with
 * ticket_keys_memcached too, for `h2gate -t`: an empty store). */
struct h2g_tls_ctx *tls_ctx_new(const struct h2g_listen_config *lc, struct h2g_ticket_store *store, char *err,
                                size_t errlen);
void tls_ctx_free(struct h2g_tls_ctx *t);
/* Does the certificate this connection uses cover host (a name or an IP
 * literal)? */
bool tls_cert_covers(SSL *ssl, const char *host, size_t len);
/* The same, of a certificate kept after its connection's SSL went. */
bool tls_x509_covers(X509 *x, const char *host, size_t len);

/* A client connection's SSL feeds r (tls_record.h) with its secrets and
 * record counts, until unwatched (before r goes). */
struct h2g_tls_record;
void tls_watch_records(SSL *ssl, struct h2g_tls_record *r);
void tls_unwatch_records(SSL *ssl);

#endif
