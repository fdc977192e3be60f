#include "upstream/upstream_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/failalloc.h"
#include "runtime/log.h"
#include "runtime/services.h"
#include "runtime/ssl_reason.h"
#include "runtime/stats.h"
#include "upstream/upstream_pool.h"

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

/* The pool of an SSL (its connection's) and its context's gen, for the
 * session callback: the context's h2g_upstream_tls may be gone by then
 * (a reload freed it; a pooled connection outlives it). */
static int pool_index = -1, gen_index = -1;
static atomic_uint_fast64_t next_gen = 1;

static void ssl_reason(char *err, size_t errlen, const char *what, const char *path)
{
    char buf[256];
    snprintf(err, errlen, "%s '%s': %s", what, path, h2g_ssl_reason(buf, sizeof(buf)));
}

/* A TLS 1.3 ticket comes after the handshake, a TLS 1.2 session with
 * it: either way the pool keeps the newest, from this context.  A copy:
 * the connection's own session is marked not resumable when it is freed
 * without a close_notify sent (an upstream that closed first, an
 * abort), which must not spoil the one kept. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct h2g_upstream_pool *p = SSL_get_ex_data(ssl, pool_index);
    SSL_SESSION *copy = p != NULL ? SSL_SESSION_dup(sess) : NULL;
    if (copy == NULL)
        return 0; /* out of memory: the next connection has a full handshake */
    if (p->tls_session != NULL)
        SSL_SESSION_free(p->tls_session);
    p->tls_session = copy;
    p->tls_gen = (uint64_t)(uintptr_t)SSL_get_ex_data(ssl, gen_index);
    return 0;
}

static bool load_files(SSL_CTX *ctx, const struct h2g_upstream_tls_config *cfg, char *err, size_t errlen)
{
    const char *ca = cfg->ca != NULL ? cfg->ca : SYSTEM_CA;
    if (cfg->verify && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_reason(err, errlen, "ca", ca);
        return false;
    }
    if (cfg->certificate == NULL)
        return true;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->certificate) != 1) {
        ssl_reason(err, errlen, "certificate", cfg->certificate);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(err, errlen, "key", cfg->key);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_reason(err, errlen, "key", cfg->key);
        return false;
    }
    return true;
}

struct h2g_upstream_tls *upstream_tls_new(const struct h2g_upstream_tls_config *cfg, bool h2, char *err,
                                          size_t errlen)
{
    /* On the main thread, before a worker uses them. */
    if (pool_index < 0)
        pool_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (gen_index < 0)
        gen_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    struct h2g_upstream_tls *t = calloc(1, sizeof(*t));
    if (t == NULL || pool_index < 0 || gen_index < 0 || (t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
        (cfg->server_name != NULL && (t->server_name = strdup(cfg->server_name)) == NULL)) {
        snprintf(err, errlen, "out of memory");
        upstream_tls_free(t);
        return NULL;
    }
    t->verify = cfg->verify;
    t->h2 = h2;
    t->gen = atomic_fetch_add(&next_gen, 1);
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(t->ctx, new_session_cb);
    static const unsigned char alpn_h2[] = "\x02h2", alpn_h1[] = "\x08http/1.1";
    if ((h2 ? SSL_CTX_set_alpn_protos(t->ctx, alpn_h2, sizeof(alpn_h2) - 1)
            : SSL_CTX_set_alpn_protos(t->ctx, alpn_h1, sizeof(alpn_h1) - 1)) != 0) {
        snprintf(err, errlen, "out of memory");
        upstream_tls_free(t);
        return NULL;
    }
    if (!load_files(t->ctx, cfg, err, errlen)) {
        upstream_tls_free(t);
        return NULL;
    }
    return t;
}

void upstream_tls_free(struct h2g_upstream_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->server_name);
    free(t);
}

static bool is_ip_literal(const char *name)
{
    unsigned char b[16];
    return inet_pton(AF_INET, name, b) == 1 || inet_pton(AF_INET6, name, b) == 1;
}

/* SNI unless an address; the name or address the certificate must
 * cover. */
static int set_names(SSL *ssl, const struct h2g_upstream_tls *t, const char *name)
{
    bool ip = is_ip_literal(name);
    if (!ip && SSL_set_tlsext_host_name(ssl, name) != 1)
        return -1;
    if (!t->verify)
        return 0;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if (ip)
        return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0 : -1;
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, name) == 1 ? 0 : -1;
}

struct bufferevent *upstream_tls_bev(const struct h2g_upstream_tls *t, struct h2g_upstream_pool *p)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL)
        return NULL;
    const char *name = t->server_name != NULL ? t->server_name : p->addr.host;
    if (set_names(ssl, t, name) != 0 || SSL_set_ex_data(ssl, pool_index, p) != 1 ||
        SSL_set_ex_data(ssl, gen_index, (void *)(uintptr_t)t->gen) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    if (p->tls_session != NULL && p->tls_gen == t->gen)
        SSL_set_session(ssl, p->tls_session);
    /* libevent 2.1.12's TLS bufferevents cannot survive a failed
     * allocation of their buffers (failalloc.h), and when the call fails
     * it has freed ssl itself (CLOSE_ON_FREE).  Nor can
     * bufferevent_setwatermark survive one of its callback entry, made
     * the first time a read watermark is set (sockread_use_bev sets
     * them): made here once, held, and kept (a high mark of 0 only turns
     * it off). */
    failalloc_hold();
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(p->svc->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev != NULL) {
        bufferevent_setwatermark(bev, EV_READ, 0, 1);
        bufferevent_setwatermark(bev, EV_READ, 0, 0);
    }
    failalloc_release();
    if (bev == NULL)
        return NULL;
    /* An upstream that closes without close_notify ends a
     * close-delimited body like a cleartext one: EOF, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

const char *upstream_tls_failure(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = bufferevent_get_openssl_error(bev), more;
    while ((more = bufferevent_get_openssl_error(bev)) != 0)
        (void)more;
    if (vr != X509_V_OK) {
        snprintf(buf, len, "TLS: certificate verify failed: %s", X509_verify_cert_error_string(vr));
    } else if (e != 0) {
        char r[200];
        ERR_error_string_n(e, r, sizeof(r));
        snprintf(buf, len, "TLS handshake failed: %s", r);
    } else {
        int err = EVUTIL_SOCKET_ERROR();
        snprintf(buf, len, "%s", err != 0 ? evutil_socket_error_to_string(err) : "TLS handshake failed");
    }
    ERR_clear_error();
    return buf;
}

const char *upstream_tls_ready(struct bufferevent *bev, struct h2g_upstream_pool *p, bool h2, bool *resumed)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    *resumed = ssl != NULL && SSL_session_reused(ssl);
    STAT_INC(&p->svc->stats, upstream_tls_handshakes);
    if (*resumed)
        STAT_INC(&p->svc->stats, upstream_tls_resumed);
    if (!h2 || ssl == NULL)
        return NULL;
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0)
        return NULL;
    return "TLS: the upstream did not select h2 in ALPN";
}

void upstream_tls_pool_clear(struct h2g_upstream_pool *p)
{
    if (p->tls_session != NULL)
        SSL_SESSION_free(p->tls_session);
    p->tls_session = NULL;
}
