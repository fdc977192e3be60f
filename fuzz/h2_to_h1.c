/*
 * h2_to_h1.c: HTTP/2 request -> HTTP/1.1 request head (src/core/h2_to_h1.h),
 * where bytes a client chose become a request line and fields upstream.
 *
 * Input: byte 0 options (bits 0-1 framing, 2 forwarding info, 3 IPv6
 * client, 4 "https", 5 client address and proto from the input, 6 the
 * output buffer not empty before, 7 trailers too); byte 1 which
 * pseudo-headers are present (bit 0 :method, 1 :scheme, 2 :authority,
 * 3 :path, 4 :protocol); bytes 2-9 the Content-Length (little-endian);
 * then length-prefixed records (one length byte): the five pseudo-header
 * values, [client address, proto,] then name, value, name, value...
 * Each record is its own heap block of exactly its size.
 *
 * Checked: a refused request appends nothing; an accepted one is exactly
 * one HTTP/1.1 head (no CR, LF or NUL but the CRLFs that end lines, one
 * blank line, at its end), one Host, the framing fields h2gate chose and
 * no other (no request smuggling), no hop-by-hop or client forwarding
 * field; h1_parse.c, if it accepts the head, reads the same request.
 * Trailers likewise.
 *
 * The same request also goes through h2_to_h2_request (the header list
 * for an HTTP/2 upstream, src/core/h2_to_h2.h): refused, it has no
 * entry; accepted, the pseudo-header fields come first (:method,
 * :scheme, :authority, :path, then :protocol exactly when the request
 * had one), every name is lowercase and points into the list's store,
 * and no connection-specific, Host or client forwarding field is left
 * before h2gate's own three.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"
#include "fuzz.h"
#include "core/h1_parse.h"
#include "core/h2_to_h1.h"
#include "core/h2_to_h2.h"
#include "core/hdr.h"

#define MAX_RECORDS 72

struct input {
    const uint8_t *p;
    size_t n;
    char *blocks[MAX_RECORDS];
    size_t n_blocks;
};

/* The next record: a heap copy (NUL after it when nul), *len its size.
 * NULL when the input is used up. */
static char *record(struct input *in, size_t *len, bool nul)
{
    if (in->n == 0 || in->n_blocks == MAX_RECORDS)
        return NULL;
    size_t l = in->p[0];
    if (l > in->n - 1)
        l = in->n - 1;
    char *b = fuzz_dup(in->p + 1, l, nul);
    in->p += 1 + l;
    in->n -= 1 + l;
    in->blocks[in->n_blocks++] = b;
    *len = l;
    return b;
}

static bool eq_ci(const char *a, size_t alen, const char *lit)
{
    return alen == strlen(lit) && strncasecmp(a, lit, alen) == 0;
}

struct line {
    const char *p;
    size_t len;
};

/* Splits h[0..n) into CRLF-ended lines after checking that CR and LF come
 * only as CRLF and NUL never.  Returns the number of lines (the blank one
 * last, checked to be the only one). */
static size_t split_lines(const char *h, size_t n, struct line *lines, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(h[i] != '\0');
        if (h[i] == '\r')
            FUZZ_CHECK(i + 1 < n && h[i + 1] == '\n');
        if (h[i] == '\n')
            FUZZ_CHECK(i > 0 && h[i - 1] == '\r');
    }
    size_t nl = 0, start = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (h[i] != '\r')
            continue;
        FUZZ_CHECK(nl < cap);
        lines[nl].p = h + start;
        lines[nl].len = i - start;
        nl++;
        start = i + 2;
        i++;
    }
    FUZZ_CHECK(start == n); /* the last line is ended too */
    FUZZ_CHECK(nl >= 1 && lines[nl - 1].len == 0);
    for (size_t i = 0; i + 1 < nl; i++)
        FUZZ_CHECK(lines[i].len > 0);
    return nl;
}

/* A field line: "name: value", name a token; *name_len and the value. */
static void field_line(const struct line *l, size_t *name_len, const char **value, size_t *value_len)
{
    const char *colon = memchr(l->p, ':', l->len);
    FUZZ_CHECK(colon != NULL);
    *name_len = (size_t)(colon - l->p);
    FUZZ_CHECK(h2g_hdr_name_valid(l->p, *name_len));
    FUZZ_CHECK(*name_len + 2 <= l->len && colon[1] == ' ');
    *value = colon + 2;
    *value_len = l->len - *name_len - 2;
}

/* What h1_parse.c saw of the head (if it accepted it). */
struct reparse {
    int heads;
    struct h1_head head;
    size_t n_fields;
    int completes;
    size_t trailers;
};

static int rp_head(void *arg, const struct h1_head *h)
{
    struct reparse *r = arg;
    r->heads++;
    r->head = *h;
    r->n_fields = h->n_fields;
    return 0;
}

static int rp_data(void *arg, const char *p, size_t len)
{
    FUZZ_CHECK(!"no body bytes were given");
    return 0;
}

static int rp_trailers(void *arg, const struct h2g_field *f, size_t n)
{
    ((struct reparse *)arg)->trailers = n;
    return 0;
}

static int rp_complete(void *arg)
{
    ((struct reparse *)arg)->completes++;
    return 0;
}

static const struct h1_parser_cb rp_cb = {rp_head, rp_data, rp_trailers, rp_complete};

static void check_head(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                       enum h2g_body_framing framing, uint64_t content_length, const char *h, size_t n)
{
    struct line lines[MAX_RECORDS + 16];
    size_t nl = split_lines(h, n, lines, sizeof(lines) / sizeof(lines[0]));
    FUZZ_CHECK(nl >= 3); /* request line, Host, blank */

    /* The request line: method SP target SP HTTP/1.1, one SP each. */
    const struct line *rl = &lines[0];
    const char *sp1 = memchr(rl->p, ' ', rl->len);
    FUZZ_CHECK(sp1 != NULL);
    size_t ml = (size_t)(sp1 - rl->p);
    FUZZ_CHECK(h2g_hdr_name_valid(rl->p, ml));
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(rl->p + rl->len - target));
    FUZZ_CHECK(sp2 != NULL);
    size_t tl = (size_t)(sp2 - target);
    FUZZ_CHECK(tl > 0);
    for (size_t i = 0; i < tl; i++)
        FUZZ_CHECK((unsigned char)target[i] > ' ' && target[i] != 0x7f);
    FUZZ_CHECK(rl->p + rl->len - sp2 == 9 && memcmp(sp2, " HTTP/1.1", 9) == 0);
    bool connect = req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0;
    bool extended = req->protocol != NULL && (connect || (req->method_len == 3 && memcmp(req->method, "GET", 3) == 0));
    if (extended)
        FUZZ_CHECK(ml == 3 && memcmp(rl->p, "GET", 3) == 0);
    else
        FUZZ_CHECK(ml == req->method_len && memcmp(rl->p, req->method, ml) == 0);

    size_t host = 0, cl = 0, te = 0, conn = 0, upgrade = 0, xff = 0, xfp = 0, fwdd = 0, cookie = 0;
    for (size_t i = 1; i + 1 < nl; i++) {
        size_t nlen, vlen;
        const char *v;
        field_line(&lines[i], &nlen, &v, &vlen);
        enum h2g_hdr_token t = h2g_hdr_lookup(lines[i].p, nlen);
        switch (t) {
        case H2G_HDR_HOST: host++; break;
        case H2G_HDR_CONTENT_LENGTH: {
            cl++;
            char want[24];
            int wl = snprintf(want, sizeof(want), "%llu", (unsigned long long)content_length);
            FUZZ_CHECK((size_t)wl == vlen && memcmp(v, want, vlen) == 0);
            break;
        }
        case H2G_HDR_TRANSFER_ENCODING:
            te++;
            FUZZ_CHECK(eq_ci(v, vlen, "chunked"));
            break;
        case H2G_HDR_CONNECTION:
            conn++;
            FUZZ_CHECK(eq_ci(v, vlen, "upgrade"));
            break;
        case H2G_HDR_UPGRADE: upgrade++; break;
        case H2G_HDR_X_FORWARDED_FOR: xff++; break;
        case H2G_HDR_X_FORWARDED_PROTO: xfp++; break;
        case H2G_HDR_FORWARDED: fwdd++; break;
        case H2G_HDR_COOKIE: cookie++; break;
        case H2G_HDR_KEEP_ALIVE:
        case H2G_HDR_PROXY_CONNECTION:
        case H2G_HDR_HTTP2_SETTINGS:
            FUZZ_CHECK(!"a hop-by-hop field was forwarded");
            break;
        default: break;
        }
    }
    FUZZ_CHECK(host == 1);
    FUZZ_CHECK(cl == (framing == H2G_BODY_LENGTH));
    FUZZ_CHECK(te == (framing == H2G_BODY_CHUNKED));
    FUZZ_CHECK(conn == extended && upgrade == extended);
    FUZZ_CHECK(xff <= 1 && xfp <= 1 && fwdd <= 1 && cookie <= 1);
    if (fwd == NULL)
        FUZZ_CHECK(xff == 0 && xfp == 0 && fwdd == 0);

    /* Read back by our own strict parser: if it takes the head, it must
     * see this one request, all of it, framed as decided. */
    struct reparse r = {0};
    struct h1_parser p;
    h1_parser_init(&p, false, 0, &rp_cb, &r);
    char *copy = fuzz_dup(h, n, 0);
    size_t used = 0;
    int rc = h1_parser_feed(&p, copy, n, &used);
    if (rc == 0 || rc == H2G_ERR_PAUSED) {
        FUZZ_CHECK(used == n && r.heads == 1);
        FUZZ_CHECK(r.n_fields == nl - 2);
        FUZZ_CHECK(r.head.target_len == tl && memcmp(r.head.target, target, tl) == 0);
        if (framing == H2G_BODY_CHUNKED)
            FUZZ_CHECK(r.head.body == H1_BODY_CHUNKED && r.completes == 0);
        else if (framing == H2G_BODY_LENGTH && content_length > 0)
            FUZZ_CHECK(r.head.body == H1_BODY_LENGTH && r.head.content_length == content_length &&
                       r.completes == 0);
        else
            FUZZ_CHECK(r.head.body == H1_BODY_NONE && r.completes == 1);
    }
    free(copy);
    h1_parser_clear(&p);
}

static void check_trailers(const struct h2g_field *f, size_t nf, const char *h, size_t n)
{
    struct line lines[MAX_RECORDS + 4];
    size_t nl = split_lines(h, n, lines, sizeof(lines) / sizeof(lines[0]));
    FUZZ_CHECK(lines[0].len == 1 && lines[0].p[0] == '0');
    for (size_t i = 1; i + 1 < nl; i++) {
        size_t nlen, vlen;
        const char *v;
        field_line(&lines[i], &nlen, &v, &vlen);
        unsigned flags = h2g_hdr_flags(h2g_hdr_lookup(lines[i].p, nlen));
        FUZZ_CHECK(!(flags & (H2G_HDRF_HOP | H2G_HDRF_NO_TRAILER | H2G_HDRF_FORWARDING)));
    }
    /* As the last chunk of a chunked request body. */
    static const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    size_t hl = sizeof(head) - 1;
    char *msg = malloc(hl + n);
    if (msg == NULL)
        abort();
    memcpy(msg, head, hl);
    memcpy(msg + hl, h, n);
    struct reparse r = {0};
    struct h1_parser p;
    h1_parser_init(&p, false, 0, &rp_cb, &r);
    size_t used = 0;
    int rc = h1_parser_feed(&p, msg, hl + n, &used);
    if (rc == 0 || rc == H2G_ERR_PAUSED)
        FUZZ_CHECK(rc == H2G_ERR_PAUSED && used == hl + n && r.completes == 1 && r.trailers == nl - 2);
    h1_parser_clear(&p);
    free(msg);
}

static bool nv_is(const nghttp2_nv *nv, const char *name)
{
    return nv->namelen == strlen(name) && memcmp(nv->name, name, nv->namelen) == 0;
}

/* The properties of an HTTP/2 upstream's header list (see the top). */
static void check_h2_list(const struct h2g_request_head *req, const struct h2g_forward_info *fwd)
{
    struct h2g_h2_request out = {0};
    const char *err = h2_to_h2_request(req, fwd, &out);
    if (err != NULL) {
        FUZZ_CHECK(out.n == 0);
        h2g_h2_request_clear(&out);
        return;
    }
    static const char *const pseudo[] = {":method", ":scheme", ":authority", ":path", ":protocol"};
    size_t np = req->protocol != NULL ? 5 : 4;
    FUZZ_CHECK(out.n >= np);
    for (size_t i = 0; i < np; i++)
        FUZZ_CHECK(nv_is(&out.nva[i], pseudo[i]));
    size_t ours = 0;
    for (size_t i = np; i < out.n; i++) {
        const nghttp2_nv *nv = &out.nva[i];
        FUZZ_CHECK((const char *)nv->name >= out.store.data &&
                   (const char *)nv->value + nv->valuelen <= out.store.data + out.store.len);
        for (size_t k = 0; k < nv->namelen; k++)
            FUZZ_CHECK(nv->name[k] < 'A' || nv->name[k] > 'Z');
        enum h2g_hdr_token t = h2g_hdr_lookup((const char *)nv->name, nv->namelen);
        FUZZ_CHECK(t != H2G_HDR_HOST && !(h2g_hdr_flags(t) & H2G_HDRF_HOP && t != H2G_HDR_TE));
        if (h2g_hdr_flags(t) & H2G_HDRF_FORWARDING)
            ours++;
        else
            FUZZ_CHECK(ours == 0); /* h2gate's own come last */
    }
    FUZZ_CHECK(ours <= 3);
    h2g_h2_request_clear(&out);
}

int fuzz_h2_to_h1(const uint8_t *data, size_t size)
{
    if (size < 10)
        return 0;
    uint8_t opt = data[0], present = data[1];
    uint64_t content_length = 0;
    for (int i = 7; i >= 0; i--)
        content_length = content_length << 8 | data[2 + i];
    struct input in = {.p = data + 10, .n = size - 10};

    struct h2g_request_head req = {0};
    struct {
        const char **value;
        size_t *len;
    } pseudo[] = {{&req.method, &req.method_len},
                  {&req.scheme, &req.scheme_len},
                  {&req.authority, &req.authority_len},
                  {&req.path, &req.path_len},
                  {&req.protocol, &req.protocol_len}};
    size_t len = 0;
    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++) {
        const char *v = record(&in, &len, false);
        if ((present >> i) & 1) {
            *pseudo[i].value = v;
            *pseudo[i].len = len;
        }
    }

    struct h2g_forward_info fwd = {
        .client_addr = opt & 8 ? "2001:db8::1" : "192.0.2.1",
        .client_is_ipv6 = (opt & 8) != 0,
        .proto = opt & 16 ? "https" : "http",
    };
    if (opt & 32) {
        const char *a = record(&in, &len, true), *pr = record(&in, &len, true);
        fwd.client_addr = a;
        fwd.proto = pr;
    }
    struct h2g_field fields[MAX_RECORDS / 2];
    size_t nf = 0;
    while (nf < sizeof(fields) / sizeof(fields[0])) {
        size_t nl, vl;
        const char *name = record(&in, &nl, false);
        const char *value = record(&in, &vl, false);
        if (name == NULL)
            break;
        fields[nf].name = name;
        fields[nf].name_len = nl;
        fields[nf].value = value != NULL ? value : "";
        fields[nf].value_len = value != NULL ? vl : 0;
        nf++;
    }
    req.fields = fields;
    req.n_fields = nf;

    enum h2g_body_framing framing = (enum h2g_body_framing)(opt & 3);
    if (framing > H2G_BODY_CHUNKED)
        framing = H2G_BODY_NONE;
    const struct h2g_forward_info *f = opt & 4 ? &fwd : NULL;
    struct h2g_buf out = {0};
    size_t start = 0;
    if (opt & 64) {
        if (h2g_buf_puts(&out, "earlier bytes") != 0)
            abort();
        start = out.len;
    }
    const char *err = h2_to_h1_request(&req, f, framing, content_length, &out);
    if (err != NULL) {
        FUZZ_CHECK(out.len == start); /* nothing appended */
    } else {
        FUZZ_CHECK(out.len > start);
        check_head(&req, f, framing, content_length, out.data + start, out.len - start);
    }
    if (start > 0)
        FUZZ_CHECK(memcmp(out.data, "earlier bytes", start) == 0);
    check_h2_list(&req, &fwd);

    if (opt & 128) {
        size_t t0 = out.len;
        FUZZ_CHECK(h2_to_h1_trailers(fields, nf, &out) == 0);
        check_trailers(fields, nf, out.data + t0, out.len - t0);
    }
    h2g_buf_clear(&out);
    for (size_t i = 0; i < in.n_blocks; i++)
        free(in.blocks[i]);
    return 0;
}

H2G_FUZZ_TARGET(fuzz_h2_to_h1)
