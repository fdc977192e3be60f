/*
 * h2_to_h1.c: an HTTP/2 request -> the HTTP/1.1 request head sent
 * upstream (RFC 9110 7.6.1, RFC 9112 3, RFC 9113 8.2.2, 8.2.3, 8.3.1,
 * RFC 8441 for extended CONNECT, RFC 7239 for Forwarded).
 *
 * Input accepted: pseudo-header values and regular fields as nghttp2
 * validated them; everything that could break the HTTP/1.1 framing (CR,
 * LF, NUL, whitespace in the request line, non-token names) is checked
 * again here because this is where bytes become a request line.
 */
#include "core/h2_to_h1.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"


/* Bytes allowed in the request-target as we write it: any visible ASCII
 * (and obs-text); never SP, CTL, or DEL. */
static bool target_safe(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static bool eq_ci(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    return alen == n && strncasecmp(a, lit, n) == 0;
}

/* The TE value h2 allows and h1 upstreams may use: exactly "trailers"
 * (RFC 9113 8.2.2), compared as a case-insensitive token. */
bool h2g_te_is_trailers(const char *v, size_t len)
{
    while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    return eq_ci(v, len, "trailers");
}

static bool is_tchar_string(const char *p, size_t len)
{
    return h2g_hdr_name_valid(p, len);
}

/* RFC 7239 4: a value is a token or a quoted-string. */
static int put_fwd_value(struct h2g_buf *out, const char *v, size_t len)
{
    if (is_tchar_string(v, len))
        return h2g_buf_append(out, v, len);
    if (h2g_buf_puts(out, "\"") != 0)
        return H2G_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        if ((v[i] == '"' || v[i] == '\\') && h2g_buf_puts(out, "\\") != 0)
            return H2G_ERR_NOMEM;
        if (h2g_buf_append(out, v + i, 1) != 0)
            return H2G_ERR_NOMEM;
    }
    return h2g_buf_puts(out, "\"");
}

static int put_field(struct h2g_buf *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (h2g_buf_append(out, name, nlen) != 0 || h2g_buf_puts(out, ": ") != 0 ||
        h2g_buf_append(out, value, vlen) != 0 || h2g_buf_puts(out, "\r\n") != 0)
        return H2G_ERR_NOMEM;
    return 0;
}

/* Writes one "cookie" field holding every cookie field's value joined
 * with "; " (RFC 9113 8.2.3), under the name of the first one. */
static int put_cookies(struct h2g_buf *out, const struct h2g_field *f, size_t n, size_t first)
{
    bool any = false;
    for (size_t i = first; i < n; i++) {
        if (f[i].value_len == 0 || h2g_hdr_lookup(f[i].name, f[i].name_len) != H2G_HDR_COOKIE)
            continue;
        if (!any) {
            if (h2g_buf_append(out, f[first].name, f[first].name_len) != 0 || h2g_buf_puts(out, ": ") != 0)
                return H2G_ERR_NOMEM;
            any = true;
        } else if (h2g_buf_puts(out, "; ") != 0) {
            return H2G_ERR_NOMEM;
        }
        if (h2g_buf_append(out, f[i].value, f[i].value_len) != 0)
            return H2G_ERR_NOMEM;
    }
    if (any && h2g_buf_puts(out, "\r\n") != 0)
        return H2G_ERR_NOMEM;
    return 0;
}

void h2g_forward_checked(const struct h2g_forward_info *fwd, const char **ip, const char **proto)
{
    *ip = fwd->client_addr;
    *proto = fwd->proto;
    if (*ip != NULL && (!h2g_hdr_value_safe(*ip, strlen(*ip)) || strlen(*ip) == 0))
        *ip = NULL;
    if (*proto != NULL && !is_tchar_string(*proto, strlen(*proto)))
        *proto = NULL;
}

int h2g_forwarded_value(struct h2g_buf *out, bool ipv6, const char *ip, const char *proto, const char *host,
                        size_t host_len)
{
    const char *sep = "";
    if (ip != NULL) {
        /* RFC 7239 6: an IPv6 node is bracketed, and so must be quoted. */
        int rc = ipv6 ? (h2g_buf_puts(out, "for=\"[") || h2g_buf_puts(out, ip) || h2g_buf_puts(out, "]\""))
                      : (h2g_buf_puts(out, "for=") || put_fwd_value(out, ip, strlen(ip)));
        if (rc != 0)
            return H2G_ERR_NOMEM;
        sep = ";";
    }
    if (proto != NULL) {
        if (h2g_buf_puts(out, sep) || h2g_buf_puts(out, "proto=") || h2g_buf_puts(out, proto))
            return H2G_ERR_NOMEM;
        sep = ";";
    }
    if (host != NULL) {
        if (h2g_buf_puts(out, sep) || h2g_buf_puts(out, "host=") || put_fwd_value(out, host, host_len) != 0)
            return H2G_ERR_NOMEM;
    }
    return 0;
}

static int put_forwarding(struct h2g_buf *out, const struct h2g_forward_info *fwd, const char *host,
                          size_t host_len)
{
    const char *ip, *proto;
    h2g_forward_checked(fwd, &ip, &proto);
    /* Plain appends, no printf: this runs for every request. */
    if (ip != NULL && (h2g_buf_puts(out, "X-Forwarded-For: ") || h2g_buf_puts(out, ip) || h2g_buf_puts(out, "\r\n")))
        return H2G_ERR_NOMEM;
    if (proto != NULL &&
        (h2g_buf_puts(out, "X-Forwarded-Proto: ") || h2g_buf_puts(out, proto) || h2g_buf_puts(out, "\r\n")))
        return H2G_ERR_NOMEM;
    if (ip == NULL && proto == NULL && host == NULL)
        return 0;
    if (h2g_buf_puts(out, "Forwarded: ") != 0 ||
        h2g_forwarded_value(out, fwd->client_is_ipv6, ip, proto, host, host_len) != 0)
        return H2G_ERR_NOMEM;
    return h2g_buf_puts(out, "\r\n");
}

/* What request_head validated, for the writing steps. */
struct head_plan {
    bool extended;      /* RFC 8441 extended CONNECT (or an h1 websocket upgrade) */
    const char *target; /* the request-target: :path, or :authority for CONNECT */
    size_t target_len;
    const char *host; /* :authority, or else the client's Host */
    size_t host_len;
};

/* Checks :method, :protocol and the request-target.  NULL or the
 * refusal. */
static const char *check_request_line(const struct h2g_request_head *req, struct head_plan *plan)
{
    if (req->method == NULL || req->method_len == 0 || !h2g_hdr_name_valid(req->method, req->method_len))
        return "missing or invalid :method";
    /* Methods are case-sensitive (RFC 9110 9.1). */
    enum h2g_method m = h2g_method_lookup(req->method, req->method_len);
    bool connect = m == H2G_METHOD_CONNECT;
    /* An HTTP/1.1 client's "Upgrade: websocket" arrives here as GET with
     * :protocol (h1_session), and is rebuilt the same way. */
    bool extended = req->protocol != NULL && (connect || m == H2G_METHOD_GET);
    if (extended && (req->protocol_len == 0 || !h2g_hdr_name_valid(req->protocol, req->protocol_len)))
        return "invalid :protocol";
    const char *target = req->path;
    size_t target_len = req->path_len;
    if (connect && !extended) {
        /* Classic CONNECT: the request-target is the authority
         * (RFC 9112 3.2.3). */
        target = req->authority;
        target_len = req->authority_len;
        if (target == NULL)
            return "CONNECT without :authority";
    }
    if (target == NULL || !target_safe(target, target_len))
        return "missing or invalid :path";
    plan->extended = extended;
    plan->target = target;
    plan->target_len = target_len;
    return NULL;
}

/* Checks every field and picks the host.  NULL or the refusal. */
static const char *check_fields(const struct h2g_request_head *req, struct head_plan *plan)
{
    const struct h2g_field *f = req->fields;
    size_t n = req->n_fields;
    if (n > 0 && f == NULL)
        return "fields missing";

    const char *host = req->authority;
    size_t host_len = req->authority_len;
    const struct h2g_field *host_field = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!h2g_hdr_name_valid(f[i].name, f[i].name_len))
            return "invalid field name";
        if (f[i].value == NULL && f[i].value_len > 0)
            return "invalid field value";
        if (!h2g_hdr_value_safe(f[i].value, f[i].value_len))
            return "CR, LF or NUL in a field value";
        if (h2g_hdr_lookup(f[i].name, f[i].name_len) == H2G_HDR_HOST) {
            if (host_field != NULL && req->authority == NULL)
                return "more than one Host field";
            host_field = &f[i];
        }
    }
    if (host == NULL && host_field != NULL) {
        host = host_field->value;
        host_len = host_field->value_len;
    }
    if (host == NULL || host_len == 0)
        return "no :authority and no Host";
    if (!h2g_hdr_value_safe(host, host_len) || memchr(host, ' ', host_len) != NULL ||
        memchr(host, '\t', host_len) != NULL)
        return "invalid :authority";
    plan->host = host;
    plan->host_len = host_len;
    return NULL;
}

/* The request line, Host, and for extended CONNECT the Upgrade pair.
 * 0 or H2G_ERR_NOMEM. */
static int put_request_line(struct h2g_buf *out, const struct h2g_request_head *req, const struct head_plan *plan)
{
    /* RFC 8441 5: extended CONNECT becomes the HTTP/1.1 Upgrade dance on
     * the same path; the caller adds Sec-WebSocket-Key to the fields (the
     * core has no randomness) and the other sec-websocket-* pass through. */
    const char *method = plan->extended ? "GET" : req->method;
    size_t method_len = plan->extended ? 3 : req->method_len;
    if (h2g_buf_append(out, method, method_len) != 0 || h2g_buf_puts(out, " ") != 0 ||
        h2g_buf_append(out, plan->target, plan->target_len) != 0 || h2g_buf_puts(out, " HTTP/1.1\r\nHost: ") != 0 ||
        h2g_buf_append(out, plan->host, plan->host_len) != 0 || h2g_buf_puts(out, "\r\n") != 0)
        return H2G_ERR_NOMEM;
    if (plan->extended && (h2g_buf_puts(out, "Connection: Upgrade\r\nUpgrade: ") != 0 ||
                           h2g_buf_append(out, req->protocol, req->protocol_len) != 0 ||
                           h2g_buf_puts(out, "\r\n") != 0))
        return H2G_ERR_NOMEM;
    return 0;
}

/* The client's end-to-end fields: not hop-by-hop ones, nor those its
 * Connection names, nor the ones rewritten elsewhere.  0 or
 * H2G_ERR_NOMEM. */
static int copy_fields(struct h2g_buf *out, const struct h2g_field *f, size_t n)
{
    bool cookies_done = false;
    struct h2g_conn_tokens ct;
    h2g_conn_tokens_init(&ct, f, n);
    for (size_t i = 0; i < n; i++) {
        enum h2g_hdr_token t = h2g_hdr_lookup(f[i].name, f[i].name_len);
        unsigned flags = h2g_hdr_flags(t);
        if (t == H2G_HDR_TE) {
            if (!h2g_te_is_trailers(f[i].value, f[i].value_len))
                continue;
        } else if (flags & (H2G_HDRF_HOP | H2G_HDRF_FORWARDING)) {
            continue;
        }
        /* Host is written first, from :authority or the client's Host;
         * Content-Length comes from the framing decision. */
        if (t == H2G_HDR_HOST || t == H2G_HDR_CONTENT_LENGTH)
            continue;
        if (ct.n > 0 && h2g_conn_tokens_has(&ct, f, n, f[i].name, f[i].name_len))
            continue;
        if (t == H2G_HDR_COOKIE) {
            if (!cookies_done && put_cookies(out, f, n, i) != 0)
                return H2G_ERR_NOMEM;
            cookies_done = true;
            continue;
        }
        if (put_field(out, f[i].name, f[i].name_len, f[i].value, f[i].value_len) != 0)
            return H2G_ERR_NOMEM;
    }
    return 0;
}

/* Content-Length or Transfer-Encoding as the caller framed the body.
 * 0 or non-zero when out of memory. */
static int put_body_framing(struct h2g_buf *out, enum h2g_body_framing framing, uint64_t content_length)
{
    int rc = 0;
    if (framing == H2G_BODY_LENGTH) {
        char digits[24];
        size_t nd = sizeof(digits);
        do {
            digits[--nd] = (char)('0' + content_length % 10);
            content_length /= 10;
        } while (content_length > 0);
        rc = h2g_buf_puts(out, "Content-Length: ") || h2g_buf_append(out, digits + nd, sizeof(digits) - nd) ||
             h2g_buf_puts(out, "\r\n");
    }
    else if (framing == H2G_BODY_CHUNKED)
        rc = h2g_buf_puts(out, "Transfer-Encoding: chunked\r\n");
    return rc;
}

static const char *request_head(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                                enum h2g_body_framing framing, uint64_t content_length,
                                struct h2g_buf *out)
{
    struct head_plan plan;
    /* Validate everything first so a refusal appends nothing. */
    const char *err = check_request_line(req, &plan);
    if (err == NULL)
        err = check_fields(req, &plan);
    if (err != NULL)
        return err;

    if (put_request_line(out, req, &plan) != 0 || copy_fields(out, req->fields, req->n_fields) != 0)
        return h2g_msg_nomem;
    if (fwd != NULL && put_forwarding(out, fwd, plan.host, plan.host_len) != 0)
        return h2g_msg_nomem;
    if (put_body_framing(out, framing, content_length) != 0 || h2g_buf_puts(out, "\r\n") != 0)
        return h2g_msg_nomem;
    return NULL;
}

const char *h2_to_h1_request(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                             enum h2g_body_framing framing, uint64_t content_length,
                             struct h2g_buf *out)
{
    size_t start = out->len;
    const char *err = request_head(req, fwd, framing, content_length, out);
    if (err != NULL)
        out->len = start; /* never leave half a head behind */
    return err;
}

int h2_to_h1_trailers(const struct h2g_field *fields, size_t n, struct h2g_buf *out)
{
    size_t start = out->len;
    if (h2g_buf_puts(out, "0\r\n") != 0)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const struct h2g_field *f = &fields[i];
        unsigned flags = h2g_hdr_flags(h2g_hdr_lookup(f->name, f->name_len));
        if (flags & (H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER | H2G_HDRF_FORWARDING))
            continue;
        /* A field that cannot be written safely is dropped: trailers are
         * advisory, and the body already went out. */
        if (!h2g_hdr_name_valid(f->name, f->name_len) || !h2g_hdr_value_safe(f->value, f->value_len))
            continue;
        if (put_field(out, f->name, f->name_len, f->value, f->value_len) != 0)
            goto nomem;
    }
    if (h2g_buf_puts(out, "\r\n") != 0)
        goto nomem;
    return 0;
nomem:
    out->len = start;
    return H2G_ERR_NOMEM;
}
