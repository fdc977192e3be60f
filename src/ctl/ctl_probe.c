/*
 * ctl_probe.c: "h2gatectl probe URL".  See ctl_probe.h.
 *
 * Everything learnt is collected into one JSON object (the report) and
 * printed at the end either as JSON or as text, so both outputs always
 * agree.  Blocking sockets with SO_RCVTIMEO/SO_SNDTIMEO: each I/O step
 * waits at most timeout_ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_probe.h"
#include "ctl/ctl_render.h"
#include "core/hdr.h"
#include "core/units.h"

struct url {
    bool tls;
    char host[256];  /* without brackets */
    bool host_is_ip;
    unsigned port;
    char path[4096]; /* path + query, at least "/" */
    char authority[300];
};

/* Probe state: the connection, the nghttp2 session, the report. */
struct probe {
    const struct ctl_probe_opts *o;
    struct url u;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *ng;
    int32_t stream_id;
    double t0, t_first, t_end;
    bool stream_closed, io_error;
    json_t *report;   /* owned; the whole result */
    json_t *settings; /* borrowed from report: name -> value */
    json_t *altsvc, *origin, *headers; /* borrowed from report */
    uint64_t body_bytes;
    int64_t conn_window_update;
    int status;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double round3(double v)
{
    return (double)(long long)(v * 1000 + 0.5) / 1000;
}

/* ---- URL ------------------------------------------------------------ */

/* Returns NULL or a static error.  *port is left as it is when s has no
 * port. */
static const char *parse_hostport(const char *s, size_t n, char *host, size_t hostlen,
                                  unsigned *port, bool *is_ip)
{
    static const struct h2g_authority_words words = {
        .empty = "empty host",
        .no_close = "unterminated '[' in the host",
        .after_close = "junk after the host",
        .empty_port = "bad port",
        .port_chars = "bad port",
        .port_range = "port out of range",
        .empty_host = "empty host",
    };
    struct h2g_authority a;
    const char *err = h2g_parse_authority(s, n, 0, &words, &a);
    if (err != NULL)
        return err;
    if (a.host_len >= hostlen)
        return "host too long";
    memcpy(host, a.host, a.host_len);
    host[a.host_len] = '\0';
    if (a.has_port)
        *port = a.port;
    struct in6_addr a6;
    *is_ip = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    return NULL;
}

static const char *parse_url(const char *url, struct url *u)
{
    const char *p;
    memset(u, 0, sizeof(*u));
    if (strncmp(url, "https://", 8) == 0) {
        u->tls = true;
        u->port = 443;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        u->port = 80;
        p = url + 7;
    } else {
        return "expected an http:// or https:// URL";
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen) != NULL)
        return "user information in the URL is not supported";
    const char *err = parse_hostport(p, alen, u->host, sizeof(u->host), &u->port, &u->host_is_ip);
    if (err != NULL)
        return err;
    const char *path = p + alen;
    size_t plen = strcspn(path, "#");
    if (plen + 2 > sizeof(u->path))
        return "path too long";
    if (plen == 0 || path[0] != '/') {
        u->path[0] = '/';
        memcpy(u->path + 1, path, plen);
        u->path[plen + 1] = '\0';
    } else {
        memcpy(u->path, path, plen);
        u->path[plen] = '\0';
    }
    bool v6 = strchr(u->host, ':') != NULL;
    bool defport = u->port == (u->tls ? 443u : 80u);
    if (defport)
        snprintf(u->authority, sizeof(u->authority), "%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "");
    else
        snprintf(u->authority, sizeof(u->authority), "%s%s%s:%u", v6 ? "[" : "", u->host,
                 v6 ? "]" : "", u->port);
    return NULL;
}

/* ---- TCP -------------------------------------------------------------- */

static int tcp_connect(struct probe *p, const char *host, unsigned port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char pstr[8];
    snprintf(pstr, sizeof(pstr), "%u", port);
    int g = getaddrinfo(host, pstr, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(g));
        return -1;
    }
    struct timeval tv = h2g_ms_timeval((uint64_t)p->o->timeout_ms);
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        char abuf[INET6_ADDRSTRLEN] = "?";
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, abuf, sizeof(abuf));
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, abuf, sizeof(abuf));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            char a[INET6_ADDRSTRLEN + 10];
            snprintf(a, sizeof(a), ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", abuf, port);
            json_object_set_new(p->report, "address", json_string(a));
            break;
        }
        int e = errno == EINPROGRESS ? ETIMEDOUT : errno;
        snprintf(err, errlen, "cannot connect to %s port %u: %s", abuf, port, strerror(e));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* ---- I/O over TCP or TLS ------------------------------------------------ */

static ssize_t io_write(struct probe *p, const uint8_t *data, size_t len)
{
    if (p->ssl != NULL) {
        size_t w = 0;
        int r = SSL_write_ex(p->ssl, data, len, &w);
        return r == 1 ? (ssize_t)w : -1;
    }
    ssize_t w;
    do {
        w = send(p->fd, data, len, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    return w;
}

/* >0 bytes, 0 = closed, -1 = error/timeout */
static ssize_t io_read(struct probe *p, uint8_t *buf, size_t len)
{
    if (p->ssl != NULL) {
        size_t r = 0;
        if (SSL_read_ex(p->ssl, buf, len, &r) == 1)
            return (ssize_t)r;
        int e = SSL_get_error(p->ssl, 0);
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    ssize_t r;
    do {
        r = recv(p->fd, buf, len, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* ---- TLS ---------------------------------------------------------------- */

static char *name_oneline(X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)len);
    BIO_free(b);
    return s;
}

static json_t *cert_summary(X509 *cert)
{
    json_t *c = json_object();
    char *s = name_oneline(X509_get_subject_name(cert));
    json_object_set_new(c, "subject", s ? json_string(s) : json_null());
    free(s);
    s = name_oneline(X509_get_issuer_name(cert));
    json_object_set_new(c, "issuer", s ? json_string(s) : json_null());
    free(s);

    json_t *sans = json_array();
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char buf[300];
        if (g->type == GEN_DNS) {
            const ASN1_IA5STRING *d = g->d.dNSName;
            snprintf(buf, sizeof(buf), "DNS:%.*s", ASN1_STRING_length(d),
                     (const char *)ASN1_STRING_get0_data(d));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING *ip = g->d.iPAddress;
            char a[INET6_ADDRSTRLEN] = "?";
            if (ASN1_STRING_length(ip) == 4)
                inet_ntop(AF_INET, ASN1_STRING_get0_data(ip), a, sizeof(a));
            else if (ASN1_STRING_length(ip) == 16)
                inet_ntop(AF_INET6, ASN1_STRING_get0_data(ip), a, sizeof(a));
            snprintf(buf, sizeof(buf), "IP:%s", a);
        } else if (g->type == GEN_URI) {
            const ASN1_IA5STRING *d = g->d.uniformResourceIdentifier;
            snprintf(buf, sizeof(buf), "URI:%.*s", ASN1_STRING_length(d),
                     (const char *)ASN1_STRING_get0_data(d));
        } else if (g->type == GEN_EMAIL) {
            const ASN1_IA5STRING *d = g->d.rfc822Name;
            snprintf(buf, sizeof(buf), "email:%.*s", ASN1_STRING_length(d),
                     (const char *)ASN1_STRING_get0_data(d));
        } else {
            continue;
        }
        json_array_append_new(sans, json_string(buf));
    }
    GENERAL_NAMES_free(gens);
    json_object_set_new(c, "sans", sans);

    static const struct {
        const char *key;
        const ASN1_TIME *(*get)(const X509 *);
    } times[] = {{"not_before", X509_get0_notBefore}, {"not_after", X509_get0_notAfter}};
    for (size_t i = 0; i < 2; i++) {
        struct tm tm;
        char buf[64];
        if (ASN1_TIME_to_tm(times[i].get(cert), &tm) == 1 &&
            strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
            json_object_set_new(c, times[i].key, json_string(buf));
        else
            json_object_set_new(c, times[i].key, json_null());
    }
    return c;
}

static const char *ssl_err(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* Returns 0, or -1 with err; *verified says whether the chain and name
 * verified. */
static int tls_handshake(struct probe *p, bool *verified, char *err, size_t errlen)
{
    p->ctx = SSL_CTX_new(TLS_client_method());
    if (p->ctx == NULL) {
        snprintf(err, errlen, "SSL_CTX_new failed");
        return -1;
    }
    SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);
    /* Verification is never fatal in the handshake: the result is read
     * afterwards and reported, so a bad certificate is still described. */
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
    if (p->o->cacert != NULL) {
        if (SSL_CTX_load_verify_locations(p->ctx, p->o->cacert, NULL) != 1) {
            char e[256];
            snprintf(err, errlen, "--cacert %s: %s", p->o->cacert, ssl_err(e, sizeof(e)));
            return -1;
        }
    } else {
        SSL_CTX_set_default_verify_paths(p->ctx);
    }
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(p->ctx, alpn, sizeof(alpn) - 1);
    p->ssl = SSL_new(p->ctx);
    if (p->ssl == NULL) {
        snprintf(err, errlen, "SSL_new failed");
        return -1;
    }
    if (!p->u.host_is_ip)
        SSL_set_tlsext_host_name(p->ssl, p->u.host);
    X509_VERIFY_PARAM *vp = SSL_get0_param(p->ssl);
    if (p->u.host_is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(vp, p->u.host);
    else
        X509_VERIFY_PARAM_set1_host(vp, p->u.host, 0);
    SSL_set_fd(p->ssl, p->fd);
    errno = 0;
    if (SSL_connect(p->ssl) != 1) {
        char e[256];
        snprintf(err, errlen, "TLS handshake failed: %s", ssl_err(e, sizeof(e)));
        SSL_free(p->ssl);
        p->ssl = NULL;
        return -1;
    }
    json_t *tls = json_object();
    json_object_set_new(tls, "version", json_string(SSL_get_version(p->ssl)));
    json_object_set_new(tls, "cipher", json_string(SSL_get_cipher_name(p->ssl)));
    json_object_set_new(tls, "sni", p->u.host_is_ip ? json_null() : json_string(p->u.host));
    X509 *cert = SSL_get1_peer_certificate(p->ssl);
    long vr = SSL_get_verify_result(p->ssl);
    *verified = cert != NULL && vr == X509_V_OK;
    if (cert != NULL) {
        json_t *c = cert_summary(cert);
        json_object_set_new(c, "verify", json_string(vr == X509_V_OK ? "ok" : X509_verify_cert_error_string(vr)));
        json_object_set_new(c, "verify_code", json_integer(vr));
        json_object_set_new(tls, "certificate", c);
        X509_free(cert);
    } else {
        json_object_set_new(tls, "certificate", json_null());
    }
    json_object_set_new(p->report, "tls", tls);
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;
    SSL_get0_alpn_selected(p->ssl, &sel, &sel_len);
    json_object_set_new(p->report, "alpn",
                        sel_len ? json_stringn((const char *)sel, sel_len) : json_null());
    return 0;
}

/* ---- nghttp2 callbacks --------------------------------------------------- */

static const char *settings_name(int32_t id, char *buf, size_t len)
{
    switch (id) {
    case NGHTTP2_SETTINGS_HEADER_TABLE_SIZE: return "HEADER_TABLE_SIZE";
    case NGHTTP2_SETTINGS_ENABLE_PUSH: return "ENABLE_PUSH";
    case NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS: return "MAX_CONCURRENT_STREAMS";
    case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE: return "INITIAL_WINDOW_SIZE";
    case NGHTTP2_SETTINGS_MAX_FRAME_SIZE: return "MAX_FRAME_SIZE";
    case NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE: return "MAX_HEADER_LIST_SIZE";
    case NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL: return "ENABLE_CONNECT_PROTOCOL";
    case NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES: return "NO_RFC7540_PRIORITIES";
    default: snprintf(buf, len, "0x%04x", (unsigned)id); return buf;
    }
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct probe *p = ud;
    size_t off = 0;
    while (off < len) {
        ssize_t w = io_write(p, data + off, len - off);
        if (w <= 0) {
            p->io_error = true;
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        off += (size_t)w;
    }
    return (ssize_t)len;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct probe *p = ud;
    char nb[16];
    switch (f->hd.type) {
    case NGHTTP2_SETTINGS:
        if (f->hd.flags & NGHTTP2_FLAG_ACK)
            break;
        for (size_t i = 0; i < f->settings.niv; i++)
            json_object_set_new(p->settings, settings_name(f->settings.iv[i].settings_id, nb, sizeof(nb)),
                                json_integer(f->settings.iv[i].value));
        break;
    case NGHTTP2_WINDOW_UPDATE:
        if (f->hd.stream_id == 0)
            p->conn_window_update += f->window_update.window_size_increment;
        break;
    case NGHTTP2_GOAWAY: {
        json_t *g = json_pack("{s:i,s:s,s:s%}", "last_stream_id", (json_int_t)f->goaway.last_stream_id,
                              "error", nghttp2_http2_strerror(f->goaway.error_code), "debug",
                              (const char *)f->goaway.opaque_data, f->goaway.opaque_data_len);
        json_object_set_new(p->report, "goaway", g ? g : json_null());
        break;
    }
    case NGHTTP2_ALTSVC: {
        const nghttp2_ext_altsvc *a = f->ext.payload;
        json_array_append_new(p->altsvc,
                              json_pack("{s:i,s:s%,s:s%}", "stream", (json_int_t)f->hd.stream_id,
                                        "origin", (const char *)a->origin, a->origin_len,
                                        "field_value", (const char *)a->field_value,
                                        a->field_value_len));
        break;
    }
    case NGHTTP2_ORIGIN: {
        const nghttp2_ext_origin *o = f->ext.payload;
        json_t *set = json_array();
        for (size_t i = 0; i < o->nov; i++)
            json_array_append_new(set, json_stringn((const char *)o->ov[i].origin, o->ov[i].origin_len));
        json_array_append_new(p->origin, set);
        break;
    }
    default: break;
    }
    return 0;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct probe *p = ud;
    if (f->hd.stream_id == p->stream_id && p->t_first == 0)
        p->t_first = now_ms();
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    struct probe *p = ud;
    if (f->hd.stream_id != p->stream_id)
        return 0;
    if (h2g_hdr_is((const char *)name, namelen, H2G_HDR_PSEUDO_STATUS) && valuelen == 3)
        p->status = atoi((const char *)value);
    json_array_append_new(p->headers, json_pack("[s%,s%]", (const char *)name, namelen,
                                                (const char *)value, valuelen));
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *ud)
{
    struct probe *p = ud;
    if (stream_id == p->stream_id)
        p->body_bytes += len;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    struct probe *p = ud;
    if (stream_id != p->stream_id)
        return 0;
    p->stream_closed = true;
    p->t_end = now_ms();
    if (error_code != NGHTTP2_NO_ERROR)
        json_object_set_new(p->report, "reset", json_string(nghttp2_http2_strerror(error_code)));
    return 0;
}

/* ---- the exchange -------------------------------------------------------- */

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}

static int h2_exchange(struct probe *p, char *err, size_t errlen)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_ALTSVC);
    nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_ORIGIN);
    int rv = nghttp2_session_client_new2(&p->ng, cb, p, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rv != 0) {
        snprintf(err, errlen, "nghttp2_session_client_new2: %s", nghttp2_strerror(rv));
        return -1;
    }
    const nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024},
    };
    nghttp2_submit_settings(p->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    nghttp2_session_set_local_window_size(p->ng, NGHTTP2_FLAG_NONE, 0, 64 * 1024 * 1024);
    const nghttp2_nv hdrs[] = {
        NV(":method", "GET"),
        NV(":scheme", p->u.tls ? "https" : "http"),
        NV(":authority", p->u.authority),
        NV(":path", p->u.path),
        NV("user-agent", "h2gatectl/" PACKAGE_VERSION),
        NV("accept", "*/*"),
    };
    p->stream_id = nghttp2_submit_request(p->ng, NULL, hdrs, sizeof(hdrs) / sizeof(hdrs[0]), NULL, NULL);
    if (p->stream_id < 0) {
        snprintf(err, errlen, "nghttp2_submit_request: %s", nghttp2_strerror(p->stream_id));
        return -1;
    }

    uint8_t buf[65536];
    for (;;) {
        rv = nghttp2_session_send(p->ng);
        if (rv != 0) {
            snprintf(err, errlen, "sending: %s", p->io_error ? strerror(errno) : nghttp2_strerror(rv));
            return -1;
        }
        if (p->stream_closed)
            return 0;
        if (!nghttp2_session_want_read(p->ng) && !nghttp2_session_want_write(p->ng)) {
            snprintf(err, errlen, "the server ended the session before the response");
            return -1;
        }
        errno = 0;
        ssize_t n = io_read(p, buf, sizeof(buf));
        if (n == 0) {
            snprintf(err, errlen, "connection closed by the server before the response was complete");
            return -1;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                snprintf(err, errlen, "no data from the server within %d ms", p->o->timeout_ms);
            else {
                char e[256];
                snprintf(err, errlen, "reading: %s", p->ssl ? ssl_err(e, sizeof(e)) : strerror(errno));
            }
            return -1;
        }
        ssize_t r = nghttp2_session_mem_recv(p->ng, buf, (size_t)n);
        if (r < 0) {
            snprintf(err, errlen, "HTTP/2 protocol error: %s", nghttp2_strerror((int)r));
            return -1;
        }
    }
}

/* ---- output -------------------------------------------------------------- */

static void print_tls(const json_t *r, const json_t *tls)
{
    const json_t *v;
    printf("tls:          %s, %s\n", json_string_value(json_object_get(tls, "version")),
           json_string_value(json_object_get(tls, "cipher")));
    const json_t *c = json_object_get(tls, "certificate");
    if (json_is_object(c)) {
        printf("certificate:\n");
        printf("  subject:    %s\n", json_string_value(json_object_get(c, "subject")));
        printf("  issuer:     %s\n", json_string_value(json_object_get(c, "issuer")));
        printf("  sans:       ");
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(c, "sans"), i, s)
            printf("%s%s", i ? ", " : "", json_string_value(s));
        printf("%s\n", json_array_size(json_object_get(c, "sans")) ? "" : "(none)");
        v = json_object_get(c, "not_after");
        printf("  not after:  %s\n", json_is_string(v) ? json_string_value(v) : "?");
        printf("  verify:     %s%s\n", json_string_value(json_object_get(c, "verify")),
               json_is_true(json_object_get(r, "insecure")) &&
                       json_integer_value(json_object_get(c, "verify_code")) != 0
                   ? " (ignored: --insecure)"
                   : "");
    } else {
        printf("certificate:  (none)\n");
    }
}

static void print_settings(const json_t *r, const json_t *st)
{
    printf("settings:\n");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)st, k, x)
        printf("  %-24s %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(x));
    const json_t *v = json_object_get(r, "connection_window_update");
    if (json_integer_value(v) > 0)
        printf("  (connection WINDOW_UPDATE +%" JSON_INTEGER_FORMAT ")\n", json_integer_value(v));
}

static void print_altsvc(const json_t *alt)
{
    if (json_array_size(alt) == 0)
        printf("altsvc:       (none)\n");
    else
        printf("altsvc:\n");
    size_t i;
    json_t *a;
    json_array_foreach(alt, i, a) {
        const char *o = json_string_value(json_object_get(a, "origin"));
        printf("  %s%s %s\n", o && o[0] ? o : "(this stream)", ":",
               json_string_value(json_object_get(a, "field_value")));
    }
}

/* One line per ORIGIN frame, each listing its set. */
static void print_origin(const json_t *org)
{
    if (json_array_size(org) == 0)
        printf("origin:       (none)\n");
    size_t i, j;
    json_t *set, *o;
    json_array_foreach(org, i, set) {
        printf("origin:      ");
        json_array_foreach(set, j, o)
            printf(" %s", json_string_value(o));
        printf("%s\n", json_array_size(set) ? "" : " (empty)");
    }
}

static void print_response(const json_t *resp)
{
    char b[64];
    printf("response:\n");
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(resp, "headers"), i, h)
        printf("  %s: %s\n", json_string_value(json_array_get(h, 0)),
               json_string_value(json_array_get(h, 1)));
    printf("  (body: %s)\n",
           ctl_fmt_bytes(b, sizeof(b), (double)json_integer_value(json_object_get(resp, "body_bytes"))));
}

static void print_text(const json_t *r)
{
    const json_t *v;
    printf("url:          %s\n", json_string_value(json_object_get(r, "url")));
    if ((v = json_object_get(r, "address")) != NULL)
        printf("connected to: %s\n", json_string_value(v));
    if ((v = json_object_get(r, "alpn")) != NULL)
        printf("alpn:         %s\n", json_is_string(v) ? json_string_value(v) : "(none)");
    else if (json_object_get(r, "address") != NULL)
        printf("alpn:         (cleartext, prior knowledge)\n");
    const json_t *tls = json_object_get(r, "tls");
    if (json_is_object(tls))
        print_tls(r, tls);
    const json_t *st = json_object_get(r, "settings");
    if (json_is_object(st) && json_object_size(st) > 0)
        print_settings(r, st);
    const json_t *alt = json_object_get(r, "altsvc");
    if (json_is_array(alt))
        print_altsvc(alt);
    const json_t *org = json_object_get(r, "origin");
    if (json_is_array(org))
        print_origin(org);
    const json_t *resp = json_object_get(r, "response");
    if (json_is_object(resp))
        print_response(resp);
    if ((v = json_object_get(r, "reset")) != NULL)
        printf("reset:        %s\n", json_string_value(v));
    const json_t *g = json_object_get(r, "goaway");
    if (json_is_object(g))
        printf("goaway:       %s, last stream %" JSON_INTEGER_FORMAT "%s%s\n",
               json_string_value(json_object_get(g, "error")),
               json_integer_value(json_object_get(g, "last_stream_id")),
               json_string_length(json_object_get(g, "debug")) ? ", debug: " : "",
               json_string_value(json_object_get(g, "debug")));
    const json_t *t = json_object_get(r, "timings_ms");
    if (json_is_object(t) && json_object_size(t) > 0) {
        printf("timings:     ");
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)t, k, x)
            printf(" %s %.2fms", k, json_number_value(x));
        printf("\n");
    }
}

/* TCP to host:port, then for https TLS, which must pick h2 by ALPN;
 * the timings "connect" and "tls".  0, or the exit status with err set:
 * 2 when the connection failed, 1 when TLS or its ALPN did. */
static int probe_connect(struct probe *p, const char *host, unsigned port, json_t *timings, bool *verified,
                         char *err, size_t errlen)
{
    p->t0 = now_ms();
    p->fd = tcp_connect(p, host, port, err, errlen);
    if (p->fd < 0)
        return 2;
    double t_conn = now_ms();
    json_object_set_new(timings, "connect", json_real(round3(t_conn - p->t0)));
    if (!p->u.tls)
        return 0;
    if (tls_handshake(p, verified, err, errlen) != 0)
        return 1;
    json_object_set_new(timings, "tls", json_real(round3(now_ms() - t_conn)));
    const json_t *alpn = json_object_get(p->report, "alpn");
    if (!json_is_string(alpn) || strcmp(json_string_value(alpn), "h2") != 0) {
        snprintf(err, errlen, "the server does not speak HTTP/2 over TLS (ALPN: %s)",
                 json_is_string(alpn) ? json_string_value(alpn) : "none");
        return 1;
    }
    return 0;
}

/* The GET on the connected probe and its verdict, in this order: the
 * exchange's own error, no response, a reset, then an unverified
 * certificate; the timings "first_byte" and "total".  0, or 1 with err
 * set. */
static int probe_get(struct probe *p, json_t *timings, bool verified, char *err, size_t errlen)
{
    int rc = 0;
    p->settings = json_object();
    p->altsvc = json_array();
    p->origin = json_array();
    p->headers = json_array();
    json_object_set_new(p->report, "settings", p->settings);
    json_object_set_new(p->report, "altsvc", p->altsvc);
    json_object_set_new(p->report, "origin", p->origin);
    if (h2_exchange(p, err, errlen) != 0)
        rc = 1;
    json_object_set_new(p->report, "connection_window_update", json_integer(p->conn_window_update));
    if (p->status != 0) {
        json_object_set_new(p->report, "response",
                            json_pack("{s:i,s:O,s:I}", "status", p->status, "headers", p->headers,
                                      "body_bytes", (json_int_t)p->body_bytes));
    } else if (rc == 0) {
        snprintf(err, errlen, "the stream ended without a response");
        rc = 1;
    }
    json_decref(p->headers);
    if (json_object_get(p->report, "reset") != NULL && rc == 0) {
        snprintf(err, errlen, "the stream was reset: %s",
                 json_string_value(json_object_get(p->report, "reset")));
        rc = 1;
    }
    if (p->t_first > 0)
        json_object_set_new(timings, "first_byte", json_real(round3(p->t_first - p->t0)));
    json_object_set_new(timings, "total", json_real(round3((p->t_end > 0 ? p->t_end : now_ms()) - p->t0)));
    if (p->ng != NULL) {
        nghttp2_session_terminate_session(p->ng, NGHTTP2_NO_ERROR);
        if (!p->io_error)
            nghttp2_session_send(p->ng);
    }
    if (rc == 0 && !verified && !p->o->insecure) {
        snprintf(err, errlen, "certificate verification failed: %s (use --insecure or --cacert)",
                 json_string_value(json_object_get(json_object_get(json_object_get(p->report, "tls"),
                                                                   "certificate"),
                                                   "verify")));
        rc = 1;
    }
    return rc;
}

static void probe_close(struct probe *p)
{
    nghttp2_session_del(p->ng);
    if (p->ssl != NULL) {
        SSL_shutdown(p->ssl);
        SSL_free(p->ssl);
    }
    SSL_CTX_free(p->ctx);
    if (p->fd >= 0)
        close(p->fd);
    json_decref(p->report);
}

/* ---- entry point ------------------------------------------------------------ */

int ctl_probe(const struct ctl_probe_opts *o)
{
    struct probe p = {.o = o, .fd = -1};
    char err[512] = "";
    int rc = 0;
    const char *uerr = parse_url(o->url, &p.u);
    if (uerr != NULL) {
        fprintf(stderr, "h2gatectl: probe: %s: %s\n", o->url, uerr);
        return 2;
    }
    if (!p.u.tls && !o->h2c) {
        fprintf(stderr, "h2gatectl: probe: %s: cleartext HTTP/2 needs --h2c (prior knowledge)\n", o->url);
        return 2;
    }
    if (p.u.tls && o->h2c) {
        fprintf(stderr, "h2gatectl: probe: --h2c is for http:// URLs\n");
        return 2;
    }
    char chost[256];
    unsigned cport = p.u.port;
    if (o->connect != NULL) {
        bool ip;
        const char *e = parse_hostport(o->connect, strlen(o->connect), chost, sizeof(chost), &cport, &ip);
        if (e != NULL) {
            fprintf(stderr, "h2gatectl: probe: --connect-to %s: %s\n", o->connect, e);
            return 2;
        }
    } else {
        snprintf(chost, sizeof(chost), "%s", p.u.host);
    }

    p.report = json_object();
    json_object_set_new(p.report, "url", json_string(o->url));
    json_object_set_new(p.report, "insecure", json_boolean(o->insecure));
    json_t *timings = json_object();
    bool verified = true;
    rc = probe_connect(&p, chost, cport, timings, &verified, err, sizeof(err));
    if (rc == 0)
        rc = probe_get(&p, timings, verified, err, sizeof(err));
    json_object_set_new(p.report, "timings_ms", timings);
    json_object_set_new(p.report, "error", err[0] ? json_string(err) : json_null());
    if (o->json) {
        char *d = json_dumps(p.report, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        if (d != NULL)
            puts(d);
        free(d);
    } else {
        print_text(p.report);
    }
    if (err[0])
        fprintf(stderr, "h2gatectl: probe: %s\n", err);
    fflush(stdout);
    probe_close(&p);
    return rc;
}
