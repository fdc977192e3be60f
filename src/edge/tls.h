/*
 * tls.h: OpenSSL server contexts of a TLS listener.
 *
 * Built by main() once per listen entry (tls_ctx_new) before the workers
 * start; shared read-only by every worker (SSL_CTX is thread-safe for
 * SSL_new) and freed by main after the workers are joined.  The default
 * certificate, the SNI certificates (picked by the servername callback)
 * and ALPN in the listener's preference order live here.
 */
#ifndef H2G_TLS_H
#define H2G_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct h2g_tls_ctx {
    const struct h2g_listen_config *lc; /* borrowed from the config */
    SSL_CTX *ctx;                       /* default certificate */
    SSL_CTX **sni;                      /* one per lc->tls->sni entry */
    size_t n_sni;
    unsigned char alpn[32];             /* wire format, server preference */
    unsigned alpn_len;
};

/* NULL on failure with a message in err ("certificate /x: ..."). */
struct h2g_tls_ctx *tls_ctx_new(const struct h2g_listen_config *lc, char *err, size_t errlen);
void tls_ctx_free(struct h2g_tls_ctx *t);
/* Does the certificate this connection uses cover host (a name or an IP
 * literal)? */
bool tls_cert_covers(SSL *ssl, const char *host, size_t len);

#endif
