#include "stream/access_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/log.h"
#include "runtime/services.h"
#include "stream/stream.h"

/* Copies a field value for a logfmt line, escaping what would break it. */
static size_t put_escaped(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    dst[n] = '\0';
    return n;
}

void access_log_stream(const struct h2g_stream *s)
{
    const struct h2g_client_facts *cl = s->ctx.client;
    if (!services_access_log_on(s->ctx.svc))
        return;
    char ts[40], auth[256], method[32], path[1024];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t tn = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tn, sizeof(ts) - tn, ".%03ldZ", now.tv_nsec / 1000000);
    put_escaped(auth, sizeof(auth), s->has_authority ? stream_str(s, s->authority) : "-",
                s->has_authority ? s->authority.value_len : 1);
    put_escaped(method, sizeof(method), s->has_method ? stream_str(s, s->method) : "-",
                s->has_method ? s->method.value_len : 1);
    put_escaped(path, sizeof(path), s->has_path ? stream_str(s, s->path) : "", s->has_path ? s->path.value_len : 0);
    double ms = (double)((s->end_us ? s->end_us : h2g_mono_us()) - s->start_us) / 1000.0;
    char line[2048];
    int n = snprintf(line, sizeof(line),
                     "ts=%s conn=%llu stream=%d client=%s%s%s:%u proto=%s authority=%s method=%s "
                     "path=\"%s\" status=%d in=%llu out=%llu ms=%.3f upstream=%s%s\n",
                     ts, (unsigned long long)cl->conn_id, s->id, cl->peer_ipv6 ? "[" : "", cl->peer_ip,
                     cl->peer_ipv6 ? "]" : "", cl->peer_port, stream_client_proto(s), auth, method, path, s->status,
                     (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out, ms,
                     s->upstream_id[0] ? s->upstream_id : "-", s->resp_failed ? " reset=1" : "");
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1, line[n - 1] = '\n';
    services_access_log(s->ctx.svc, line, (size_t)n);
}
