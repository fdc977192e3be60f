/*
 * h1_resp.c: reason phrases and HTTP/1.1 response heads.  See h1_resp.h.
 *
 * One writer for every head, so that the phrases, the framing fields and
 * their order are the same whether h2gate answers by itself (400, 408,
 * 100 Continue, 101) or relays an upstream's response.
 */
#include "core/h1_resp.h"

#include <stdio.h>
#include <string.h>

const char *h2g_reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 511: return "Network Authentication Required";
    default: break;
    }
    static const char *const classes[] = {"Informational", "Successful", "Redirection", "Client Error",
                                          "Server Error"};
    return status >= 100 && status <= 599 ? classes[status / 100 - 1] : "";
}

/* Appends bytes at off when they fit in cap; counts them either way. */
struct out {
    char *dst;
    size_t cap, off;
};

static void put(struct out *o, const void *p, size_t len)
{
    if (o->dst != NULL && len <= o->cap && o->off <= o->cap - len)
        memcpy(o->dst + o->off, p, len);
    o->off += len;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_uint(struct out *o, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    put(o, digits, (size_t)n);
}

static void put_fields(struct out *o, const nghttp2_nv *nva, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(o, nva[i].name, nva[i].namelen);
        put(o, ": ", 2);
        put(o, nva[i].value, nva[i].valuelen);
        put(o, "\r\n", 2);
    }
}

size_t h2g_h1_resp_head(char *dst, size_t cap, const struct h2g_h1_resp *r)
{
    struct out o = {dst, cap, 0};
    put_str(&o, "HTTP/1.1 ");
    put_uint(&o, r->status > 0 ? (uint64_t)r->status : 0);
    put(&o, " ", 1);
    put_str(&o, r->reason != NULL ? r->reason : h2g_reason_phrase(r->status));
    put(&o, "\r\n", 2);
    put_fields(&o, r->fields, r->n_fields);
    put_fields(&o, r->extra, r->n_extra);
    if (r->content_length >= 0) {
        put_str(&o, "content-length: ");
        put_uint(&o, (uint64_t)r->content_length);
        put(&o, "\r\n", 2);
    }
    if (r->chunked)
        put_str(&o, "transfer-encoding: chunked\r\n");
    switch (r->connection) {
    case H2G_H1_CONN_NONE: break;
    case H2G_H1_CONN_CLOSE: put_str(&o, "connection: close\r\n"); break;
    case H2G_H1_CONN_KEEP_ALIVE: put_str(&o, "connection: keep-alive\r\n"); break;
    case H2G_H1_CONN_UPGRADE:
        put_str(&o, "upgrade: ");
        put_str(&o, r->upgrade != NULL ? r->upgrade : "");
        put_str(&o, "\r\nconnection: Upgrade\r\n");
        break;
    }
    put(&o, "\r\n", 2);
    return o.off;
}

size_t h2g_h1_last_chunk(char *dst, size_t cap, const nghttp2_nv *trailers, size_t n)
{
    struct out o = {dst, cap, 0};
    put(&o, "0\r\n", 3);
    put_fields(&o, trailers, n);
    put(&o, "\r\n", 2);
    return o.off;
}
