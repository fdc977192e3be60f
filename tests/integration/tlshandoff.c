/* HTTP/2-over-TLS test client (OpenSSL 3 + nghttp2) for the TLS record
 * hand-off test (244): python's ssl can neither send a KeyUpdate nor pick
 * the TLS 1.3 suite, this client can.
 *
 *   tlshandoff --port P --status-port M [--ciphersuites S] [--tls12]
 *              [--pad N] [--max SECONDS] STEP...
 *
 * --pad N pads our TLS 1.3 records' plaintext (zeros after the content
 * type, RFC 8446 5.4) to a multiple of N bytes.
 *
 * The steps run in order, on the current connection (the last `open`, or
 * the one `use:N` picked):
 *   open           a new TLS connection (ALPN h2, SNI localhost), made
 *                  current: version, suite, ALPN
 *   use:N          the N-th connection (from 0) becomes current
 *   get:N,N,...    GETs of /size/N at once: [status, length, sha256] each
 *   get-ku:N,...   the same, with a KeyUpdate (requested) sent once 64 KiB
 *                  of the bodies came, while the server is sending
 *   post:N         POST /sha256 of N bytes of the backends' pattern: the
 *                  status and the backend's answer ("sha256=HEX bytes=N")
 *   asleep         reads (and acknowledges) until /status lists the
 *                  connection "asleep": true
 *   status         the connection's /status entry: asleep, tls_layer,
 *                  tls_version
 *   keyupdate      SSL_key_update(SSL_KEY_UPDATE_REQUESTED), sent at once
 *   keyupdate:not-requested   the same, SSL_KEY_UPDATE_NOT_REQUESTED
 *   corrupt        a record with a valid header (application data, TLS
 *                  1.2 version, 32 bytes) and garbage in it, written on
 *                  the socket under OpenSSL; then reads until the end
 *   close-notify   SSL_shutdown (our close_notify), then reads until the end
 *   close          closes the socket (no close_notify)
 *   gauges:O,A     polls /metrics until h2gate_connections_open is O and
 *                  h2gate_connections_asleep is A: the last values seen
 * Every wait gives up after --max seconds (default 30) and says so in its
 * step ("timeout": true).  Prints one JSON line: {"steps": [...],
 * "conns": [...]}, where each connection has the KeyUpdates it sent and
 * received (msg callback: handshake type 24), the alerts it received and
 * how it ended ("end": null, "close_notify", "eof", "reset", or the
 * OpenSSL error).  Exits 0 once the JSON is out (the test judges it), 2
 * on a usage or setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 16
#define MAX_STREAMS 64

static const char PATTERN[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-\n"; /* 64 */

struct stream {
    int32_t id;
    int status;
    size_t len;
    EVP_MD_CTX *sha;
    char text[256]; /* the first bytes of the body (the /sha256 answer) */
    bool ended;
    uint32_t rst;
    size_t upload_left, upload_off; /* a POST's body still to give nghttp2 */
};

struct conn {
    int fd;
    SSL *ssl;
    nghttp2_session *h2;
    char local[64]; /* "127.0.0.1:PORT", as /status names the peer */
    unsigned char *out;
    size_t out_len, out_off, out_cap; /* nghttp2's output not yet taken by SSL_write */
    struct stream streams[MAX_STREAMS];
    int n_streams;
    int ku_sent, ku_recv;
    int ku_recv_requested; /* of ku_recv, those asking for ours back */
    json_t *alerts;  /* descriptions of the alerts received */
    const char *end; /* how it ended, NULL while open */
    char end_buf[160];
};

static struct {
    int port, status_port, max_s;
    int pad; /* TLS 1.3 record padding to this block (0: none) */
    const char *ciphersuites;
    const char *ciphers; /* TLS 1.2 cipher list */
    bool tls12;
    SSL_CTX *ctx;
    struct conn *conns[MAX_CONNS];
    int n_conns;
    struct conn *cur;
} g = { .max_s = 30 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "tlshandoff: %s\n", what);
    exit(2);
}

/* --- the TLS and HTTP/2 side --------------------------------------- */

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    struct conn *c = SSL_get_app_data(ssl);
    const unsigned char *p = buf;
    (void)version;
    (void)arg;
    if (c == NULL || len < 1)
        return;
    if (content_type == SSL3_RT_HANDSHAKE && p[0] == SSL3_MT_KEY_UPDATE) {
        if (write_p)
            c->ku_sent++;
        else
            c->ku_recv++;
        if (!write_p && len >= 5 && p[4] == SSL_KEY_UPDATE_REQUESTED)
            c->ku_recv_requested++;
    } else if (content_type == SSL3_RT_ALERT && !write_p && len >= 2) {
        json_array_append_new(c->alerts, json_string(SSL_alert_desc_string_long(p[1])));
    }
}

static void set_end(struct conn *c, const char *how)
{
    if (c->end != NULL)
        return;
    snprintf(c->end_buf, sizeof(c->end_buf), "%s", how);
    c->end = c->end_buf;
}

static struct stream *stream_of(struct conn *c, int32_t id)
{
    for (int i = 0; i < c->n_streams; i++)
        if (c->streams[i].id == id)
            return &c->streams[i];
    return NULL;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    struct stream *st = stream_of(ud, f->hd.stream_id);
    (void)s;
    (void)flags;
    if (st != NULL && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        st->status = atoi((const char *)value);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
    struct stream *st = stream_of(ud, id);
    (void)s;
    (void)flags;
    if (st == NULL)
        return 0;
    if (st->len < sizeof(st->text) - 1) {
        size_t k = sizeof(st->text) - 1 - st->len < len ? sizeof(st->text) - 1 - st->len : len;
        memcpy(st->text + st->len, data, k);
    }
    EVP_DigestUpdate(st->sha, data, len);
    st->len += len;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    struct stream *st = stream_of(ud, id);
    (void)s;
    if (st != NULL) {
        st->ended = true;
        st->rst = code;
    }
    return 0;
}

static ssize_t upload_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                                 nghttp2_data_source *src, void *ud)
{
    struct stream *st = src->ptr;
    (void)s;
    (void)id;
    (void)ud;
    size_t n = st->upload_left < length ? st->upload_left : length;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)PATTERN[(st->upload_off + i) % 64];
    st->upload_off += n;
    st->upload_left -= n;
    if (st->upload_left == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void h2_start(struct conn *c)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    if (nghttp2_session_client_new(&c->h2, cbs, c) != 0)
        die("nghttp2_session_client_new");
    nghttp2_session_callbacks_del(cbs);
    /* Large windows: the bodies, not the window updates, are under test. */
    nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
                                    { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 } };
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20);
}

static void ssl_end(struct conn *c, int r)
{
    int e = SSL_get_error(c->ssl, r);
    char buf[160];
    if (e == SSL_ERROR_ZERO_RETURN) {
        set_end(c, "close_notify");
    } else if (e == SSL_ERROR_SYSCALL) {
        set_end(c, errno == ECONNRESET ? "reset" : "eof");
    } else {
        unsigned long err = ERR_get_error();
        /* OpenSSL 3 calls an EOF without close_notify an error. */
        if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            set_end(c, "eof");
        } else {
            snprintf(buf, sizeof(buf), "ssl: %s", ERR_reason_error_string(err) ? ERR_reason_error_string(err) : "?");
            set_end(c, buf);
        }
    }
    ERR_clear_error();
}

/* Reads what the socket has; false once the connection ended. */
static bool read_some(struct conn *c)
{
    unsigned char buf[16384];
    while (c->end == NULL) {
        int r = SSL_read(c->ssl, buf, sizeof(buf));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return true;
            ssl_end(c, r);
            return false;
        }
        if (nghttp2_session_mem_recv(c->h2, buf, (size_t)r) < 0) {
            set_end(c, "h2 error");
            return false;
        }
    }
    return false;
}

static void fill_out(struct conn *c)
{
    if (c->out_off < c->out_len)
        return;
    c->out_off = c->out_len = 0;
    while (c->out_len < 65536) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->h2, &p);
        if (n <= 0)
            break;
        if (c->out_len + (size_t)n > c->out_cap) {
            c->out_cap = (c->out_len + (size_t)n) * 2;
            c->out = realloc(c->out, c->out_cap);
            if (c->out == NULL)
                die("out of memory");
        }
        memcpy(c->out + c->out_len, p, (size_t)n);
        c->out_len += (size_t)n;
    }
}

static void write_some(struct conn *c)
{
    for (fill_out(c); c->end == NULL && c->out_off < c->out_len; fill_out(c)) {
        int r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                ssl_end(c, r);
            return;
        }
        c->out_off += (size_t)r;
    }
}

/* One round: waits up to ms for the socket, reads and writes what it can. */
static void pump(struct conn *c, int ms)
{
    if (c->end != NULL) {
        return;
    }
    fill_out(c);
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    if (c->out_off < c->out_len)
        p.events |= POLLOUT;
    if (SSL_pending(c->ssl) == 0 && poll(&p, 1, ms) < 0 && errno != EINTR)
        die("poll");
    if (read_some(c))
        write_some(c);
}

static int tcp_connect(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static json_t *conn_open(void)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL || g.n_conns == MAX_CONNS)
        die("too many connections");
    c->fd = tcp_connect(g.port);
    if (c->fd < 0)
        die("connect to the TLS port");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    getsockname(c->fd, (struct sockaddr *)&a, &al);
    snprintf(c->local, sizeof(c->local), "127.0.0.1:%u", ntohs(a.sin_port));
    c->alerts = json_array();
    c->ssl = SSL_new(g.ctx);
    SSL_set_app_data(c->ssl, c);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set_msg_callback(c->ssl, msg_cb);
    if (SSL_connect(c->ssl) != 1)
        die("TLS handshake");
    /* Non-blocking from here: reads and writes interleave in pump. */
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
        die("O_NONBLOCK");
    h2_start(c);
    g.conns[g.n_conns++] = c;
    g.cur = c;
    const unsigned char *alpn;
    unsigned alpn_len;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    return json_pack("{s:i, s:s, s:s, s:s%, s:s}", "conn", g.n_conns - 1, "version", SSL_get_version(c->ssl),
                     "cipher", SSL_CIPHER_standard_name(SSL_get_current_cipher(c->ssl)), "alpn", (const char *)alpn,
                     (size_t)alpn_len, "local", c->local);
}

/* --- /status and /metrics (blocking, on the metrics listener) ------- */

/* The body of GET PATH (HTTP/1.0: the server closes), malloc'ed; NULL
 * if the listener did not answer. */
static char *http_get(const char *path)
{
    int fd = tcp_connect(g.status_port);
    if (fd < 0)
        return NULL;
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    if (buf == NULL || write(fd, req, (size_t)n) != n) {
        free(buf);
        close(fd);
        return NULL;
    }
    for (;;) {
        if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
            die("out of memory");
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (body == NULL) {
        free(buf);
        return NULL;
    }
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return buf;
}

/* The /status entry (a new reference) of the session whose peer is c. */
static json_t *status_entry(const struct conn *c)
{
    char *body = http_get("/status");
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
    json_t *found = NULL, *s;
    size_t i;
    free(body);
    json_array_foreach(json_object_get(doc, "session_list"), i, s)
    {
        const char *peer = json_string_value(json_object_get(s, "peer"));
        if (peer != NULL && strcmp(peer, c->local) == 0)
            found = json_incref(s);
    }
    json_decref(doc);
    return found;
}

static long metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return atol(p + n + 1);
    return -1;
}

/* --- the steps ------------------------------------------------------ */

static struct stream *stream_new(struct conn *c)
{
    if (c->n_streams == MAX_STREAMS)
        die("too many streams on one connection");
    struct stream *st = &c->streams[c->n_streams++];
    memset(st, 0, sizeof(*st));
    st->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(st->sha, EVP_sha256(), NULL);
    return st;
}

static bool streams_done(struct conn *c, int from)
{
    for (int i = from; i < c->n_streams; i++)
        if (!c->streams[i].ended)
            return false;
    return true;
}

/* Pumps until the streams from `from` on ended (or the connection did). */
static bool await_streams(struct conn *c, int from)
{
    double end = now_s() + g.max_s;
    while (!streams_done(c, from) && c->end == NULL && now_s() < end)
        pump(c, 100);
    return streams_done(c, from);
}

static json_t *stream_result(struct stream *st)
{
    unsigned char md[32];
    char hex[65];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(st->sha, md, &mdlen);
    EVP_MD_CTX_free(st->sha);
    st->sha = NULL;
    for (unsigned i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    return json_pack("[i, I, s]", st->status, (json_int_t)st->len, hex);
}

static void submit(struct conn *c, const char *method, const char *path, struct stream *st, nghttp2_data_provider *body)
{
    nghttp2_nv nv[] = {
        { (uint8_t *)":method", (uint8_t *)method, 7, strlen(method), NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":authority", (uint8_t *)"localhost", 10, 9, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), NGHTTP2_NV_FLAG_NONE },
    };
    st->id = nghttp2_submit_request(c->h2, NULL, nv, 4, body, c);
    if (st->id < 0)
        die("nghttp2_submit_request");
}

static size_t bytes_in(const struct conn *c, int from)
{
    size_t n = 0;
    for (int i = from; i < c->n_streams; i++)
        n += c->streams[i].len;
    return n;
}

static json_t *step_keyupdate(struct conn *c, bool requested);

/* With ku_at > 0: a KeyUpdate (requested) once ku_at body bytes came,
 * while the server is still sending. */
static json_t *step_get(struct conn *c, const char *sizes, size_t ku_at)
{
    int from = c->n_streams;
    char path[64];
    json_t *ku = json_null();
    for (const char *p = sizes; p != NULL && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        snprintf(path, sizeof(path), "/size/%ld", atol(p));
        submit(c, "GET", path, stream_new(c), NULL);
    }
    if (ku_at > 0) {
        double end = now_s() + g.max_s;
        while (bytes_in(c, from) < ku_at && !streams_done(c, from) && c->end == NULL && now_s() < end)
            pump(c, 100);
        /* SSL_key_update refuses while a write waits to be retried. */
        while (c->out_off < c->out_len && c->end == NULL && now_s() < end)
            pump(c, 100);
        size_t at = bytes_in(c, from);
        json_t *k = step_keyupdate(c, true);
        ku = json_pack("{s:I, s:O}", "at", (json_int_t)at, "sent", json_object_get(k, "sent"));
        json_decref(k);
    }
    bool done = await_streams(c, from);
    json_t *res = json_array();
    for (int i = from; i < c->n_streams; i++)
        json_array_append_new(res, stream_result(&c->streams[i]));
    return json_pack("{s:o, s:b, s:o}", "res", res, "timeout", !done && c->end == NULL, "keyupdate", ku);
}

static json_t *step_post(struct conn *c, const char *size)
{
    int from = c->n_streams;
    struct stream *st = stream_new(c);
    st->upload_left = (size_t)atol(size);
    nghttp2_data_provider body = { .source.ptr = st, .read_callback = upload_read };
    submit(c, "POST", "/sha256", st, &body);
    bool done = await_streams(c, from);
    st->text[strcspn(st->text, "\n")] = '\0';
    json_t *r = stream_result(st);
    json_t *out = json_pack("{s:i, s:s, s:b}", "status", st->status, "body", st->text, "timeout",
                            !done && c->end == NULL);
    json_decref(r);
    return out;
}

static json_t *step_asleep(struct conn *c)
{
    double end = now_s() + g.max_s, last = 0;
    while (c->end == NULL && now_s() < end) {
        pump(c, 100);
        if (now_s() - last < 0.3)
            continue;
        last = now_s();
        json_t *s = status_entry(c);
        bool asleep = json_is_true(json_object_get(s, "asleep"));
        json_decref(s);
        if (asleep)
            return json_pack("{s:b}", "asleep", 1);
    }
    return json_pack("{s:b, s:b}", "asleep", 0, "timeout", c->end == NULL);
}

static json_t *step_status(struct conn *c)
{
    json_t *s = status_entry(c);
    json_t *out = json_pack("{s:O?, s:O?, s:O?}", "asleep", json_object_get(s, "asleep"), "tls_layer",
                            json_object_get(s, "tls_layer"), "tls_version", json_object_get(s, "tls_version"));
    json_decref(s);
    return out;
}

static json_t *step_keyupdate(struct conn *c, bool requested)
{
    int before = c->ku_sent;
    if (SSL_key_update(c->ssl, requested ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) != 1)
        return json_pack("{s:b}", "sent", 0);
    /* Sent now, not with the next write: it may be what wakes the connection. */
    double end = now_s() + g.max_s;
    while (c->ku_sent == before && now_s() < end) {
        int r = SSL_do_handshake(c->ssl);
        int e = SSL_get_error(c->ssl, r);
        if (r == 1 || (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE))
            break;
        pump(c, 100);
    }
    return json_pack("{s:b}", "sent", c->ku_sent > before);
}

/* Pumps until the connection ended: what ended it. */
static json_t *await_end(struct conn *c)
{
    double end = now_s() + g.max_s;
    while (c->end == NULL && now_s() < end)
        pump(c, 100);
    return json_pack("{s:s?, s:b}", "end", c->end, "timeout", c->end == NULL);
}

static json_t *step_corrupt(struct conn *c)
{
    unsigned char rec[5 + 32] = { 0x17, 0x03, 0x03, 0x00, 32 };
    for (size_t i = 5; i < sizeof(rec); i++)
        rec[i] = (unsigned char)(i * 37 + 11);
    /* Under OpenSSL, between two of its records: nothing of ours pending. */
    for (double end = now_s() + g.max_s; c->out_off < c->out_len && now_s() < end;)
        pump(c, 100);
    if (send(c->fd, rec, sizeof(rec), MSG_NOSIGNAL) != (ssize_t)sizeof(rec))
        return json_pack("{s:b}", "written", 0);
    return await_end(c);
}

static json_t *step_close_notify(struct conn *c)
{
    int r = SSL_shutdown(c->ssl);
    if (r < 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return json_pack("{s:b}", "written", 0);
    }
    return await_end(c);
}

static json_t *step_gauges(const char *want)
{
    long o = atol(want), a = strchr(want, ',') ? atol(strchr(want, ',') + 1) : -1;
    long go = -1, ga = -1;
    for (double end = now_s() + g.max_s; now_s() < end;) {
        for (int i = 0; i < g.n_conns; i++)
            pump(g.conns[i], 0);
        char *m = http_get("/metrics");
        go = m ? metric(m, "h2gate_connections_open") : -1;
        ga = m ? metric(m, "h2gate_connections_asleep") : -1;
        free(m);
        if (go == o && ga == a)
            break;
        usleep(200 * 1000);
    }
    return json_pack("{s:I, s:I}", "open", (json_int_t)go, "asleep", (json_int_t)ga);
}

static json_t *run_step(const char *step)
{
    const char *arg = strchr(step, ':') ? strchr(step, ':') + 1 : "";
    if (strcmp(step, "open") == 0)
        return conn_open();
    if (strncmp(step, "use:", 4) == 0) {
        int i = atoi(arg);
        if (i < 0 || i >= g.n_conns)
            die("use: no such connection");
        g.cur = g.conns[i];
        return json_object();
    }
    if (strncmp(step, "gauges:", 7) == 0)
        return step_gauges(arg);
    if (g.cur == NULL)
        die("a step before open");
    if (strncmp(step, "get:", 4) == 0)
        return step_get(g.cur, arg, 0);
    if (strncmp(step, "get-ku:", 7) == 0)
        return step_get(g.cur, arg, 65536);
    if (strncmp(step, "post:", 5) == 0)
        return step_post(g.cur, arg);
    if (strcmp(step, "asleep") == 0)
        return step_asleep(g.cur);
    if (strcmp(step, "status") == 0)
        return step_status(g.cur);
    if (strcmp(step, "keyupdate") == 0 || strcmp(step, "keyupdate:not-requested") == 0)
        return step_keyupdate(g.cur, strcmp(step, "keyupdate") == 0);
    if (strcmp(step, "corrupt") == 0)
        return step_corrupt(g.cur);
    if (strcmp(step, "close-notify") == 0)
        return step_close_notify(g.cur);
    if (strcmp(step, "close") == 0) {
        shutdown(g.cur->fd, SHUT_RDWR);
        set_end(g.cur, "closed by us");
        return json_object();
    }
    die("unknown step");
    return NULL;
}

static void make_ctx(void)
{
    g.ctx = SSL_CTX_new(TLS_client_method());
    if (g.ctx == NULL)
        die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
    if (g.tls12)
        SSL_CTX_set_max_proto_version(g.ctx, TLS1_2_VERSION);
    if (g.ciphersuites != NULL && SSL_CTX_set_ciphersuites(g.ctx, g.ciphersuites) != 1)
        die("--ciphersuites");
    if (g.ciphers != NULL && SSL_CTX_set_cipher_list(g.ctx, g.ciphers) != 1)
        die("--ciphers");
    SSL_CTX_set_mode(g.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL);
    if (g.pad > 0 && SSL_CTX_set_block_padding(g.ctx, (size_t)g.pad) != 1)
        die("--pad");
    static const unsigned char alpn[] = "\x02h2";
    SSL_CTX_set_alpn_protos(g.ctx, alpn, sizeof(alpn) - 1);
}

static json_t *conns_json(void)
{
    json_t *a = json_array();
    for (int i = 0; i < g.n_conns; i++) {
        struct conn *c = g.conns[i];
        json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:i, s:o, s:s?}", "local", c->local, "ku_sent", c->ku_sent,
                                           "ku_recv", c->ku_recv, "ku_recv_requested", c->ku_recv_requested,
                                           "alerts", c->alerts, "end", c->end));
    }
    return a;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--tls12") == 0)
            g.tls12 = true;
        else if (i + 1 >= argc)
            die("usage: tlshandoff --port P --status-port M [--ciphersuites S] [--ciphers L] [--tls12] [--pad N] [--max S] STEP...");
        else if (strcmp(argv[i], "--port") == 0)
            g.port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--status-port") == 0)
            g.status_port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ciphersuites") == 0)
            g.ciphersuites = argv[++i];
        else if (strcmp(argv[i], "--ciphers") == 0)
            g.ciphers = argv[++i];
        else if (strcmp(argv[i], "--pad") == 0)
            g.pad = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max") == 0)
            g.max_s = atoi(argv[++i]);
        else
            die("unknown option");
    }
    if (g.port <= 0 || g.status_port <= 0)
        die("--port and --status-port are needed");
    make_ctx();
    json_t *steps = json_array();
    for (; i < argc; i++) {
        json_t *r = run_step(argv[i]);
        json_object_set_new(r, "step", json_string(argv[i]));
        json_array_append_new(steps, r);
        fprintf(stderr, "tlshandoff: %s done\n", argv[i]);
    }
    json_t *out = json_pack("{s:o, s:o}", "steps", steps, "conns", conns_json());
    char *s = json_dumps(out, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(out);
    return 0;
}
