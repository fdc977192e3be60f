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
    uint16_t version;
    const char *name;
    const EVP_CIPHER *(*cipher)(void);
    const char *digest;
    uint8_t key_len;
    uint8_t hash_len;     /* TLS 1.3: of the secrets */
    uint8_t fixed_iv_len; /* TLS 1.2: 4 (GCM, and 8 explicit bytes a record) or 12 (ChaCha20) */
};

/* What h2gate offers (tls.c): TLS 1.3's three, TLS 1.2's ECDHE AEADs. */
static const struct suite suites[] = {
    {0x1301, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", EVP_aes_128_gcm, "SHA256", 16, 32, 12},
    {0x1302, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", EVP_aes_256_gcm, "SHA384", 32, 48, 12},
    {0x1303, TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", EVP_chacha20_poly1305, "SHA256", 32, 32, 12},
    {0xC02B, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", EVP_aes_128_gcm, "SHA256", 16, 0, 4},
    {0xC02F, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", EVP_aes_128_gcm, "SHA256", 16, 0, 4},
    {0xC02C, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", EVP_aes_256_gcm, "SHA384", 32, 0, 4},
    {0xC030, TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384", EVP_aes_256_gcm, "SHA384", 32, 0, 4},
    {0xCCA9, TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", EVP_chacha20_poly1305, "SHA256", 32, 0, 12},
    {0xCCA8, TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", EVP_chacha20_poly1305, "SHA256", 32, 0, 12},
};

/* One direction: its current traffic secret (TLS 1.2: its write key),
 * and what it gives. */
struct dir {
    unsigned char secret[MAX_SECRET];
    unsigned char iv[IV_LEN];
    uint64_t seq;         /* records under this secret so far */
    uint64_t seq12;       /* TLS 1.2: records since its ChangeCipherSpec */
    EVP_CIPHER_CTX *ctx;  /* keyed; NULL asleep */
    bool have;            /* secret known */
    bool ccs;             /* TLS 1.2: its ChangeCipherSpec went by */
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
    X509 *cert;      /* the certificate it was shown, once ours (a reference) */
    unsigned char master[48]; /* TLS 1.2: the master secret, until the keys are made */
    bool have_master;
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
    X509_free(r->cert);
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

/* Hex to bytes: n bytes, or -1. */
static int unhex_into(const char *hex, size_t hex_len, unsigned char *out, size_t room)
{
    if (hex_len % 2 != 0 || hex_len / 2 > room)
        return -1;
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (int)(hex_len / 2);
}

/* TLS 1.2: "CLIENT_RANDOM <client random> <master secret>". */
static void keylog_master(struct h2g_tls_record *r, const char *rest)
{
    const char *hex = strchr(rest, ' ');
    if (hex == NULL)
        return;
    hex++;
    size_t n = strcspn(hex, "\r\n");
    r->have_master = unhex_into(hex, n, r->master, sizeof(r->master)) == (int)sizeof(r->master);
}

/* "LABEL <client random> <secret>", NSS key log format: only the first
 * application traffic secrets matter; each resets its sequence. */
void tls_record_keylog(struct h2g_tls_record *r, const char *line)
{
    static const char srv[] = "SERVER_TRAFFIC_SECRET_0 ", cli[] = "CLIENT_TRAFFIC_SECRET_0 ";
    static const char ms[] = "CLIENT_RANDOM ";
    struct dir *d;
    if (strncmp(line, ms, sizeof(ms) - 1) == 0) {
        keylog_master(r, line + sizeof(ms) - 1);
        return;
    }
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
    if ((n != 64 && n != 96) || unhex_into(hex, n, d->secret, sizeof(d->secret)) < 0) {
        d->have = false;
        return;
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
    } else if (content_type == SSL3_RT_HEADER && len >= HDR) {
        /* TLS 1.2: each record header, either way; a ChangeCipherSpec
         * record starts the count of the protected ones after it. */
        struct dir *d = write_p ? &r->wr : &r->rd;
        if (*(const unsigned char *)buf == SSL3_RT_CHANGE_CIPHER_SPEC) {
            d->ccs = true;
            d->seq12 = 0;
        } else if (d->ccs) {
            d->seq12++;
        }
    }
}

static const struct suite *find_suite(uint16_t id, int version)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id && suites[i].version == version)
            return &suites[i];
    return NULL;
}

/* A TLS 1.2 key block (client write key, server write key, client
 * write IV, server write IV): the client's are our read side's. */
static void set_keys12(struct h2g_tls_record *r, const struct suite *s, const unsigned char *block)
{
    memcpy(r->rd.secret, block, s->key_len);
    memcpy(r->wr.secret, block + s->key_len, s->key_len);
    memcpy(r->rd.iv, block + 2 * s->key_len, s->fixed_iv_len);
    memcpy(r->wr.iv, block + 2 * s->key_len + s->fixed_iv_len, s->fixed_iv_len);
}

bool tls_record_adopt12(struct h2g_tls_record *r, uint16_t suite_id, const unsigned char *block, size_t len)
{
    const struct suite *s = find_suite(suite_id, TLS1_2_VERSION);
    if (s == NULL || len != 2u * s->key_len + 2u * s->fixed_iv_len)
        return false;
    set_keys12(r, s, block);
    r->suite = s;
    return true;
}

/* TLS 1.2 (RFC 5246 6.3; RFC 5288, RFC 7905): the key block from the
 * master secret and both randoms; the client's write key and IV are our
 * read side's.  The sequence numbers are the records since each
 * direction's ChangeCipherSpec. */
static bool take12(struct h2g_tls_record *r, const SSL *ssl, const struct suite *s)
{
    if (!r->have_master || !r->rd.ccs || !r->wr.ccs)
        return false;
    unsigned char seed[13 + 64], block[2 * 32 + 2 * 12];
    memcpy(seed, "key expansion", 13);
    if (SSL_get_server_random(ssl, seed + 13, 32) != 32 || SSL_get_client_random(ssl, seed + 45, 32) != 32)
        return false;
    size_t n = 2u * s->key_len + 2u * s->fixed_iv_len;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)s->digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, r->master, sizeof(r->master)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
        OSSL_PARAM_construct_end(),
    };
    bool ok = kctx != NULL && EVP_KDF_derive(kctx, block, n, p) == 1;
    EVP_KDF_CTX_free(kctx);
    if (ok) {
        set_keys12(r, s, block);
        r->rd.seq = r->rd.seq12;
        r->wr.seq = r->wr.seq12;
        OPENSSL_cleanse(r->master, sizeof(r->master));
        r->have_master = false;
    }
    OPENSSL_cleanse(block, sizeof(block));
    return ok;
}

bool tls_record_take(struct h2g_tls_record *r, const SSL *ssl)
{
    if (r->suite != NULL)
        return true;
    int version = SSL_version(ssl);
    if (r->stale || (version != TLS1_3_VERSION && version != TLS1_2_VERSION))
        return false;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    SSL_SESSION *sess = SSL_get_session(ssl);
    if (c == NULL || sess == NULL || SSL_SESSION_get_max_fragment_length(sess) != TLSEXT_max_fragment_length_DISABLED)
        return false;
    const struct suite *s = find_suite(SSL_CIPHER_get_protocol_id(c), version);
    if (s == NULL)
        return false;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni != NULL && (r->sni = strdup(sni)) == NULL)
        return false;
    if (version == TLS1_3_VERSION ? tls_record_adopt(r, s->id) : take12(r, ssl, s)) {
        r->suite = s;
        r->cert = SSL_get_certificate(ssl);
        if (r->cert != NULL)
            X509_up_ref(r->cert);
        return true;
    }
    free(r->sni);
    r->sni = NULL;
    return false;
}

bool tls_record_adopt(struct h2g_tls_record *r, uint16_t suite_id)
{
    const struct suite *s = find_suite(suite_id, TLS1_3_VERSION);
    if (!r->rd.have || !r->wr.have || r->stale || s == NULL || s->hash_len != r->secret_len)
        return false;
    r->suite = s;
    return true;
}

bool tls_record_owned(const struct h2g_tls_record *r)
{
    return r != NULL && r->suite != NULL;
}

const char *tls_record_sni(const struct h2g_tls_record *r)
{
    return r->sni;
}

X509 *tls_record_cert(const struct h2g_tls_record *r)
{
    return r->cert;
}

const char *tls_record_version_name(const struct h2g_tls_record *r)
{
    return r->suite == NULL ? NULL : r->suite->version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
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

/* TLS 1.3: the key and IV from the secret; TLS 1.2: the key is kept as
 * it is (take12). */
static int key_dir(const struct suite *s, struct dir *d, int enc)
{
    unsigned char key[32];
    int rc = -1;
    bool v13 = s->version == TLS1_3_VERSION;
    if ((!v13 || (expand_label(s, d->secret, "key", key, s->key_len) == 0 &&
                  expand_label(s, d->secret, "iv", d->iv, IV_LEN) == 0)) &&
        (d->ctx != NULL || (d->ctx = EVP_CIPHER_CTX_new()) != NULL) &&
        EVP_CipherInit_ex(d->ctx, s->cipher(), NULL, v13 ? key : d->secret, NULL, enc) == 1)
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

/* The record's nonce: the IV xor the sequence number (TLS 1.3, and TLS
 * 1.2's ChaCha20-Poly1305), or TLS 1.2 GCM's 4-byte salt then the 8
 * explicit bytes the record carries (ours: the sequence number). */
static void make_nonce(const struct suite *s, const struct dir *d, const unsigned char *explicit_nonce,
                       unsigned char out[IV_LEN])
{
    if (s->fixed_iv_len == 4) {
        memcpy(out, d->iv, 4);
        memcpy(out + 4, explicit_nonce, 8);
        return;
    }
    memcpy(out, d->iv, IV_LEN);
    for (int i = 0; i < 8; i++)
        out[IV_LEN - 1 - i] ^= (unsigned char)(d->seq >> (8 * i));
}

static size_t explicit_len(const struct suite *s)
{
    return s->fixed_iv_len == 4 ? 8 : 0;
}

/* The additional data: TLS 1.3, the record header; TLS 1.2, the
 * sequence number, type, version and plaintext length. */
static int put_aad(EVP_CIPHER_CTX *ctx, const struct suite *s, const struct dir *d, const unsigned char *hdr,
                   size_t plain_len)
{
    int len;
    if (s->version == TLS1_3_VERSION)
        return EVP_CipherUpdate(ctx, NULL, &len, hdr, HDR) == 1 ? 0 : -1;
    unsigned char aad[13];
    for (int i = 0; i < 8; i++)
        aad[i] = (unsigned char)(d->seq >> (56 - 8 * i));
    aad[8] = hdr[0];
    aad[9] = hdr[1];
    aad[10] = hdr[2];
    aad[11] = (unsigned char)(plain_len >> 8);
    aad[12] = (unsigned char)plain_len;
    return EVP_CipherUpdate(ctx, NULL, &len, aad, sizeof(aad)) == 1 ? 0 : -1;
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
    const struct suite *s = r->suite;
    bool v13 = s->version == TLS1_3_VERSION;
    size_t ex = explicit_len(s), clen = ex + n + v13 + TAG;
    struct evbuffer_iovec out;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)(HDR + clen), &out, 1) < 1 || out.iov_len < HDR + clen)
        return -1;
    unsigned char *p = out.iov_base, *q = p + HDR + ex;
    p[0] = v13 ? CT_APPDATA : type;
    p[1] = 3;
    p[2] = 3;
    p[3] = (unsigned char)(clen >> 8);
    p[4] = (unsigned char)clen;
    for (size_t i = 0; i < ex; i++)
        p[HDR + i] = (unsigned char)(r->wr.seq >> (56 - 8 * i));
    unsigned char nonce[IV_LEN];
    make_nonce(s, &r->wr, p + HDR, nonce);
    EVP_CIPHER_CTX *ctx = r->wr.ctx;
    int len;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 || put_aad(ctx, s, &r->wr, p, n) != 0)
        return -1;
    if (src != NULL) {
        if (crypt_span(ctx, src, 0, n, q) != 0)
            return -1;
    } else if (n > 0 && EVP_EncryptUpdate(ctx, q, &len, bytes, (int)n) != 1) {
        return -1;
    }
    q += n;
    if ((v13 && EVP_EncryptUpdate(ctx, q++, &len, &type, 1) != 1) || EVP_EncryptFinal_ex(ctx, q, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG, q) != 1)
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
    bool v13 = r->suite->version == TLS1_3_VERSION;
    size_t left, over = HDR + explicit_len(r->suite) + v13 + TAG;
    /* Within the limit exactly: the socket writes at most that much at
     * once (sockwrite_now), and a record past it would leave a tail
     * behind each write, and the socket's write event on for it. */
    while ((left = evbuffer_get_length(src)) > 0 && (limit < 0 || made + over < (size_t)limit)) {
        size_t n = left < MAX_PLAIN ? left : MAX_PLAIN;
        if (limit >= 0 && n > (size_t)limit - made - over)
            n = (size_t)limit - made - over;
        if (seal_record(r, dst, src, NULL, n, CT_APPDATA) != 0)
            return fail(r, AL_INTERNAL, "out of memory sealing a record");
        made += n + over;
        any = true;
        if (v13 && r->wr.seq >= REKEY_AFTER && send_key_update(r, dst) != H2G_REC_OK)
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
static enum h2g_rec_result on_content(struct h2g_tls_record *r, struct evbuffer *dst, struct evbuffer_iovec *out,
                                      size_t n, unsigned char type, size_t *made)
{
    const unsigned char *pt = out->iov_base;
    bool v13 = r->suite->version == TLS1_3_VERSION;
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
        /* user_canceled: its close_notify follows; TLS 1.2 warnings */
        if (pt[1] == 90 || (!v13 && pt[0] == 1))
            return H2G_REC_OK;
        return fail(r, 0, "the client sent a fatal alert");
    case CT_HANDSHAKE:
        if (!v13)
            return fail(r, AL_UNEXPECTED, "a handshake message after the handshake (renegotiation)");
        return on_handshake(r, pt, n);
    default:
        return fail(r, AL_UNEXPECTED, "a record of an unknown content type");
    }
}

/* TLS 1.3: the content type is the inner plaintext's last non-zero byte. */
static enum h2g_rec_result on_inner(struct h2g_tls_record *r, struct evbuffer *dst, struct evbuffer_iovec *out,
                                    size_t plen, size_t *made)
{
    const unsigned char *pt = out->iov_base;
    size_t i = plen;
    while (i > 0 && pt[i - 1] == 0)
        i--;
    if (i == 0)
        return fail(r, AL_UNEXPECTED, "a record of padding only");
    return on_content(r, dst, out, i - 1, pt[i - 1], made);
}

/* Is a record header acceptable (whatever its length)? */
static enum h2g_rec_result check_header(struct h2g_tls_record *r, const unsigned char *h, size_t clen)
{
    bool v13 = r->suite->version == TLS1_3_VERSION;
    if (v13 ? h[0] != CT_APPDATA : h[0] < CT_ALERT || h[0] > CT_APPDATA)
        return fail(r, AL_UNEXPECTED, v13 ? "an unprotected record after the handshake"
                                          : "a record of an unexpected type after the handshake");
    if (h[1] != 3 || h[2] != 3 || clen < explicit_len(r->suite) + v13 + TAG)
        return fail(r, AL_DECODE, "a malformed record header");
    if (clen > MAX_CIPHER)
        return fail(r, AL_OVERFLOW, "a record over 2^14 + 256 bytes");
    return H2G_REC_OK;
}

/* One whole record from src, if there is one. */
static enum h2g_rec_result open_record(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                       size_t *made)
{
    unsigned char h[HDR + 8];
    size_t avail = evbuffer_get_length(src);
    if (avail < HDR || evbuffer_copyout(src, h, HDR) != HDR)
        return H2G_REC_NEED_MORE;
    size_t clen = (size_t)h[3] << 8 | h[4], ex = explicit_len(r->suite);
    if (check_header(r, h, clen) != H2G_REC_OK)
        return H2G_REC_ERROR;
    if (avail < HDR + clen)
        return H2G_REC_NEED_MORE;
    size_t plen = clen - ex - TAG;
    struct evbuffer_iovec out;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)(plen > 0 ? plen : 1), &out, 1) < 1 || out.iov_len < plen)
        return fail(r, AL_INTERNAL, "out of memory opening a record");
    unsigned char nonce[IV_LEN], tag[TAG];
    if (ex > 0)
        evbuffer_copyout(src, h, HDR + ex);
    make_nonce(r->suite, &r->rd, h + HDR, nonce);
    EVP_CIPHER_CTX *ctx = r->rd.ctx;
    struct evbuffer_ptr pos;
    int len;
    if (evbuffer_ptr_set(src, &pos, HDR + ex + plen, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_copyout_from(src, &pos, tag, TAG) != TAG || EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
        put_aad(ctx, r->suite, &r->rd, h, plen) != 0 || crypt_span(ctx, src, HDR + ex, plen, out.iov_base) != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG, tag) != 1)
        return fail(r, AL_INTERNAL, "a record could not be opened");
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *)out.iov_base + plen, &len) != 1)
        return fail(r, AL_BAD_MAC, "a record that does not authenticate");
    evbuffer_drain(src, HDR + clen);
    r->rd.seq++;
    if (r->suite->version == TLS1_3_VERSION)
        return on_inner(r, dst, &out, plen, made);
    return on_content(r, dst, &out, plen, h[0], made);
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
