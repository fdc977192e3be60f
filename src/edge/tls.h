/*
 * tls.h: OpenSSL server contexts of a TLS listener.
 *
 * Built by main() once per listen entry (tls_ctx_new) before the workers
 * start; shared read-only by every worker (SSL_CTX is thread-safe for
 * SSL_new) and freed by main after the workers are joined.  The default
 * certificate, the SNI certificates (picked by the servername callback)
 * and ALPN in the listener's preference order live here, and the
 * session-ticket keys read with the config (ticket_keys), which the
 * ticket callback of every context of the listener uses.
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

struct h2g_tls_ctx {
    const struct h2g_listen_config *lc; /* borrowed from the config */
    SSL_CTX *ctx;                       /* default certificate */
    SSL_CTX **sni;                      /* one per lc->tls->sni entry */
    size_t n_sni;
    unsigned char alpn[32];             /* wire format, server preference */
    unsigned alpn_len;
    /* listen[].tls.ticket_keys: keys[0] encrypts, all decrypt.  n_keys 0:
     * OpenSSL's own keys (random, per process). */
    struct h2g_ticket_key keys[H2G_TICKET_KEYS_MAX];
    size_t n_keys;
};

/* NULL on failure with a message in err ("certificate /x: ...",
 * "/keys:3: ..." for a ticket key). */
struct h2g_tls_ctx *tls_ctx_new(const struct h2g_listen_config *lc, char *err, size_t errlen);
void tls_ctx_free(struct h2g_tls_ctx *t);
/* Does the certificate this connection uses cover host (a name or an IP
 * literal)? */
bool tls_cert_covers(SSL *ssl, const char *host, size_t len);

#endif
