#include "core/memcached.h"

#include <stdlib.h>
#include <string.h>

/* The first line of buf without its CRLF: its length, or -1 when the CRLF
 * has not arrived. */
static long line_len(const char *buf, size_t len)
{
    const char *lf = memchr(buf, '\n', len);
    if (lf == NULL || lf == buf || lf[-1] != '\r')
        return lf == NULL ? -1 : -2;
    return (long)(lf - buf) - 1;
}

static int starts(const char *line, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n >= w && memcmp(line, word, w) == 0 && (n == w || line[w] == ' ');
}

/* ERROR, CLIENT_ERROR x, SERVER_ERROR x: a message, else NULL. */
static const char *error_reply(const char *line, size_t n)
{
    if (starts(line, n, "ERROR"))
        return "memcached replied ERROR (unknown command)";
    if (starts(line, n, "CLIENT_ERROR"))
        return "memcached replied CLIENT_ERROR";
    if (starts(line, n, "SERVER_ERROR"))
        return "memcached replied SERVER_ERROR";
    return NULL;
}

/* "VALUE <key> <flags> <bytes>[ <cas>]": the byte count, or -1. */
static long value_bytes(const char *line, size_t n)
{
    char tmp[512];
    if (n >= sizeof(tmp))
        return -1;
    memcpy(tmp, line, n);
    tmp[n] = '\0';
    char *save = NULL, *tok = strtok_r(tmp, " ", &save);
    for (int i = 0; i < 3 && tok != NULL; i++)
        tok = strtok_r(NULL, " ", &save);
    if (tok == NULL || tok[0] < '0' || tok[0] > '9' || strlen(tok) > 9)
        return -1;
    char *end;
    long v = strtol(tok, &end, 10);
    return *end == '\0' ? v : -1;
}

/* The reply's first line: NULL with *n its length (-1: not all here), or
 * what is wrong with it (an error reply among others). */
static const char *first_line(const char *buf, size_t len, long *n)
{
    *n = line_len(buf, len);
    if (*n == -2)
        return "not a memcached reply (a line without CR)";
    if (*n < 0) {
        *n = -1;
        return len > 1024 ? "not a memcached reply (a line over 1 KiB)" : NULL;
    }
    return error_reply(buf, (size_t)*n);
}

const char *h2g_mc_parse_get(const char *buf, size_t len, size_t max, enum h2g_mc_reply *r, size_t *used,
                             size_t *val_off, size_t *vlen)
{
    *r = H2G_MC_INCOMPLETE;
    long n;
    const char *err = first_line(buf, len, &n);
    if (err != NULL || n < 0)
        return err;
    if (n == 3 && memcmp(buf, "END", 3) == 0) {
        *r = H2G_MC_MISS;
        *used = 5;
        return NULL;
    }
    if (!starts(buf, (size_t)n, "VALUE"))
        return "not a reply to get";
    long bytes = value_bytes(buf, (size_t)n);
    if (bytes < 0)
        return "not a reply to get (a bad VALUE line)";
    if ((size_t)bytes > max)
        return "the value is too large";
    size_t off = (size_t)n + 2, end = off + (size_t)bytes;
    if (len < end + 7)
        return NULL;
    if (memcmp(buf + end, "\r\nEND\r\n", 7) != 0)
        return "not a reply to get (no END after the value)";
    *r = H2G_MC_VALUE;
    *used = end + 7;
    *val_off = off;
    *vlen = (size_t)bytes;
    return NULL;
}

const char *h2g_mc_parse_store(const char *buf, size_t len, enum h2g_mc_reply *r, size_t *used)
{
    *r = H2G_MC_INCOMPLETE;
    long n;
    const char *err = first_line(buf, len, &n);
    if (err != NULL || n < 0)
        return err;
    if (n == 6 && memcmp(buf, "STORED", 6) == 0)
        *r = H2G_MC_STORED;
    else if (n == 10 && memcmp(buf, "NOT_STORED", 10) == 0)
        *r = H2G_MC_NOT_STORED;
    else
        return "not a reply to add";
    *used = (size_t)n + 2;
    return NULL;
}
