#include "edge/tls_record.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8446 5.1-5.3 */
#define HDR 5
#define TAG 16
#define MAX_PLAIN 16384
#define MAX_CIPHER (MAX_PLAIN + 256)
#define IV_LEN 12
#define MAX_SECRET 48
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define HS_KEY_UPDATE 24
/* Our own KeyUpdate this many records into a key: AES-GCM's margin is
 * 2^24.5 full records (RFC 8446 5.5). */
#define REKEY_AFTER (UINT64_C(1) << 24)

/* Alerts we send (RFC 8446 6) */
#define AL_UNEXPECTED 10
#define AL_BAD_MAC 20
#define AL_OVERFLOW 22
#define AL_ILLEGAL 47
#define AL_DECODE 50
#define AL_INTERNAL 80

struct suite {
    uint16_t id; /* IANA */
    const char *name;
    const EVP_CIPHER *(*cipher)(void);
    const char *digest;
    uint8_t key_len;
    uint8_t hash_len;
};

static const struct suite suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", EVP_aes_128_gcm, "SHA256", 16, 32},
    {0x1302, "TLS_AES_256_GCM_SHA384", EVP_aes_256_gcm, "SHA384", 32, 48},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", EVP_chacha20_poly1305, "SHA256", 32, 32},
};

/* One direction: its current traffic secret, and what it gives. */
struct dir {
    unsigned char secret[MAX_SECRET];
    unsigned char iv[IV_LEN];
    uint64_t seq;         /* records under this secret so far */
    EVP_CIPHER_CTX *ctx;  /* keyed; NULL asleep */
    bool have;            /* secret known */
};

struct h2g_tls_record {
    struct dir rd, wr;
    const struct suite *suite; /* set once ours */
    uint8_t secret_len;
    bool stale;      /* a KeyUpdate went by while OpenSSL had it: secrets unknown */
    bool owe_update; /* the client asked for our KeyUpdate */
    uint8_t alert;   /* to send after an error; 0: none */
    const char *err;
    char *sni;       /* the client's server name, once ours (owned) */
};

struct h2g_tls_record *tls_record_new(void)
{
    return calloc(1, sizeof(struct h2g_tls_record));
}

void tls_record_free(struct h2g_tls_record *r)
{
    if (r == NULL)
        return;
    tls_record_unkey(r);
    free(r->sni);
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

/* --- capture, while OpenSSL has the connection --- */

static int unhex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "LABEL <client random> <secret>", NSS key log format: only the first
 * application traffic secrets matter; each resets its sequence. */
void tls_record_keylog(struct h2g_tls_record *r, const char *line)
{
    static const char srv[] = "SERVER_TRAFFIC_SECRET_0 ", cli[] = "CLIENT_TRAFFIC_SECRET_0 ";
    struct dir *d;
    if (strncmp(line, srv, sizeof(srv) - 1) == 0)
        d = &r->wr;
    else if (strncmp(line, cli, sizeof(cli) - 1) == 0)
        d = &r->rd;
    else
        return;
    const char *hex = strchr(line + sizeof(srv) - 1, ' ');
    if (hex == NULL)
        return;
    hex++;
    size_t n = strlen(hex);
    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r'))
        n--;
    if (n != 64 && n != 96)
        return;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            d->have = false;
            return;
        }
        d->secret[i] = (unsigned char)(hi << 4 | lo);
    }
    r->secret_len = (uint8_t)(n / 2);
    d->seq = 0;
    d->have = true;
}

/* Every protected TLS 1.3 record OpenSSL seals or opens is reported
 * with its inner content type: the count since the secret is the
 * sequence number. */
void tls_record_msg(struct h2g_tls_record *r, int write_p, int content_type, const void *buf, size_t len)
{
    if (content_type == SSL3_RT_INNER_CONTENT_TYPE) {
        if (write_p)
            r->wr.seq++;
        else
            r->rd.seq++;
    } else if (content_type == SSL3_RT_HANDSHAKE && len > 0 && *(const unsigned char *)buf == SSL3_MT_KEY_UPDATE) {
        r->stale = true;
    }
}

bool tls_record_take(struct h2g_tls_record *r, const SSL *ssl)
{
    if (r->suite != NULL)
        return true;
    if (!r->rd.have || !r->wr.have || r->stale || SSL_version(ssl) != TLS1_3_VERSION)
        return false;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    SSL_SESSION *sess = SSL_get_session(ssl);
    if (c == NULL || sess == NULL || SSL_SESSION_get_max_fragment_length(sess) != TLSEXT_max_fragment_length_DISABLED)
        return false;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni != NULL && (r->sni = strdup(sni)) == NULL)
        return false;
    if (tls_record_adopt(r, SSL_CIPHER_get_protocol_id(c)))
        return true;
    free(r->sni);
    r->sni = NULL;
    return false;
}

bool tls_record_adopt(struct h2g_tls_record *r, uint16_t suite_id)
{
    if (!r->rd.have || !r->wr.have || r->stale)
        return false;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i].id == suite_id && suites[i].hash_len == r->secret_len) {
            r->suite = &suites[i];
            return true;
        }
    }
    return false;
}

bool tls_record_owned(const struct h2g_tls_record *r)
{
    return r != NULL && r->suite != NULL;
}

const char *tls_record_sni(const struct h2g_tls_record *r)
{
    return r->sni;
}

const char *tls_record_suite_name(const struct h2g_tls_record *r)
{
    return r->suite != NULL ? r->suite->name : NULL;
}

/* --- keys (RFC 8446 7.1, 7.3) --- */

/* HKDF-Expand-Label(secret, label, "", out_len) */
static int expand_label(const struct suite *s, const unsigned char *secret, const char *label, unsigned char *out,
                        size_t out_len)
{
    unsigned char info[2 + 1 + 6 + 16 + 1];
    size_t ll = strlen(label), n = 0;
    info[n++] = (unsigned char)(out_len >> 8);
    info[n++] = (unsigned char)out_len;
    info[n++] = (unsigned char)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0; /* no context */
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s->digest, 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, s->hash_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end(),
    };
    int ok = kctx != NULL && EVP_KDF_derive(kctx, out, out_len, p) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok ? 0 : -1;
}

static int key_dir(const struct suite *s, struct dir *d, int enc)
{
    unsigned char key[32];
    int rc = -1;
    if (expand_label(s, d->secret, "key", key, s->key_len) == 0 &&
        expand_label(s, d->secret, "iv", d->iv, IV_LEN) == 0 &&
        (d->ctx != NULL || (d->ctx = EVP_CIPHER_CTX_new()) != NULL) &&
        EVP_CipherInit_ex(d->ctx, s->cipher(), NULL, key, NULL, enc) == 1)
        rc = 0;
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* The next generation of a direction's secret (KeyUpdate). */
static int update_dir(const struct suite *s, struct dir *d, int enc)
{
    unsigned char next[MAX_SECRET];
    if (expand_label(s, d->secret, "traffic upd", next, s->hash_len) != 0)
        return -1;
    memcpy(d->secret, next, s->hash_len);
    OPENSSL_cleanse(next, sizeof(next));
    d->seq = 0;
    return key_dir(s, d, enc);
}

int tls_record_key(struct h2g_tls_record *r)
{
    if (r->suite == NULL)
        return -1;
    if (key_dir(r->suite, &r->rd, 0) != 0 || key_dir(r->suite, &r->wr, 1) != 0) {
        tls_record_unkey(r);
        return -1;
    }
    return 0;
}

void tls_record_unkey(struct h2g_tls_record *r)
{
    EVP_CIPHER_CTX_free(r->rd.ctx);
    EVP_CIPHER_CTX_free(r->wr.ctx);
    r->rd.ctx = r->wr.ctx = NULL;
}

/* --- records --- */

static void make_nonce(const struct dir *d, unsigned char out[IV_LEN])
{
    memcpy(out, d->iv, IV_LEN);
    for (int i = 0; i < 8; i++)
        out[IV_LEN - 1 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

/* Runs the cipher over `n` bytes of src from offset `off`, into out. */
static int crypt_span(EVP_CIPHER_CTX *ctx, struct evbuffer *src, size_t off, size_t n, unsigned char *out)
{
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(src, &pos, off, EVBUFFER_PTR_SET) != 0)
        return -1;
    while (n > 0) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(src, (ev_ssize_t)n, &pos, v, 8);
        if (nv <= 0)
            return -1;
        for (int i = 0; i < nv && i < 8 && n > 0; i++) {
            size_t m = v[i].iov_len < n ? v[i].iov_len : n;
            int len;
            if (EVP_CipherUpdate(ctx, out, &len, v[i].iov_base, (int)m) != 1)
                return -1;
            out += len;
            n -= m;
            if (evbuffer_ptr_set(src, &pos, m, EVBUFFER_PTR_ADD) != 0 && n > 0)
                return -1;
        }
    }
    return 0;
}

/* One record of content type `type`: n bytes from src (then drained),
 * or from bytes when src is NULL.  0, or -1 (out of memory). */
static int seal_record(struct h2g_tls_record *r, struct evbuffer *dst, struct evbuffer *src, const void *bytes,
                       size_t n, unsigned char type)
{
    size_t clen = n + 1 + TAG;
    struct evbuffer_iovec out;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)(HDR + clen), &out, 1) < 1 || out.iov_len < HDR + clen)
        return -1;
    unsigned char *p = out.iov_base, *q = p + HDR;
    p[0] = CT_APPDATA;
    p[1] = 3;
    p[2] = 3;
    p[3] = (unsigned char)(clen >> 8);
    p[4] = (unsigned char)clen;
    unsigned char nonce[IV_LEN];
    make_nonce(&r->wr, nonce);
    EVP_CIPHER_CTX *ctx = r->wr.ctx;
    int len;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 || EVP_EncryptUpdate(ctx, NULL, &len, p, HDR) != 1)
        return -1;
    if (src != NULL) {
        if (crypt_span(ctx, src, 0, n, q) != 0)
            return -1;
    } else if (n > 0 && EVP_EncryptUpdate(ctx, q, &len, bytes, (int)n) != 1) {
        return -1;
    }
    q += n;
    if (EVP_EncryptUpdate(ctx, q, &len, &type, 1) != 1 || EVP_EncryptFinal_ex(ctx, q + 1, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG, q + 1) != 1)
        return -1;
    out.iov_len = HDR + clen;
    if (evbuffer_commit_space(dst, &out, 1) != 0)
        return -1;
    if (src != NULL)
        evbuffer_drain(src, n);
    r->wr.seq++;
    return 0;
}

int tls_record_seal_inner(struct h2g_tls_record *r, struct evbuffer *dst, const void *inner, size_t n)
{
    if (r->wr.ctx == NULL || n < 1 || n > MAX_PLAIN + 1)
        return -1;
    const unsigned char *p = inner;
    return seal_record(r, dst, NULL, p, n - 1, p[n - 1]);
}

static enum h2g_rec_result fail(struct h2g_tls_record *r, uint8_t alert, const char *why)
{
    r->alert = alert;
    r->err = why;
    return H2G_REC_ERROR;
}

/* Ours, the one RFC 8446 4.6.3 asks for, or one before the margin. */
static enum h2g_rec_result send_key_update(struct h2g_tls_record *r, struct evbuffer *dst)
{
    static const unsigned char ku[5] = {HS_KEY_UPDATE, 0, 0, 1, 0 /* update_not_requested */};
    if (seal_record(r, dst, NULL, ku, sizeof(ku), CT_HANDSHAKE) != 0 || update_dir(r->suite, &r->wr, 1) != 0)
        return fail(r, 0, "out of memory sending a KeyUpdate");
    r->owe_update = false;
    return H2G_REC_OK;
}

enum h2g_rec_result tls_record_seal(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                    ev_ssize_t limit)
{
    if (r->wr.ctx == NULL)
        return fail(r, 0, "records sealed without keys");
    size_t made = 0;
    bool any = false;
    if (r->owe_update) {
        if (send_key_update(r, dst) != H2G_REC_OK)
            return H2G_REC_ERROR;
        any = true;
    }
    size_t left;
    while ((left = evbuffer_get_length(src)) > 0 && (limit < 0 || made < (size_t)limit)) {
        size_t n = left < MAX_PLAIN ? left : MAX_PLAIN;
        if (seal_record(r, dst, src, NULL, n, CT_APPDATA) != 0)
            return fail(r, AL_INTERNAL, "out of memory sealing a record");
        made += HDR + n + 1 + TAG;
        any = true;
        if (r->wr.seq >= REKEY_AFTER && send_key_update(r, dst) != H2G_REC_OK)
            return H2G_REC_ERROR;
    }
    return any ? H2G_REC_OK : H2G_REC_NEED_MORE;
}

bool tls_record_owes_output(const struct h2g_tls_record *r)
{
    return r->owe_update;
}

/* A handshake message after the handshake: only KeyUpdate, whole, alone
 * in its record (RFC 8446 4.6.3, 5.1). */
static enum h2g_rec_result on_handshake(struct h2g_tls_record *r, const unsigned char *p, size_t n)
{
    if (n < 4 || 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]) != n)
        return fail(r, AL_UNEXPECTED, "a handshake message not alone and whole in its record");
    if (p[0] != HS_KEY_UPDATE)
        return fail(r, AL_UNEXPECTED, "a handshake message other than KeyUpdate after the handshake");
    if (n != 5 || p[4] > 1)
        return fail(r, n != 5 ? AL_DECODE : AL_ILLEGAL, "a malformed KeyUpdate");
    if (update_dir(r->suite, &r->rd, 0) != 0)
        return fail(r, AL_INTERNAL, "out of memory taking the client's KeyUpdate");
    if (p[4] == 1)
        r->owe_update = true;
    return H2G_REC_OK;
}

/* What an opened record holds: content, an alert, a KeyUpdate. */
static enum h2g_rec_result on_record(struct h2g_tls_record *r, struct evbuffer *dst, struct evbuffer_iovec *out,
                                     size_t plen, size_t *made)
{
    unsigned char *pt = out->iov_base;
    size_t i = plen;
    while (i > 0 && pt[i - 1] == 0)
        i--;
    if (i == 0)
        return fail(r, AL_UNEXPECTED, "a record of padding only");
    unsigned char type = pt[i - 1];
    size_t n = i - 1;
    if (n > MAX_PLAIN)
        return fail(r, AL_OVERFLOW, "a record over 2^14 bytes");
    switch (type) {
    case CT_APPDATA:
        if (n > 0) {
            out->iov_len = n;
            if (evbuffer_commit_space(dst, out, 1) != 0)
                return fail(r, AL_INTERNAL, "out of memory opening a record");
            *made += n;
        }
        return H2G_REC_OK;
    case CT_ALERT:
        if (n != 2)
            return fail(r, AL_DECODE, "a malformed alert");
        if (pt[1] == 0)
            return H2G_REC_EOF; /* close_notify */
        if (pt[1] == 90)
            return H2G_REC_OK; /* user_canceled: its close_notify follows */
        return fail(r, 0, "the client sent a fatal alert");
    case CT_HANDSHAKE:
        return on_handshake(r, pt, n);
    default:
        return fail(r, AL_UNEXPECTED, "a record of an unknown content type");
    }
}

/* One whole record from src, if there is one. */
static enum h2g_rec_result open_record(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                       size_t *made)
{
    unsigned char h[HDR];
    size_t avail = evbuffer_get_length(src);
    if (avail < HDR || evbuffer_copyout(src, h, HDR) != HDR)
        return H2G_REC_NEED_MORE;
    size_t clen = (size_t)h[3] << 8 | h[4];
    if (h[0] != CT_APPDATA)
        return fail(r, AL_UNEXPECTED, "an unprotected record after the handshake");
    if (h[1] != 3 || h[2] != 3 || clen < 1 + TAG)
        return fail(r, AL_DECODE, "a malformed record header");
    if (clen > MAX_CIPHER)
        return fail(r, AL_OVERFLOW, "a record over 2^14 + 256 bytes");
    if (avail < HDR + clen)
        return H2G_REC_NEED_MORE;
    size_t plen = clen - TAG;
    struct evbuffer_iovec out;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)plen, &out, 1) < 1 || out.iov_len < plen)
        return fail(r, AL_INTERNAL, "out of memory opening a record");
    unsigned char nonce[IV_LEN], tag[TAG];
    make_nonce(&r->rd, nonce);
    EVP_CIPHER_CTX *ctx = r->rd.ctx;
    struct evbuffer_ptr pos;
    int len;
    if (evbuffer_ptr_set(src, &pos, HDR + plen, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_copyout_from(src, &pos, tag, TAG) != TAG || EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, h, HDR) != 1 || crypt_span(ctx, src, HDR, plen, out.iov_base) != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG, tag) != 1)
        return fail(r, AL_INTERNAL, "a record could not be opened");
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *)out.iov_base + plen, &len) != 1)
        return fail(r, AL_BAD_MAC, "a record that does not authenticate");
    evbuffer_drain(src, HDR + clen);
    r->rd.seq++;
    return on_record(r, dst, &out, plen, made);
}

enum h2g_rec_result tls_record_open(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                    ev_ssize_t limit)
{
    if (r->rd.ctx == NULL)
        return fail(r, 0, "records opened without keys");
    size_t made = 0;
    bool any = false;
    while (limit < 0 || made < (size_t)limit) {
        enum h2g_rec_result res = open_record(r, src, dst, &made);
        if (res == H2G_REC_NEED_MORE)
            break;
        if (res != H2G_REC_OK)
            return res;
        any = true;
    }
    return any ? H2G_REC_OK : H2G_REC_NEED_MORE;
}

int tls_record_alert(struct h2g_tls_record *r, struct evbuffer *dst)
{
    if (r->alert == 0 || r->wr.ctx == NULL)
        return -1;
    const unsigned char a[2] = {2 /* fatal */, r->alert};
    r->alert = 0;
    return seal_record(r, dst, NULL, a, sizeof(a), CT_ALERT);
}

const char *tls_record_error(const struct h2g_tls_record *r)
{
    return r->err != NULL ? r->err : "no error";
}
