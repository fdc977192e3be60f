#include "core/ticket_keys.h"

#include <string.h>

static int is_b64(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

/* One line without its LF: NULL when it is a key, a comment or empty
 * (*is_key says which), else why not. */
static const char *parse_line(const char *s, size_t n, struct h2g_ticket_key_text *key, int *is_key)
{
    *is_key = 0;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || s[0] == '#')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (is_b64(ch) || (ch == '=' && i == n - 1))
            continue;
        return ch == '=' ? "'=' before the end of the key (80 bytes end in one '=')"
                         : "not a base64 character (A-Z a-z 0-9 + / =) in the key";
    }
    if (n != H2G_TICKET_KEY_B64_LEN || s[n - 1] != '=')
        return "a key is the base64 of 80 bytes: 108 characters ending in one '='";
    memcpy(key->b64, s, n);
    key->b64[n] = '\0';
    *is_key = 1;
    return NULL;
}

const char *h2g_ticket_keys_parse(const char *text, size_t len, struct h2g_ticket_keys_text *out,
                                  unsigned *line)
{
    memset(out, 0, sizeof(*out));
    *line = 0;
    if (len > H2G_TICKET_KEYS_FILE_MAX)
        return "larger than 64 KiB";
    if (memchr(text, '\0', len) != NULL)
        return "not text (a NUL byte)";
    unsigned ln = 0;
    for (size_t pos = 0; pos < len;) {
        const char *lf = memchr(text + pos, '\n', len - pos);
        size_t n = lf != NULL ? (size_t)(lf - (text + pos)) : len - pos;
        ln++;
        int is_key;
        struct h2g_ticket_key_text k = {.line = ln};
        const char *err = parse_line(text + pos, n, &k, &is_key);
        if (err != NULL) {
            *line = ln;
            return err;
        }
        if (is_key && out->n == H2G_TICKET_KEYS_MAX) {
            *line = ln;
            return "more than 16 keys";
        }
        if (is_key)
            out->keys[out->n++] = k;
        pos += n + (lf != NULL);
    }
    if (out->n == 0)
        return "no key (one a line: base64 of 80 bytes)";
    return NULL;
}
