/*
 * tls_record.h: the TLS 1.3 and TLS 1.2 (AEAD) record layer of a client
 * connection whose OpenSSL object was let go.
 *
 * Why: an idle TLS connection kept 15.5 KiB, 12 of them OpenSSL's (the
 * SSL object alone is 7.6 KB, and OpenSSL 3.0 can neither shrink it nor
 * export a connection's keys).  After the handshake TLS 1.3 is only its
 * two traffic secrets and two record sequence numbers, so a connection
 * that goes to sleep (conn_sleep) keeps those, frees its SSL, and from
 * its wake on has its records sealed and opened here, with OpenSSL's
 * AEADs (EVP): what kernel TLS does with the keys a TLS library hands it,
 * and what h2o does with picotls.  TLS 1.2 is its master secret's key
 * block (keys and IVs) and the same two counts.
 *
 * Life: made with the connection's SSL (conn.c), empty.  While OpenSSL
 * runs the connection, tls.c's keylog and message callbacks feed it
 * (tls_record_keylog, tls_record_msg): the application traffic secrets
 * as OpenSSL derives them (TLS 1.2: the master secret), and a count of
 * the records each way under them (TLS 1.2: since each direction's
 * ChangeCipherSpec), which are the sequence numbers.  tls_record_take,
 * when the connection sleeps, says whether the hand-off can be done
 * (TLS 1.3 or 1.2, a suite below, the secrets, no KeyUpdate so far,
 * default record size);
 * if so the connection frees its SSL and this is its TLS from then on.
 * tls_record_key makes the cipher contexts (at a wake) and
 * tls_record_unkey frees them (at a sleep): asleep it is the secrets,
 * IVs and sequence numbers, 200 bytes, with what the connection's views
 * still ask of its TLS (server name, certificate).  Owned by the
 * connection, freed with it (secrets wiped).
 *
 * Supported after the hand-off: application data, the client's
 * KeyUpdate (answered with ours when it asks), close_notify (an end of
 * input), our own KeyUpdate before 2^24 records under one key (TLS 1.3;
 * TLS 1.2 has none), TLS 1.2 warning alerts (ignored).  Any other
 * alert, a record that does not open, a handshake message split across
 * records, or TLS 1.2 renegotiation ends the connection.
 */
#ifndef H2G_TLS_RECORD_H
#define H2G_TLS_RECORD_H

#include <event2/buffer.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h2g_tls_record;

/* NULL when out of memory. */
struct h2g_tls_record *tls_record_new(void);
void tls_record_free(struct h2g_tls_record *r); /* NULL: no-op */

/* OpenSSL's key log line for the connection (SSL_CTX_set_keylog_callback). */
void tls_record_keylog(struct h2g_tls_record *r, const char *line);
/* OpenSSL's message callback for the connection (SSL_set_msg_callback). */
void tls_record_msg(struct h2g_tls_record *r, int write_p, int content_type, const void *buf, size_t len);
/* Can the connection's records be ours from now on (ssl between records,
 * nothing pending in it)?  true: they are; the caller frees the SSL. */
bool tls_record_take(struct h2g_tls_record *r, const SSL *ssl);
/* The secrets logged so far, under suite_id (IANA, 0x1301-0x1303): true
 * if that suite is supported and its hash fits them (tls_record_take's
 * last step; the fuzz harness's way in). */
bool tls_record_adopt(struct h2g_tls_record *r, uint16_t suite_id);
/* TLS 1.2: a key block as given (client write key, server write key,
 * client write IV, server write IV), under suite_id (0xC02B...): true if
 * supported and of its length.  The fuzz harness's way in. */
bool tls_record_adopt12(struct h2g_tls_record *r, uint16_t suite_id, const unsigned char *block, size_t len);
/* Have its records been ours since a sleep? */
bool tls_record_owned(const struct h2g_tls_record *r);

/* Cipher contexts made (0, or -1 out of memory) and freed. */
int tls_record_key(struct h2g_tls_record *r);
void tls_record_unkey(struct h2g_tls_record *r);

enum h2g_rec_result {
    H2G_REC_OK,        /* some records done */
    H2G_REC_NEED_MORE, /* none: a record is not whole yet (or nothing to do) */
    H2G_REC_EOF,       /* the client's close_notify */
    H2G_REC_ERROR,     /* the connection must end; tls_record_alert says why */
};

/* Ciphertext in src to plaintext appended to dst, whole records only,
 * until src holds no whole record or dst grew by `limit` (< 0: no
 * limit; one record may pass it). */
enum h2g_rec_result tls_record_open(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                    ev_ssize_t limit);
/* Plaintext in src sealed into records appended to dst, until src is
 * empty or dst would grow past `limit` (< 0: no limit).
 * A KeyUpdate owed to the client goes first, even with src empty. */
enum h2g_rec_result tls_record_seal(struct h2g_tls_record *r, struct evbuffer *src, struct evbuffer *dst,
                                    ev_ssize_t limit);
/* One record of `inner` as given (a TLSInnerPlaintext: content, type
 * byte, zeros; 1 to 2^14 + 1 bytes; TLS 1.2: content, then the type the
 * header carries), as a peer might seal it: 0, or -1.  For the fuzz
 * harness, which plays the client. */
int tls_record_seal_inner(struct h2g_tls_record *r, struct evbuffer *dst, const void *inner, size_t n);
/* Is a KeyUpdate owed to the client (tls_record_seal sends it)? */
bool tls_record_owes_output(const struct h2g_tls_record *r);
/* After H2G_REC_ERROR: the alert the client should get, sealed into dst
 * (best effort: 0, or -1 if it could not be made). */
int tls_record_alert(struct h2g_tls_record *r, struct evbuffer *dst);
/* What the last error was, for the log. */
const char *tls_record_error(const struct h2g_tls_record *r);

/* The server name the client asked for in its handshake, once ours (NULL: none). */
const char *tls_record_sni(const struct h2g_tls_record *r);
/* The certificate the client was shown, once ours (for connection
 * coalescing: tls_x509_covers); NULL: none. */
X509 *tls_record_cert(const struct h2g_tls_record *r);
/* "TLSv1.3" or "TLSv1.2", once ours. */
const char *tls_record_version_name(const struct h2g_tls_record *r);
/* The negotiated suite's name, for introspection ("TLS_AES_128_GCM_SHA256"). */
const char *tls_record_suite_name(const struct h2g_tls_record *r);

#endif
