/*
 * ticket_keys.h: the text of TLS session-ticket keys (the file of
 * listen[].tls.ticket_keys; h2gate.yaml(5) "TICKET KEYS FILE").
 *
 * One key a line: the base64 (RFC 4648 4, with its one '=' of padding,
 * 108 characters) of 80 bytes: a 16-byte key name, a 32-byte AES-256 key
 * and a 32-byte HMAC-SHA256 key.  Spaces and tabs around a key and a CR
 * before the LF are ignored, as are empty lines and lines whose first
 * character other than a space or tab is '#'.  The first key encrypts
 * new tickets; every key decrypts.  1 to H2G_TICKET_KEYS_MAX keys.
 *
 * Pure: the parser checks the text and hands back each key's base64 with
 * its line; the edge decodes it (OpenSSL's EVP_DecodeBlock), which cannot
 * fail on what the parser accepted.  The caller owns every buffer.
 */
#ifndef H2G_TICKET_KEYS_H
#define H2G_TICKET_KEYS_H

#include <stddef.h>

#define H2G_TICKET_KEY_LEN 80      /* name 16, AES 32, HMAC 32 */
#define H2G_TICKET_KEY_NAME_LEN 16
#define H2G_TICKET_KEY_B64_LEN 108 /* 4 * ceil(80 / 3) */
#define H2G_TICKET_KEYS_MAX 16
#define H2G_TICKET_KEYS_FILE_MAX 65536 /* bytes a keys text may have */

struct h2g_ticket_key_text {
    unsigned line;                          /* 1-based, in the text */
    char b64[H2G_TICKET_KEY_B64_LEN + 1];   /* NUL-terminated */
};

struct h2g_ticket_keys_text {
    struct h2g_ticket_key_text keys[H2G_TICKET_KEYS_MAX]; /* keys[0] encrypts */
    size_t n;
};

/*
 * Parses len bytes of text into out.  NULL on success (out->n >= 1), or
 * a static message with *line the 1-based line at fault (0: the text as
 * a whole, e.g. "no key").  out is overwritten either way.
 */
const char *h2g_ticket_keys_parse(const char *text, size_t len, struct h2g_ticket_keys_text *out,
                                  unsigned *line);

#endif
