/*
 * ctl_client.c: connect to the control socket, one JSON line out, one JSON
 * line back.  See ctl_client.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl_client.h"
#include "runtime/jsonmem.h"
#include "core/units.h"

/* Largest response line accepted: the effective config or a long session
 * list are well below this; a runaway peer is not. */
#define CTL_MAX_LINE (64u * 1024 * 1024)

struct ctl_conn {
    int fd;
    int timeout_ms;
    char *buf;   /* bytes received and not yet consumed (owned) */
    size_t len;  /* used */
    size_t cap;  /* allocated */
};

struct ctl_conn *ctl_connect(const char *path, int timeout_ms, int *err_no, char *err,
                             size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        *err_no = ENAMETOOLONG;
        snprintf(err, errlen, "%s", strerror(ENAMETOOLONG));
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err_no = errno;
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct timeval tv = h2g_ms_timeval((uint64_t)timeout_ms);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        *err_no = errno;
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct ctl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        *err_no = ENOMEM;
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    return c;
}

static int send_all(struct ctl_conn *c, const char *p, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                snprintf(err, errlen, "timed out sending the request after %d ms", c->timeout_ms);
            else
                snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until c->buf holds a '\n'; returns its offset or -1 with err. */
static long read_line(struct ctl_conn *c, char *err, size_t errlen)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl != NULL)
            return (long)(nl - c->buf);
        scanned = c->len;
        if (c->len >= CTL_MAX_LINE) {
            snprintf(err, errlen, "response line longer than %u bytes", CTL_MAX_LINE);
            return -1;
        }
        if (c->cap - c->len < 4096) {
            size_t ncap = c->cap ? c->cap * 2 : 16384;
            char *nb = realloc(c->buf, ncap);
            if (nb == NULL) {
                snprintf(err, errlen, "%s", strerror(ENOMEM));
                return -1;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            snprintf(err, errlen, "no answer from h2gate within %d ms", c->timeout_ms);
            return -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "cannot read the answer: %s", strerror(errno));
            return -1;
        }
        if (r == 0) {
            snprintf(err, errlen, "connection closed by h2gate before a complete answer");
            return -1;
        }
        c->len += (size_t)r;
    }
}

json_t *ctl_request(struct ctl_conn *c, const json_t *req, char *err, size_t errlen)
{
    char *line = json_dumps(req, JSON_COMPACT);
    if (line == NULL) {
        snprintf(err, errlen, "cannot encode the request");
        return NULL;
    }
    size_t n = strlen(line);
    int rc = send_all(c, line, n, err, errlen);
    if (rc == 0)
        rc = send_all(c, "\n", 1, err, errlen);
    free(line);
    if (rc != 0)
        return NULL;

    long end = read_line(c, err, errlen);
    if (end < 0)
        return NULL;
    json_error_t je;
    jsonmem_begin();
    json_t *resp = json_loadb(c->buf, (size_t)end, 0, &je);
    /* consume the line, keep whatever follows */
    memmove(c->buf, c->buf + end + 1, c->len - (size_t)end - 1);
    c->len -= (size_t)end + 1;
    if (jsonmem_failed()) {
        /* Parsed short, or not at all: not h2gate's fault (jsonmem.h). */
        json_decref(resp);
        snprintf(err, errlen, "out of memory reading the answer");
        return NULL;
    }
    if (resp == NULL) {
        snprintf(err, errlen, "bad JSON from h2gate: %s (column %d)", je.text, je.column);
        return NULL;
    }
    if (!json_is_object(resp) || !json_is_boolean(json_object_get(resp, "ok"))) {
        json_decref(resp);
        snprintf(err, errlen, "bad answer from h2gate: not an object with a boolean \"ok\"");
        return NULL;
    }
    return resp;
}

void ctl_close(struct ctl_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}
