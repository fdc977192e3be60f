#include "edge/tls.h"

#include "edge/tls_record.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/route.h"
#include "runtime/ssl_reason.h"

/* OpenSSL's reason (h2g_ssl_reason), naming what failed. */
static void ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
    char buf[256];
    snprintf(err, errlen, "%s %s: %s", what, path, h2g_ssl_reason(buf, sizeof(buf)));
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

struct h2g_ticket_store {
    atomic_int refcnt;
    pthread_mutex_t lock; /* guards keys and n */
    struct h2g_ticket_key keys[H2G_TICKET_KEYS_MAX];
    size_t n;
};

struct h2g_ticket_store *ticket_store_new(const struct h2g_ticket_key *keys, size_t n)
{
    struct h2g_ticket_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    atomic_init(&s->refcnt, 1);
    ticket_store_set(s, keys, n);
    return s;
}

struct h2g_ticket_store *ticket_store_ref(struct h2g_ticket_store *s)
{
    atomic_fetch_add(&s->refcnt, 1);
    return s;
}

void ticket_store_unref(struct h2g_ticket_store *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refcnt, 1) != 1)
        return;
    OPENSSL_cleanse(s->keys, sizeof(s->keys));
    pthread_mutex_destroy(&s->lock);
    free(s);
}

bool ticket_store_in_use(struct h2g_ticket_store *s)
{
    return atomic_load(&s->refcnt) > 1;
}

void ticket_store_set(struct h2g_ticket_store *s, const struct h2g_ticket_key *keys, size_t n)
{
    pthread_mutex_lock(&s->lock);
    s->n = n < H2G_TICKET_KEYS_MAX ? n : H2G_TICKET_KEYS_MAX;
    if (s->n > 0)
        memcpy(s->keys, keys, s->n * sizeof(*keys));
    pthread_mutex_unlock(&s->lock);
}

/* The key to encrypt with (enc) or the one named key_name, copied out of
 * the store under its lock: its index, or -1 (none). */
static int ticket_store_pick(struct h2g_ticket_store *s, bool enc, const unsigned char *key_name,
                             struct h2g_ticket_key *out)
{
    int found = -1;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && found < 0; i++) {
        if (enc || memcmp(key_name, s->keys[i].name, sizeof(s->keys[i].name)) == 0) {
            *out = s->keys[i];
            found = (int)i;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* Session tickets under the listener's keys (RFC 5077 4's layout, as
 * OpenSSL's own: AES-256-CBC, HMAC-SHA256).  Encrypt: the first key (no
 * key yet: no ticket).  Decrypt: the key named by the ticket; an unknown
 * name is a full handshake (0); a key other than the first asks for a
 * new ticket (2), so that tickets move to the new key during a rotation,
 * and so does TLS 1.3 always: OpenSSL's own keys give a resumed TLS 1.3
 * client a new ticket, and RFC 8446 C.4 wants clients to use each ticket
 * once. */
static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const struct h2g_tls_ctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct h2g_ticket_key k;
    int i = ticket_store_pick(t->keys, enc, key_name, &k);
    if (i < 0)
        return 0;
    if (enc) {
        memcpy(key_name, k.name, sizeof(k.name));
        if (RAND_bytes(iv, 16) != 1)
            i = -1;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (i < 0 || EVP_MAC_CTX_set_params(hctx, params) != 1 ||
        EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv, enc) != 1)
        i = -1;
    OPENSSL_cleanse(&k, sizeof(k));
    if (i < 0)
        return -1;
    return enc || (i == 0 && SSL_version(ssl) < TLS1_3_VERSION) ? 1 : 2;
}

int ticket_keys_decode(const struct h2g_ticket_keys_text *kt, const char *src, struct h2g_ticket_key *out,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < kt->n; i++) {
        unsigned char raw[H2G_TICKET_KEY_LEN + 2]; /* 81 with the padding */
        if (EVP_DecodeBlock(raw, (const unsigned char *)kt->keys[i].b64, H2G_TICKET_KEY_B64_LEN) !=
            H2G_TICKET_KEY_LEN + 1) {
            snprintf(err, errlen, "%s:%u: not base64", src, kt->keys[i].line);
            return -1;
        }
        struct h2g_ticket_key *k = &out[i];
        memcpy(k->name, raw, sizeof(k->name));
        memcpy(k->aes, raw + sizeof(k->name), sizeof(k->aes));
        memcpy(k->hmac, raw + sizeof(k->name) + sizeof(k->aes), sizeof(k->hmac));
        OPENSSL_cleanse(raw, sizeof(raw));
        for (size_t j = 0; j < i; j++) {
            if (memcmp(out[j].name, k->name, sizeof(k->name)) == 0) {
                snprintf(err, errlen, "%s:%u: the key name (its first 16 bytes) of line %u again", src,
                         kt->keys[i].line, kt->keys[j].line);
                return -1;
            }
        }
    }
    return (int)kt->n;
}

/* The listener's key store: shared (memcached), or made from the keys
 * the config read (ticket_keys), or none.  false with err set. */
static bool ticket_keys_init(struct h2g_tls_ctx *t, struct h2g_ticket_store *store, char *err, size_t errlen)
{
    const struct h2g_tls_config *tc = t->lc->tls;
    if (tc->ticket_keys_text == NULL && tc->ticket_keys_memcached == NULL)
        return true;
    if (tc->ticket_keys_text == NULL) {
        t->keys = store != NULL ? ticket_store_ref(store) : ticket_store_new(NULL, 0);
    } else {
        struct h2g_ticket_key keys[H2G_TICKET_KEYS_MAX];
        int n = ticket_keys_decode(tc->ticket_keys_text, tc->ticket_keys, keys, err, errlen);
        if (n < 0)
            return false;
        t->keys = ticket_store_new(keys, (size_t)n);
        OPENSSL_cleanse(keys, sizeof(keys));
    }
    if (t->keys == NULL)
        snprintf(err, errlen, "out of memory");
    return t->keys != NULL;
}

/* --- the records' hand-off (tls_record.h) --- */

static int record_index = -1;

static void keylog_cb(const SSL *ssl, const char *line)
{
    struct h2g_tls_record *r = record_index >= 0 ? SSL_get_ex_data(ssl, record_index) : NULL;
    if (r != NULL)
        tls_record_keylog(r, line);
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    if (arg != NULL)
        tls_record_msg(arg, write_p, content_type, buf, len);
}

void tls_watch_records(SSL *ssl, struct h2g_tls_record *r)
{
    if (record_index < 0 || SSL_set_ex_data(ssl, record_index, r) != 1)
        return; /* no secrets: never handed off */
    SSL_set_msg_callback(ssl, msg_cb);
    SSL_set_msg_callback_arg(ssl, r);
}

void tls_unwatch_records(SSL *ssl)
{
    if (record_index >= 0)
        SSL_set_ex_data(ssl, record_index, NULL);
    SSL_set_msg_callback(ssl, NULL);
    SSL_set_msg_callback_arg(ssl, NULL);
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
    /* On every context: the SNI callback may switch to another. */
    SSL_CTX_set_app_data(ctx, t);
    if (t->keys != NULL)
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
    /* On every context too: OpenSSL logs through the one in use. */
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    return ctx;
}

struct h2g_tls_ctx *tls_ctx_new(const struct h2g_listen_config *lc, struct h2g_ticket_store *store, char *err,
                                size_t errlen)
{
    struct h2g_tls_ctx *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->lc = lc;
    /* Made once, here, before the workers (main). */
    if (record_index < 0)
        record_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
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
    if (!ticket_keys_init(t, store, err, errlen))
        goto fail;
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
    ticket_store_unref(t->keys);
    free(t);
}

bool tls_cert_covers(SSL *ssl, const char *host, size_t len)
{
    return tls_x509_covers(SSL_get_certificate(ssl), host, len);
}

bool tls_x509_covers(X509 *x, const char *host, size_t len)
{
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
