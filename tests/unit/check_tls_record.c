/* Tests for src/edge/tls_record.c against OpenSSL itself: a client SSL
 * and a server SSL over memory BIOs shake hands; the server side's
 * secrets and record counts are captured as tls.c captures them; then
 * the server's SSL is let go and its records are ours, and the client
 * (OpenSSL) must read what we seal and we must open what it writes:
 * application data both ways, its KeyUpdate, close_notify, a corrupt
 * record, a sleep (keys freed and made again).  Each TLS 1.3 suite. */
#include <check.h>
#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <string.h>

#include "edge/tls_record.h"
#include "suites.h"

static int rec_idx = -1;

static void keylog_cb(const SSL *ssl, const char *line)
{
    struct h2g_tls_record *r = SSL_get_ex_data(ssl, rec_idx);
    if (r != NULL)
        tls_record_keylog(r, line);
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    (void)version;
    (void)ssl;
    tls_record_msg(arg, write_p, content_type, buf, len);
}

/* A self-signed P-256 certificate, made once. */
static void server_cert(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(key);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

struct pair {
    SSL_CTX *sctx, *cctx;
    SSL *s, *c;
    BIO *s_in, *s_out, *c_in, *c_out; /* memory BIOs: s_out's bytes go to c_in, c_out's to s_in */
    struct h2g_tls_record *r;
};

/* Moves what each side wrote to the other. */
static void pump(struct pair *p)
{
    char buf[65536];
    int n;
    while ((n = BIO_read(p->s_out, buf, sizeof(buf))) > 0)
        BIO_write(p->c_in, buf, n);
    while ((n = BIO_read(p->c_out, buf, sizeof(buf))) > 0)
        BIO_write(p->s_in, buf, n);
}

static void pair_open(struct pair *p, const char *suite, int max_version, SSL_SESSION *resume)
{
    memset(p, 0, sizeof(*p));
    if (rec_idx < 0)
        rec_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    /* one server context for all: a second pair can resume the first's session */
    static SSL_CTX *sctx;
    if (sctx == NULL) {
        sctx = SSL_CTX_new(TLS_server_method());
        server_cert(sctx);
        SSL_CTX_set_keylog_callback(sctx, keylog_cb);
    }
    p->sctx = sctx;
    p->cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(p->cctx, max_version);
    if (suite != NULL && max_version == TLS1_3_VERSION)
        ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->cctx, suite), 1);
    else if (suite != NULL)
        ck_assert_int_eq(SSL_CTX_set_cipher_list(p->cctx, suite), 1);
    p->s = SSL_new(p->sctx);
    p->c = SSL_new(p->cctx);
    if (resume != NULL)
        SSL_set_session(p->c, resume);
    p->r = tls_record_new();
    SSL_set_ex_data(p->s, rec_idx, p->r);
    SSL_set_msg_callback(p->s, msg_cb);
    SSL_set_msg_callback_arg(p->s, p->r);
    p->s_in = BIO_new(BIO_s_mem());
    p->s_out = BIO_new(BIO_s_mem());
    p->c_in = BIO_new(BIO_s_mem());
    p->c_out = BIO_new(BIO_s_mem());
    BIO_up_ref(p->s_in);
    BIO_up_ref(p->s_out);
    BIO_up_ref(p->c_in);
    BIO_up_ref(p->c_out);
    SSL_set_bio(p->s, p->s_in, p->s_out);
    SSL_set_bio(p->c, p->c_in, p->c_out);
    SSL_set_accept_state(p->s);
    SSL_set_connect_state(p->c);
    int cs = 0, ss = 0;
    for (int i = 0; i < 20 && (cs != 1 || ss != 1); i++) {
        if (cs != 1)
            cs = SSL_do_handshake(p->c);
        pump(p);
        if (ss != 1)
            ss = SSL_do_handshake(p->s);
        pump(p);
    }
    ck_assert_int_eq(cs, 1);
    ck_assert_int_eq(ss, 1);
}

static void pair_close(struct pair *p)
{
    if (p->s != NULL)
        SSL_free(p->s);
    SSL_free(p->c);
    BIO_free(p->s_in);
    BIO_free(p->s_out);
    BIO_free(p->c_in);
    BIO_free(p->c_out);
    SSL_CTX_free(p->cctx);
    tls_record_free(p->r);
}

/* The client reads n bytes exactly. */
static void client_reads(struct pair *p, const unsigned char *want, size_t n)
{
    static unsigned char got[1 << 20];
    size_t have = 0;
    while (have < n) {
        int k = SSL_read(p->c, got + have, (int)(n - have));
        ck_assert_msg(k > 0, "client SSL_read failed: %d", SSL_get_error(p->c, k));
        have += (size_t)k;
    }
    ck_assert_int_eq(memcmp(got, want, n), 0);
}

/* What the client wrote, moved into an evbuffer as our reader would. */
static struct evbuffer *client_bytes(struct pair *p)
{
    struct evbuffer *b = evbuffer_new();
    char buf[65536];
    int n;
    while ((n = BIO_read(p->c_out, buf, sizeof(buf))) > 0)
        evbuffer_add(b, buf, (size_t)n);
    return b;
}

/* Both ways, in records of all sizes: what the client writes we open,
 * what we seal the client reads. */
static void exchange(struct pair *p, size_t size)
{
    static unsigned char data[1 << 20];
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 7 + size);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < 5000 ? size - off : 5000;
        ck_assert_int_eq(SSL_write(p->c, data + off, (int)n), (int)n);
        off += n;
    }
    struct evbuffer *in = client_bytes(p), *plain = evbuffer_new();
    ck_assert_int_eq(tls_record_open(p->r, in, plain, -1), size > 0 ? H2G_REC_OK : H2G_REC_NEED_MORE);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert_uint_eq(evbuffer_get_length(plain), size);
    ck_assert_int_eq(memcmp(evbuffer_pullup(plain, -1), data, size), 0);
    struct evbuffer *out = evbuffer_new();
    ck_assert_int_eq(tls_record_seal(p->r, plain, out, -1), H2G_REC_OK);
    ck_assert_uint_eq(evbuffer_get_length(plain), 0);
    size_t n = evbuffer_get_length(out);
    BIO_write(p->c_in, evbuffer_pullup(out, -1), (int)n);
    client_reads(p, data, size);
    evbuffer_free(in);
    evbuffer_free(plain);
    evbuffer_free(out);
}

/* The handshake, some application data both ways under OpenSSL (and the
 * tickets it sends), then ours. */
static void take_over(struct pair *p)
{
    static const char hello[] = "hello from the client", reply[] = "and the server's reply";
    char buf[64];
    ck_assert_int_eq(SSL_write(p->c, hello, sizeof(hello)), (int)sizeof(hello));
    ck_assert_int_eq(SSL_write(p->c, hello, sizeof(hello)), (int)sizeof(hello));
    pump(p);
    ck_assert_int_eq(SSL_read(p->s, buf, sizeof(buf)), (int)sizeof(hello));
    ck_assert_int_eq(SSL_read(p->s, buf, sizeof(buf)), (int)sizeof(hello));
    ck_assert_int_eq(SSL_write(p->s, reply, sizeof(reply)), (int)sizeof(reply));
    pump(p);
    ck_assert_int_eq(SSL_read(p->c, buf, sizeof(buf)), (int)sizeof(reply));
    ck_assert(!SSL_has_pending(p->s));
    ck_assert(tls_record_take(p->r, p->s));
    ck_assert(tls_record_owned(p->r));
    SSL_free(p->s);
    p->s = NULL;
    ck_assert_int_eq(tls_record_key(p->r), 0);
}

static const char *const suite_names[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                          "TLS_CHACHA20_POLY1305_SHA256"};

/* Taken over under `suite`: both ways in records of all sizes, a sleep
 * (keys gone, secrets kept), both ways again. */
static void suite_both_ways(struct pair *p, const char *suite, int version)
{
    pair_open(p, suite, version, NULL);
    take_over(p);
    ck_assert_str_eq(tls_record_suite_name(p->r), suite);
    exchange(p, 1);
    exchange(p, 16384);
    exchange(p, 16385);
    exchange(p, 300000);
    tls_record_unkey(p->r);
    ck_assert_int_eq(tls_record_key(p->r), 0);
    exchange(p, 1000);
}

START_TEST(both_ways_each_suite)
{
    struct pair p;
    suite_both_ways(&p, suite_names[_i], TLS1_3_VERSION);
    pair_close(&p);
}
END_TEST

START_TEST(client_key_update)
{
    struct pair p;
    pair_open(&p, suite_names[_i], TLS1_3_VERSION, NULL);
    take_over(&p);
    exchange(&p, 100);
    ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED), 1);
    static const char x[] = "after the client's KeyUpdate";
    ck_assert_int_eq(SSL_write(p.c, x, sizeof(x)), (int)sizeof(x));
    struct evbuffer *in = client_bytes(&p), *plain = evbuffer_new(), *out = evbuffer_new();
    ck_assert_int_eq(tls_record_open(p.r, in, plain, -1), H2G_REC_OK);
    ck_assert_uint_eq(evbuffer_get_length(plain), sizeof(x));
    ck_assert(tls_record_owes_output(p.r));
    /* ours goes out even with nothing to send */
    ck_assert_int_eq(tls_record_seal(p.r, plain, out, -1), H2G_REC_OK);
    ck_assert(!tls_record_owes_output(p.r));
    BIO_write(p.c_in, evbuffer_pullup(out, -1), (int)evbuffer_get_length(out));
    client_reads(&p, (const unsigned char *)x, sizeof(x));
    /* both sides on their second keys now */
    exchange(&p, 70000);
    /* an update not requested: nothing owed */
    ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    exchange(&p, 10);
    ck_assert(!tls_record_owes_output(p.r));
    evbuffer_free(in);
    evbuffer_free(plain);
    evbuffer_free(out);
    pair_close(&p);
}
END_TEST

START_TEST(close_notify_is_eof)
{
    struct pair p;
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    take_over(&p);
    exchange(&p, 10);
    SSL_shutdown(p.c);
    struct evbuffer *in = client_bytes(&p), *plain = evbuffer_new();
    ck_assert_int_eq(tls_record_open(p.r, in, plain, -1), H2G_REC_EOF);
    ck_assert_uint_eq(evbuffer_get_length(plain), 0);
    evbuffer_free(in);
    evbuffer_free(plain);
    pair_close(&p);
}
END_TEST

/* The client's next record, one of its bytes flipped: it does not open,
 * and the client reads our bad_record_mac. */
static void corrupt_record(struct pair *p, size_t flip_at)
{
    static const char x[] = "a record that will not open";
    ck_assert_int_eq(SSL_write(p->c, x, sizeof(x)), (int)sizeof(x));
    struct evbuffer *in = client_bytes(p), *plain = evbuffer_new(), *out = evbuffer_new();
    unsigned char *b = evbuffer_pullup(in, -1);
    b[flip_at < evbuffer_get_length(in) ? flip_at : evbuffer_get_length(in) - 1] ^= 1;
    ck_assert_int_eq(tls_record_open(p->r, in, plain, -1), H2G_REC_ERROR);
    ck_assert_uint_eq(evbuffer_get_length(plain), 0);
    ck_assert_str_eq(tls_record_error(p->r), "a record that does not authenticate");
    ck_assert_int_eq(tls_record_alert(p->r, out), 0);
    BIO_write(p->c_in, evbuffer_pullup(out, -1), (int)evbuffer_get_length(out));
    char buf[16];
    int k = SSL_read(p->c, buf, sizeof(buf));
    ck_assert_int_le(k, 0);
    ck_assert_int_eq(SSL_get_error(p->c, k), SSL_ERROR_SSL);
    ck_assert_int_eq(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
    ERR_clear_error();
    evbuffer_free(in);
    evbuffer_free(plain);
    evbuffer_free(out);
}

START_TEST(corrupt_record_fails_with_alert)
{
    struct pair p;
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    take_over(&p);
    corrupt_record(&p, 10);
    pair_close(&p);
}
END_TEST

START_TEST(partial_records_wait)
{
    struct pair p;
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    take_over(&p);
    static unsigned char data[40000];
    memset(data, 'q', sizeof(data));
    ck_assert_int_eq(SSL_write(p.c, data, sizeof(data)), (int)sizeof(data));
    struct evbuffer *all = client_bytes(&p), *in = evbuffer_new(), *plain = evbuffer_new();
    /* byte by byte, as a slow client's segments come */
    size_t total = evbuffer_get_length(all), opened = 0;
    for (size_t i = 0; i < total; i++) {
        evbuffer_remove_buffer(all, in, 1);
        enum h2g_rec_result res = tls_record_open(p.r, in, plain, -1);
        ck_assert(res == H2G_REC_OK || res == H2G_REC_NEED_MORE);
        opened += res == H2G_REC_OK;
    }
    ck_assert_uint_eq(opened, 3); /* 16384 + 16384 + 7232 */
    ck_assert_uint_eq(evbuffer_get_length(plain), sizeof(data));
    evbuffer_free(all);
    evbuffer_free(in);
    evbuffer_free(plain);
    pair_close(&p);
}
END_TEST

/* A limit is kept exactly (the socket writes at most that much at
 * once): what does not fit stays for the next call. */
START_TEST(seal_keeps_the_limit)
{
    struct pair p;
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    take_over(&p);
    static unsigned char data[100000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 13);
    struct evbuffer *plain = evbuffer_new(), *out = evbuffer_new();
    evbuffer_add(plain, data, sizeof(data));
    size_t sealed = 0;
    while (evbuffer_get_length(plain) > 0) {
        ck_assert_int_eq(tls_record_seal(p.r, plain, out, 40000), H2G_REC_OK);
        ck_assert_uint_le(evbuffer_get_length(out), 40000);
        sealed += evbuffer_get_length(out);
        BIO_write(p.c_in, evbuffer_pullup(out, -1), (int)evbuffer_get_length(out));
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    /* too little room for a record: nothing */
    evbuffer_add(plain, data, 10);
    ck_assert_int_eq(tls_record_seal(p.r, plain, out, 22), H2G_REC_NEED_MORE);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    ck_assert_uint_gt(sealed, sizeof(data));
    client_reads(&p, data, sizeof(data));
    evbuffer_free(plain);
    evbuffer_free(out);
    pair_close(&p);
}
END_TEST

/* A resumed session (PSK, no certificate, its own ticket) is taken too,
 * right after its handshake. */
START_TEST(resumed_session)
{
    struct pair p;
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    take_over(&p);
    exchange(&p, 10);
    SSL_SESSION *sess = SSL_get1_session(p.c);
    ck_assert_ptr_nonnull(sess);
    struct pair q;
    pair_open(&q, NULL, TLS1_3_VERSION, sess);
    ck_assert_int_eq(SSL_session_reused(q.c), 1);
    ck_assert(!SSL_has_pending(q.s));
    ck_assert(tls_record_take(q.r, q.s));
    SSL_free(q.s);
    q.s = NULL;
    ck_assert_int_eq(tls_record_key(q.r), 0);
    exchange(&q, 5000);
    SSL_SESSION_free(sess);
    pair_close(&q);
    pair_close(&p);
}
END_TEST

/* TLS 1.2, each AEAD suite h2gate offers (ECDSA here): the key block
 * from the logged master secret, counts from the ChangeCipherSpecs. */
static const char *const suite12_names[] = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                            "ECDHE-ECDSA-CHACHA20-POLY1305"};

START_TEST(tls12_each_suite)
{
    struct pair p;
    suite_both_ways(&p, suite12_names[_i], TLS1_2_VERSION);
    corrupt_record(&p, SIZE_MAX); /* the tag's last byte */
    pair_close(&p);
}
END_TEST

/* TLS 1.2: an abbreviated handshake (the server's ChangeCipherSpec
 * first), then close_notify. */
START_TEST(tls12_resumed_then_close_notify)
{
    struct pair p;
    pair_open(&p, suite12_names[0], TLS1_2_VERSION, NULL);
    take_over(&p);
    SSL_SESSION *sess = SSL_get1_session(p.c);
    struct pair q;
    pair_open(&q, suite12_names[0], TLS1_2_VERSION, sess);
    ck_assert_int_eq(SSL_session_reused(q.c), 1);
    take_over(&q);
    exchange(&q, 20000);
    SSL_shutdown(q.c);
    struct evbuffer *in = client_bytes(&q), *plain = evbuffer_new();
    ck_assert_int_eq(tls_record_open(q.r, in, plain, -1), H2G_REC_EOF);
    evbuffer_free(in);
    evbuffer_free(plain);
    SSL_SESSION_free(sess);
    pair_close(&q);
    pair_close(&p);
}
END_TEST

/* Not taken: a suite we do not seal (TLS 1.2 CBC), and a KeyUpdate
 * OpenSSL saw (its secrets are not the ones logged). */
START_TEST(not_taken)
{
    struct pair p;
    pair_open(&p, "ECDHE-ECDSA-AES128-SHA", TLS1_2_VERSION, NULL);
    ck_assert(!tls_record_take(p.r, p.s));
    ck_assert(!tls_record_owned(p.r));
    pair_close(&p);
    pair_open(&p, NULL, TLS1_3_VERSION, NULL);
    ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    ck_assert_int_eq(SSL_write(p.c, "x", 1), 1);
    pump(&p);
    char c;
    ck_assert_int_eq(SSL_read(p.s, &c, 1), 1);
    ck_assert(!tls_record_take(p.r, p.s));
    pair_close(&p);
}
END_TEST

Suite *tls_record_suite(void)
{
    Suite *s = suite_create("tls_record");
    TCase *tc = tcase_create("tls_record");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, both_ways_each_suite, 0, 3);
    tcase_add_loop_test(tc, client_key_update, 0, 3);
    tcase_add_test(tc, close_notify_is_eof);
    tcase_add_test(tc, corrupt_record_fails_with_alert);
    tcase_add_test(tc, partial_records_wait);
    tcase_add_test(tc, seal_keeps_the_limit);
    tcase_add_test(tc, resumed_session);
    tcase_add_loop_test(tc, tls12_each_suite, 0, 3);
    tcase_add_test(tc, tls12_resumed_then_close_notify);
    tcase_add_test(tc, not_taken);
    suite_add_tcase(s, tc);
    return s;
}
