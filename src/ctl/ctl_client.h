/*
 * ctl_client.h: the client end of the h2gate control socket (h2gatectl).
 *
 * Protocol (the daemon side is src/process/control.c): a unix stream socket; the
 * client writes one JSON object per line ({"cmd":"status"}), the daemon
 * answers one JSON line per request, {"ok":true,"result":...} or
 * {"ok":false,"error":"msg","errors":["file:line:col: msg", ...]}.
 * Several requests may share one connection.  Blocking I/O with a
 * per-call timeout (SO_RCVTIMEO / SO_SNDTIMEO): this is a CLI.
 *
 * A struct ctl_conn is created by ctl_connect(), owned by the caller and
 * freed by ctl_close().  Responses are new jansson references owned by the
 * caller.
 */
#ifndef H2G_CTL_CLIENT_H
#define H2G_CTL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct ctl_conn;

/* Connects to the socket at `path`, with `timeout_ms` for connect and for
 * every later send/receive.  Returns NULL on failure with *err_no set to
 * the errno of the failure (ENOENT, ECONNREFUSED, EACCES, ENAMETOOLONG...)
 * and `err` holding "strerror" text. */
struct ctl_conn *ctl_connect(const char *path, int timeout_ms, int *err_no, char *err,
                             size_t errlen);

/* Sends `req` (not consumed) as one line and reads one response line.
 * Returns the parsed response object, or NULL with `err` filled ("timed out
 * after 10 s", "connection closed by h2gate", "bad JSON from h2gate: ..."). */
json_t *ctl_request(struct ctl_conn *c, const json_t *req, char *err, size_t errlen);

/* Closes and frees; NULL is a no-op. */
void ctl_close(struct ctl_conn *c);

#endif
