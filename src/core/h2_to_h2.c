/*
 * h2_to_h2.c: a client request -> the header list sent to an HTTP/2
 * upstream (RFC 9113 8.2.2 connection-specific fields, 8.3.1 request
 * pseudo-header fields, RFC 7239 Forwarded).
 *
 * Input accepted: what nghttp2 (HTTP/2 clients) or h1_parse (HTTP/1.1
 * clients) already validated; names are lowercased here because an
 * HTTP/1.1 client's are not, and HTTP/2 forbids uppercase names.
 */
#include "core/h2_to_h2.h"

#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/hdr.h"

void h2g_h2_request_reset(struct h2g_h2_request *r)
{
    h2g_buf_reset(&r->store);
    r->n = 0;
}

void h2g_h2_request_clear(struct h2g_h2_request *r)
{
    h2g_buf_clear(&r->store);
    free(r->nva);
    r->nva = NULL;
    r->n = r->cap = 0;
}

/* The names h2_to_h2_request writes itself, and "CONNECT": room for them
 * is reserved with the values. */
#define OWN_NAMES (sizeof(":method:scheme:authority:path:protocol") - 1 + \
                   sizeof("x-forwarded-forx-forwarded-protoforwarded") - 1 + sizeof("CONNECT") - 1)

/* Appends one entry into the room reserve() made (the store never
 * moves); an entry that would not fit is left out and r->n set past
 * r->cap, which h2_to_h2_request reports (it cannot happen: reserve
 * counts every byte). */
static void put(struct h2g_h2_request *r, const char *name, size_t nlen, const char *value, size_t vlen, bool lower)
{
    if (r->n >= r->cap || r->store.cap - r->store.len < nlen + vlen) {
        r->n = r->cap + 1;
        return;
    }
    char *n = r->store.data + r->store.len;
    for (size_t i = 0; i < nlen; i++)
        n[i] = lower && name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];
    r->store.len += nlen;
    char *v = r->store.data + r->store.len;
    memcpy(v, value, vlen);
    r->store.len += vlen;
    nghttp2_nv *nv = &r->nva[r->n++];
    nv->name = (uint8_t *)n;
    nv->namelen = nlen;
    nv->value = (uint8_t *)v;
    nv->valuelen = vlen;
    /* Values may be secrets (Cookie, Authorization): nghttp2 then keeps
     * them out of its dynamic table only when asked; the names and values
     * live in our store until the request is submitted. */
    nv->flags = NGHTTP2_NV_FLAG_NONE;
}

static bool dropped(const struct h2g_field *f, size_t n, size_t i, const struct h2g_conn_tokens *ct)
{
    enum h2g_hdr_token t = h2g_hdr_lookup(f[i].name, f[i].name_len);
    if (t == H2G_HDR_TE)
        return !h2g_te_is_trailers(f[i].value, f[i].value_len);
    if (h2g_hdr_flags(t) & (H2G_HDRF_HOP | H2G_HDRF_FORWARDING))
        return true;
    /* Sec-WebSocket-Key belongs to the HTTP/1.1 handshake (RFC 8441 5). */
    if (t == H2G_HDR_HOST || t == H2G_HDR_SEC_WEBSOCKET_KEY)
        return true;
    return ct->n > 0 && h2g_conn_tokens_has(ct, f, n, f[i].name, f[i].name_len);
}

/* The Host field's value, or NULL. */
static const struct h2g_field *host_field(const struct h2g_request_head *req)
{
    for (size_t i = 0; i < req->n_fields; i++)
        if (h2g_hdr_lookup(req->fields[i].name, req->fields[i].name_len) == H2G_HDR_HOST)
            return &req->fields[i];
    return NULL;
}

/* Room for everything at once, so that the store never moves under the
 * pointers already in nva.  0 or H2G_ERR_NOMEM. */
static int reserve(struct h2g_h2_request *r, const struct h2g_request_head *req, size_t extra)
{
    size_t bytes = extra;
    for (size_t i = 0; i < req->n_fields; i++)
        bytes += req->fields[i].name_len + req->fields[i].value_len;
    size_t entries = req->n_fields + 9;
    if (entries > r->cap) {
        nghttp2_nv *nva = realloc(r->nva, entries * sizeof(*nva));
        if (nva == NULL)
            return H2G_ERR_NOMEM;
        r->nva = nva;
        r->cap = entries;
    }
    return h2g_buf_reserve(&r->store, bytes);
}

/* x-forwarded-for, x-forwarded-proto and forwarded, written into the
 * reserved store. */
static void put_forwarding(struct h2g_h2_request *r, const char *ip,
                           const char *proto, struct h2g_buf *fv)
{
    if (ip != NULL)
        put(r, "x-forwarded-for", 15, ip, strlen(ip), false);
    if (proto != NULL)
        put(r, "x-forwarded-proto", 17, proto, strlen(proto), false);
    if (fv->len > 0)
        put(r, "forwarded", 9, fv->data, fv->len, false);
}

const char *h2_to_h2_request(const struct h2g_request_head *req, const struct h2g_forward_info *fwd,
                             struct h2g_h2_request *out)
{
    h2g_h2_request_reset(out);
    if (req->protocol != NULL && req->protocol_len == 0)
        return "empty :protocol";
    if (req->method == NULL || req->method_len == 0)
        return "missing :method";
    if (req->path == NULL || req->path_len == 0)
        return "missing :path";
    const char *auth = req->authority;
    size_t auth_len = req->authority_len;
    const struct h2g_field *hf = host_field(req);
    if (auth == NULL && hf != NULL) {
        auth = hf->value;
        auth_len = hf->value_len;
    }
    if (auth == NULL || auth_len == 0)
        return "no :authority and no Host";
    const char *scheme = req->scheme != NULL ? req->scheme : fwd->proto != NULL ? fwd->proto : "http";
    size_t scheme_len = req->scheme != NULL ? req->scheme_len : strlen(scheme);

    const char *ip, *proto;
    h2g_forward_checked(fwd, &ip, &proto);
    struct h2g_buf fv = {0};
    if ((ip != NULL || proto != NULL) &&
        h2g_forwarded_value(&fv, fwd->client_is_ipv6, ip, proto, auth, auth_len) != 0) {
        h2g_buf_clear(&fv);
        return h2g_msg_nomem;
    }
    size_t extra = OWN_NAMES + req->method_len + scheme_len + auth_len + req->path_len + req->protocol_len + fv.len +
                   (ip ? strlen(ip) : 0) + (proto ? strlen(proto) : 0);
    if (reserve(out, req, extra) != 0) {
        h2g_buf_clear(&fv);
        return h2g_msg_nomem;
    }
    /* RFC 8441 4: extended CONNECT, also for an HTTP/1.1 client's
     * Upgrade (a GET with :protocol from h1_session). */
    if (req->protocol != NULL)
        put(out, ":method", 7, "CONNECT", 7, false);
    else
        put(out, ":method", 7, req->method, req->method_len, false);
    put(out, ":scheme", 7, scheme, scheme_len, false);
    put(out, ":authority", 10, auth, auth_len, false);
    put(out, ":path", 5, req->path, req->path_len, false);
    if (req->protocol != NULL)
        put(out, ":protocol", 9, req->protocol, req->protocol_len, false);
    struct h2g_conn_tokens ct;
    h2g_conn_tokens_init(&ct, req->fields, req->n_fields);
    for (size_t i = 0; i < req->n_fields; i++) {
        const struct h2g_field *f = &req->fields[i];
        if (!dropped(req->fields, req->n_fields, i, &ct))
            put(out, f->name, f->name_len, f->value, f->value_len, true);
    }
    put_forwarding(out, ip, proto, &fv);
    h2g_buf_clear(&fv);
    if (out->n > out->cap) {
        h2g_h2_request_reset(out);
        return "request head larger than its reserved room (a bug)";
    }
    return NULL;
}
