/*
 * tls_record.c: the TLS 1.3 record layer of a handed-off connection
 * (src/edge/tls_record.h), opening what a client sends.
 *
 * Input: byte 0 picks the suite (% 6: TLS 1.3's three, TLS 1.2's GCM
 * and ChaCha20 ones) and where the stream is split in two reads; then
 * pieces, each [kind][len hi][len lo][len bytes]:
 *  - kind even: a TLSInnerPlaintext (content, type byte, zeros, as the
 *    fuzzer wrote it; TLS 1.2: content, then the header's type) sealed
 *    under the client's key, as a client would: content types, padding,
 *    alerts, KeyUpdates, renegotiation, all reach the parser behind the
 *    AEAD;
 *  - kind odd: raw bytes on the wire (headers, lengths, garbage).
 * A second record layer with the secrets swapped plays the client.
 *
 * Checked: opened whole and opened in two reads give the same result and
 * the same plaintext; the plaintext is a prefix of the application data
 * the sealed pieces carried (type 23, padding stripped), in order; an
 * error has a reason; NEED_MORE leaves no whole record unread.
 */
#include <event2/buffer.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "edge/tls_record.h"
#include "fuzz.h"

static const uint16_t suite_ids[6] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC030, 0xCCA9};
#define N_SUITES 6

/* TLS 1.2: a fixed key block; the client's side has the halves swapped
 * (its write key and IV are the server's read ones). */
static struct h2g_tls_record *keyed12(bool client, int suite)
{
    size_t key = suite == 4 ? 32 : suite == 5 ? 32 : 16, iv = suite == 5 ? 12 : 4;
    unsigned char block[2 * 32 + 2 * 12], swapped[sizeof(block)];
    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (unsigned char)(i * 7 + 3);
    memcpy(swapped, block + key, key);
    memcpy(swapped + key, block, key);
    memcpy(swapped + 2 * key, block + 2 * key + iv, iv);
    memcpy(swapped + 2 * key + iv, block + 2 * key, iv);
    struct h2g_tls_record *r = tls_record_new();
    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(tls_record_adopt12(r, suite_ids[suite], client ? swapped : block, 2 * key + 2 * iv));
    FUZZ_CHECK(tls_record_key(r) == 0);
    return r;
}

/* A record layer keyed with fixed secrets (48 bytes for SHA-384). */
static struct h2g_tls_record *keyed(bool client, int suite)
{
    if (suite >= 3)
        return keyed12(client, suite);
    size_t len = suite == 1 ? 48 : 32;
    char cli[160], srv[160], hex_a[100], hex_b[100];
    for (size_t i = 0; i < len; i++) {
        snprintf(hex_a + 2 * i, 3, "%02x", (unsigned)(i * 3 + 1) & 0xff);
        snprintf(hex_b + 2 * i, 3, "%02x", (unsigned)(i * 5 + 7) & 0xff);
    }
    /* the client writes under a and reads under b; the server the reverse */
    snprintf(cli, sizeof(cli), "CLIENT_TRAFFIC_SECRET_0 00 %s", client ? hex_b : hex_a);
    snprintf(srv, sizeof(srv), "SERVER_TRAFFIC_SECRET_0 00 %s", client ? hex_a : hex_b);
    struct h2g_tls_record *r = tls_record_new();
    FUZZ_CHECK(r != NULL);
    tls_record_keylog(r, cli);
    tls_record_keylog(r, srv);
    FUZZ_CHECK(tls_record_adopt(r, suite_ids[suite]));
    FUZZ_CHECK(tls_record_key(r) == 0);
    return r;
}

/* The application data a sealed inner plaintext carries, if any. */
static void expect_inner(struct evbuffer *want, const uint8_t *p, size_t n, bool v13)
{
    while (v13 && n > 0 && p[n - 1] == 0)
        n--;
    if (n > 0 && p[n - 1] == 23)
        evbuffer_add(want, p, n - 1);
}

static enum h2g_rec_result open_all(struct h2g_tls_record *r, struct evbuffer *wire, size_t split,
                                    struct evbuffer *plain)
{
    struct evbuffer *in = evbuffer_new();
    FUZZ_CHECK(in != NULL);
    evbuffer_remove_buffer(wire, in, split);
    enum h2g_rec_result res = tls_record_open(r, in, plain, -1);
    if (res == H2G_REC_OK || res == H2G_REC_NEED_MORE) {
        evbuffer_add_buffer(in, wire);
        enum h2g_rec_result res2 = tls_record_open(r, in, plain, -1);
        if (res2 != H2G_REC_NEED_MORE || res != H2G_REC_OK)
            res = res2;
    }
    if (res == H2G_REC_NEED_MORE || res == H2G_REC_OK) {
        /* what is left is less than one record */
        size_t left = evbuffer_get_length(in);
        uint8_t h[5];
        if (left >= 5) {
            evbuffer_copyout(in, h, 5);
            FUZZ_CHECK(left < 5 + ((size_t)h[3] << 8 | h[4]));
        }
    }
    evbuffer_free(in);
    return res;
}

int fuzz_tls_record(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int suite = data[0] % N_SUITES;
    struct h2g_tls_record *client = keyed(true, suite);
    struct evbuffer *wire = evbuffer_new(), *want = evbuffer_new();
    FUZZ_CHECK(wire != NULL && want != NULL);
    size_t i = 1;
    while (i + 3 <= size) {
        size_t n = (size_t)data[i + 1] << 8 | data[i + 2];
        uint8_t kind = data[i];
        i += 3;
        if (n > size - i)
            n = size - i;
        if (kind % 2 == 1) {
            evbuffer_add(wire, data + i, n);
        } else if (n >= 1 && n <= 16385) {
            FUZZ_CHECK(tls_record_seal_inner(client, wire, data + i, n) == 0);
            expect_inner(want, data + i, n, suite < 3);
        }
        i += n;
    }
    size_t total = evbuffer_get_length(wire);
    size_t split = total > 0 ? (size_t)data[0] / N_SUITES % (total + 1) : 0;
    struct evbuffer *wire2 = evbuffer_new(), *plain = evbuffer_new(), *plain2 = evbuffer_new();
    FUZZ_CHECK(wire2 != NULL && plain != NULL && plain2 != NULL);
    evbuffer_add(wire2, evbuffer_pullup(wire, -1), total);
    struct h2g_tls_record *a = keyed(false, suite), *b = keyed(false, suite);
    enum h2g_rec_result whole = open_all(a, wire, total, plain);
    enum h2g_rec_result two = open_all(b, wire2, split, plain2);
    FUZZ_CHECK(whole == two);
    size_t got = evbuffer_get_length(plain);
    FUZZ_CHECK(got == evbuffer_get_length(plain2));
    FUZZ_CHECK(got <= evbuffer_get_length(want));
    FUZZ_CHECK(got == 0 || memcmp(evbuffer_pullup(plain, -1), evbuffer_pullup(plain2, -1), got) == 0);
    FUZZ_CHECK(got == 0 || memcmp(evbuffer_pullup(plain, -1), evbuffer_pullup(want, -1), got) == 0);
    if (whole == H2G_REC_ERROR)
        FUZZ_CHECK(strcmp(tls_record_error(a), "no error") != 0);
    tls_record_free(client);
    tls_record_free(a);
    tls_record_free(b);
    evbuffer_free(wire);
    evbuffer_free(wire2);
    evbuffer_free(want);
    evbuffer_free(plain);
    evbuffer_free(plain2);
    return 0;
}

H2G_FUZZ_TARGET(fuzz_tls_record)
