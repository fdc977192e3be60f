#include "edge/tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/route.h"

/* The first reason OpenSSL recorded, unless it ran out of memory, which
 * it may record below a reason that blames the file ("decode error"), or
 * not at all (no memory for the record): the file is not to blame then. */
static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long first = ERR_get_error(), e = first;
    bool nomem = first == 0;
    while (e != 0 && !nomem) {
        nomem = ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
        e = ERR_get_error();
    }
    char buf[256];
    ERR_error_string_n(first, buf, sizeof(buf));
    snprintf(err, errlen, "%s %s: %s", what, path, nomem ? "out of memory" : buf);
    ERR_clear_error();
}

/* ALPN: the first protocol in the listener's order that the client also
 * offers.  No overlap: the handshake fails (RFC 7301 3.2). */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg)
{
    struct h2g_tls_ctx *t = arg;
    unsigned char *sel;
    unsigned char sel_len;
    if (SSL_select_next_proto(&sel, &sel_len, t->alpn, t->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    *outlen = sel_len;
    return SSL_TLSEXT_ERR_OK;
}

static int servername_cb(SSL *ssl, int *al, void *arg)
{
    struct h2g_tls_ctx *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL)
        return SSL_TLSEXT_ERR_OK;
    size_t len = strlen(name);
    for (size_t i = 0; i < t->n_sni; i++) {
        const struct h2g_sni_cert *sc = &t->lc->tls->sni[i];
        for (size_t j = 0; j < sc->n_names; j++) {
            if (h2g_host_match(sc->names[j], name, len)) {
                SSL_set_SSL_CTX(ssl, t->sni[i]);
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *make_ctx(struct h2g_tls_ctx *t, const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_err(err, errlen, "SSL_CTX_new", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* RFC 9113 9.2: no compression, no renegotiation. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections give their read/write buffers back (~34 KiB). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    /* Server preference with AES-128-GCM first: as safe, and cheaper per
     * record than AES-256 (OpenSSL's default order). */
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!DSS");
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_err(err, errlen, "certificate", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "key", key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, t);
    return ctx;
}

struct h2g_tls_ctx *tls_ctx_new(const struct h2g_listen_config *lc, char *err, size_t errlen)
{
    struct h2g_tls_ctx *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->lc = lc;
    const char *first = lc->h2_preferred || !lc->http11 ? "h2" : "http/1.1";
    const char *second = first[0] == 'h' && first[1] == '2' ? "http/1.1" : "h2";
    bool has_second = lc->h2 && lc->http11;
    bool first_on = first[1] == '2' ? lc->h2 : lc->http11;
    if (first_on) {
        t->alpn[t->alpn_len++] = (unsigned char)strlen(first);
        memcpy(t->alpn + t->alpn_len, first, strlen(first));
        t->alpn_len += (unsigned)strlen(first);
    }
    if (has_second) {
        t->alpn[t->alpn_len++] = (unsigned char)strlen(second);
        memcpy(t->alpn + t->alpn_len, second, strlen(second));
        t->alpn_len += (unsigned)strlen(second);
    }
    t->ctx = make_ctx(t, lc->tls->certificate, lc->tls->key, err, errlen);
    if (t->ctx == NULL)
        goto fail;
    if (lc->tls->n_sni > 0) {
        t->sni = calloc(lc->tls->n_sni, sizeof(*t->sni));
        if (t->sni == NULL)
            goto fail;
        for (size_t i = 0; i < lc->tls->n_sni; i++) {
            t->sni[i] = make_ctx(t, lc->tls->sni[i].certificate, lc->tls->sni[i].key, err, errlen);
            if (t->sni[i] == NULL)
                goto fail;
            t->n_sni = i + 1;
        }
        SSL_CTX_set_tlsext_servername_callback(t->ctx, servername_cb);
        SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
    }
    return t;
fail:
    tls_ctx_free(t);
    return NULL;
}

void tls_ctx_free(struct h2g_tls_ctx *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_sni; i++)
        SSL_CTX_free(t->sni[i]);
    free(t->sni);
    SSL_CTX_free(t->ctx);
    free(t);
}

bool tls_cert_covers(SSL *ssl, const char *host, size_t len)
{
    X509 *x = SSL_get_certificate(ssl);
    if (x == NULL)
        return false;
    char name[256];
    if (len == 0 || len >= sizeof(name))
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    if (name[len - 1] == '.')
        name[--len] = '\0';
    if (X509_check_ip_asc(x, name, 0) == 1)
        return true;
    return X509_check_host(x, name, len, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}
