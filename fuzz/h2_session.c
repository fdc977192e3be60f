/*
 * h2_session.c: one whole client connection through the daemon: the
 * client's bytes go through a worker's accept, protocol sniffing,
 * nghttp2 and our callbacks (or the HTTP/1.1 session), streams,
 * exchanges and tunnels, to an upstream in this process that answers
 * from the same input.  The models are h2o's fuzz/driver.cc (a client
 * and an upstream around the server's real event loop) and nghttp2's
 * fuzz/ (arbitrary bytes into a server session).
 *
 * Set up once (first input): a configuration from memory (CONFIG below)
 * with one cleartext listener for h2 and HTTP/1.1, routes to the
 * upstream (plain, round-robin over a literal, a name and a port that
 * refuses connections, websocket), tunnel routes and connect.allow; the worker of src/process/worker.c on
 * the listening socket, whose thread is never started: its event_base
 * runs here, in turns of event_base_loop(EVLOOP_NONBLOCK).  Timeouts are
 * an hour, so no timer of the daemon fires during an input (inputs take
 * milliseconds; libFuzzer's -timeout is far shorter): every step is one
 * the input caused, and an input replays the same way.  The worker's
 * resolver asks only this harness (dns_serve), so no query leaves the
 * machine.
 *
 * Input:  CLIENT [ "--UPSTREAM--" ANSWER ]
 *  CLIENT  what the client writes, after the HTTP/2 preface unless it
 *          starts with an uppercase ASCII letter (an HTTP/1.1 request, or
 *          "PRI": a preface of its own, maybe a broken one).  "UPORT" in
 *          it becomes the upstream's port in five digits (zero padded, as
 *          an authority may have it): the same length, so an HPACK string
 *          holding it keeps its length right (a CONNECT needs the port,
 *          which is only known at run time).
 *  ANSWER  what the upstream writes for each request it gets; without
 *          the separator, DEFAULT_ANSWER.  "--ACCEPT--" in it becomes the
 *          Sec-WebSocket-Accept of the request's Sec-WebSocket-Key.
 * In both, "--CUT--" splits the bytes into separate writes, with the
 * daemon run until quiet between two, and "--EOF--" half-closes the
 * writer's side there (shutdown(SHUT_WR)); what follows it is not sent.
 * Markers are spelled out, not length-prefixed, so that libFuzzer's
 * mutations (and its dictionary, fuzz/dict/h2_session.dict) move them
 * around without breaking the rest of the input.
 *
 * Per input: connect, write the client's pieces (the daemon settles
 * after each), read and discard whatever comes back, then close the
 * client (RST), then every upstream connection (RST), and check that
 * the worker let go of everything: no connection, stream, tunnel,
 * session, idle pooled upstream connection or orphan tunnel left, and
 * no snapshot user.  At every quiet point the worker is asked what
 * h2gatectl asks (introspect.c).  All per-input memory is then freed, as libFuzzer's
 * leak check after each input wants; what stays across inputs is
 * bounded: the worker itself and one pool struct per upstream id.
 *
 * The upstream (up_*): accepts every connection, parses what it reads
 * as HTTP/1.1 requests (llhttp) and answers each complete one; when
 * everything is quiet after the client's last write (settle), it also
 * answers, once, a connection that got nothing yet, an incomplete request
 * (an early answer), or raw bytes (a tunnel, a websocket after its 101,
 * bytes llhttp refused).  Each ANSWER piece is written on its own loop
 * turn.
 *
 * FUZZ_TRACE=1 in the environment prints every byte moved (stderr), to
 * see what an input does.
 *
 * Replayed by tools/fuzz, which hands libFuzzer fuzz/regress/h2_session
 * with the seeds (tools/check runs it): unlike the core's harnesses this
 * one links libevent and the daemon's glue, which the unit suite
 * (tests/unit/check_core) does not.
 */
/* fuzz.mk compiles this with the daemon's flags: _GNU_SOURCE (memmem, accept4). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config_load.h"
#include "edge/conn.h"
#include "fuzz.h"
#include "process/introspect.h"
#include "runtime/log.h"
#include "upstream/upstream_pool.h"
#include "process/worker.h"

#define M_UPSTREAM "--UPSTREAM--"
#define M_CUT "--CUT--"
#define M_EOF "--EOF--"
#define M_ACCEPT "--ACCEPT--"
#define M_PORT "UPORT"
#define DEFAULT_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* Turns without any byte moved before the daemon counts as quiet: one
 * turn runs every callback that is ready, so a second and third catch
 * what the kernel delivered meanwhile (loopback is synchronous, but an
 * accept or an ACK may take a softirq). */
#define QUIET_TURNS 3
/* Bounds, so that no input loops forever whatever the daemon does (a
 * daemon that talks that long is caught by libFuzzer's -timeout). */
#define MAX_TURNS 20000
#define MAX_UP 256     /* upstream connections per input; more are reset at accept */
#define MAX_ANSWERS 16 /* answers per upstream connection */

/*
 * The configuration: %1$u the listener's port, %2$u the upstream's, %3$u
 * a port that refuses connections (bound, never listening: the upstream
 * that is down, for the connect errors and round-robin's failover).
 * Limits are lower than the defaults where an input of a few KiB
 * should be able to cross them (invalid frames, rejected streams,
 * resets, windows, the request body); timeouts are an hour (see above).
 * `localhost` and *.example.org are resolved by dns_serve (127.0.0.1;
 * names under .invalid do not exist).  The control socket is only a
 * path here: the process opens it, and there is no process.
 */
static const char CONFIG[] = "workers: 1\n"
                             "listen:\n"
                             "  - address: \"127.0.0.1:%1$u\"\n"
                             "    protocols: [h2, http/1.1]\n"
                             "origins:\n"
                             "  - hosts: [\"example.com\", \"*.example.net\"]\n"
                             "    altsvc: 'h2=\":443\"; ma=60'\n"
                             "    routes:\n"
                             "      - path: /\n"
                             "        upstream: \"http://127.0.0.1:%2$u\"\n"
                             "  - hosts: [\"*\"]\n"
                             "    routes:\n"
                             "      - path: /\n"
                             "        upstream: \"http://127.0.0.1:%2$u\"\n"
                             "      - path: /rr\n"
                             "        upstream: [\"http://127.0.0.1:%2$u\", \"http://localhost:%2$u\", "
                             "\"http://127.0.0.1:%3$u\"]\n"
                             "      - path: /down\n"
                             "        upstream: \"http://127.0.0.1:%3$u\"\n"
                             "      - path: /ws\n"
                             "        upstream: \"http://127.0.0.1:%2$u\"\n"
                             "        websocket: true\n"
                             "      - path: /tunnel\n"
                             "        tunnel: \"tcp://127.0.0.1:%2$u\"\n"
                             "        protocols: [websocket, x-raw]\n"
                             "      - path: /tunnel-down\n"
                             "        tunnel: \"tcp://127.0.0.1:%3$u\"\n"
                             "connect:\n"
                             "  allow: [\"127.0.0.1:%2$u\", \"localhost:%2$u\", \"*.example.org:%2$u\"]\n"
                             "  deny: [\"deny.example.org:*\"]\n"
                             "limits:\n"
                             "  initial_window_size: 16KiB\n"
                             "  connection_window_size: 65535\n"
                             "  max_concurrent_streams: 16\n"
                             "  max_header_list_size: 16KiB\n"
                             "  max_request_body: 64KiB\n"
                             "  max_session_invalid_frames: 16\n"
                             "  max_session_rejected_streams: 16\n"
                             "  stream_reset_burst: 16\n"
                             "timeouts:\n"
                             "  handshake: 1h\n"
                             "  idle: 1h\n"
                             "  stream_idle: 1h\n"
                             "  upstream_connect: 1h\n"
                             "  upstream_response: 1h\n"
                             "  tunnel_idle: 1h\n"
                             "log:\n"
                             "  level: error\n"
                             "  access: \"off\"\n"
                             "control:\n"
                             "  socket: /tmp/h2gate-fuzz-h2_session.sock\n";

/* Bytes of one writer, cut into the pieces it writes one at a time. */
struct seg {
    const uint8_t *p;
    size_t n;
};
struct script {
    struct seg *seg; /* owned; the bytes are the input's */
    size_t n;
    bool eof;        /* "--EOF--" after the last piece */
};

/* A piece of an answer queued on an upstream connection. */
struct piece {
    struct piece *next;
    size_t len, off;
    bool eof; /* half-close once written */
    uint8_t data[];
};

/* One connection the daemon made to the upstream. */
struct up_conn {
    int fd;
    llhttp_t ll;
    bool raw;              /* llhttp refused the bytes or they switched protocols */
    bool in_request;       /* a request began and is not complete */
    bool req_answered;     /* ... and was answered already (quiet_answers) */
    size_t raw_unanswered; /* raw bytes since the last answer */
    unsigned answers;
    bool peer_eof;         /* the daemon closed or reset its side */
    bool shut;             /* we half-closed ("--EOF--") */
    char hname[24];        /* the header name being parsed (prefix) */
    size_t hname_len;
    char key[64];          /* Sec-WebSocket-Key of the current request */
    size_t key_len;
    struct piece *q, **q_tail;
};

static struct {
    bool ready;
    struct h2g_worker *w;
    struct sockaddr_in listen_addr;
    char port5[6];  /* the upstream's port for M_PORT */
    int up_lfd;   /* the upstream's listening socket */
    int down_fd;  /* bound to the port that refuses connections */
    int dns_fd;   /* the resolver's UDP socket */
    int client;   /* this input's client socket, -1 once closed */
    bool client_gone;
    struct up_conn *up[MAX_UP];
    size_t n_up;
    llhttp_settings_t ll;
    struct script answer;
    unsigned long progress; /* bytes or connections moved by the harness */
    bool trace;             /* FUZZ_TRACE */
    uint8_t buf[64 * 1024];
} H;

/* FUZZ_TRACE: who moved what, the bytes escaped (the first 300). */
static void trace(const char *who, const void *p, size_t n)
{
    if (!H.trace)
        return;
    fprintf(stderr, "h2_session: %s %zu: ", who, n);
    for (size_t i = 0; i < n && i < 300; i++) {
        unsigned char c = ((const unsigned char *)p)[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "%s\n", n > 300 ? "..." : "");
}

/* A socket bound to 127.0.0.1 on a port the kernel picks, listening if
 * asked, non-blocking; its port in *port. */
static int bound_socket(int type, bool listening, uint16_t *port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    FUZZ_CHECK(!listening || listen(fd, 1024) == 0);
    FUZZ_CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* --- the upstream --- */

static int on_message_begin(llhttp_t *p)
{
    struct up_conn *u = p->data;
    u->in_request = true;
    u->req_answered = false;
    u->key_len = 0;
    u->hname_len = 0;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct up_conn *u = p->data;
    size_t n = len < sizeof(u->hname) - u->hname_len ? len : sizeof(u->hname) - u->hname_len;
    memcpy(u->hname + u->hname_len, at, n);
    u->hname_len += n;
    return 0;
}

static bool hname_is(const struct up_conn *u, const char *name)
{
    return u->hname_len == strlen(name) && strncasecmp(u->hname, name, u->hname_len) == 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct up_conn *u = p->data;
    if (!hname_is(u, "sec-websocket-key"))
        return 0;
    size_t n = len < sizeof(u->key) - u->key_len ? len : sizeof(u->key) - u->key_len;
    memcpy(u->key + u->key_len, at, n);
    u->key_len += n;
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct up_conn *u = p->data;
    u->hname_len = 0;
    return 0;
}

/* RFC 6455 4.2.2: base64(SHA-1(key + GUID)); the daemon checks it. */
static void ws_accept(const char *key, size_t len, char out[32])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[SHA_DIGEST_LENGTH], buf[64 + sizeof(guid)];
    memcpy(buf, key, len); /* len <= sizeof(up_conn.key) == 64 */
    memcpy(buf + len, guid, sizeof(guid) - 1);
    SHA1(buf, len + sizeof(guid) - 1, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* Queues the input's answer on u, pieces as cut; false when u answers no
 * more (half-closed, or MAX_ANSWERS reached). */
static bool queue_answer(struct up_conn *u)
{
    if (u->shut || u->answers >= MAX_ANSWERS)
        return false;
    u->answers++;
    char acc[32] = "";
    if (u->key_len > 0)
        ws_accept(u->key, u->key_len, acc);
    size_t acc_len = strlen(acc), m_len = strlen(M_ACCEPT);
    for (size_t i = 0; i < H.answer.n; i++) {
        const uint8_t *p = H.answer.seg[i].p;
        size_t n = H.answer.seg[i].n;
        /* A marker (10 bytes) becomes at most 28: 3n bytes hold any piece. */
        struct piece *pc = malloc(sizeof(*pc) + 3 * n + 1);
        FUZZ_CHECK(pc != NULL);
        pc->next = NULL;
        pc->off = 0;
        pc->len = 0;
        pc->eof = H.answer.eof && i == H.answer.n - 1;
        const uint8_t *m;
        while ((m = memmem(p, n, M_ACCEPT, m_len)) != NULL) {
            memcpy(pc->data + pc->len, p, (size_t)(m - p));
            pc->len += (size_t)(m - p);
            memcpy(pc->data + pc->len, acc, acc_len);
            pc->len += acc_len;
            n -= (size_t)(m - p) + m_len;
            p = m + m_len;
        }
        memcpy(pc->data + pc->len, p, n);
        pc->len += n;
        *u->q_tail = pc;
        u->q_tail = &pc->next;
    }
    return true;
}

static int on_message_complete(llhttp_t *p)
{
    struct up_conn *u = p->data;
    if (!u->req_answered)
        queue_answer(u);
    u->in_request = false;
    u->req_answered = false;
    return 0;
}

static void drop_queue(struct up_conn *u)
{
    struct piece *pc;
    while ((pc = u->q) != NULL) {
        u->q = pc->next;
        free(pc);
    }
    u->q_tail = &u->q;
}

static void up_close(struct up_conn *u)
{
    drop_queue(u);
    close(u->fd); /* SO_LINGER 0: a reset, no TIME_WAIT left behind */
    free(u);
}

static void up_accept(void)
{
    int fd;
    while ((fd = accept4(H.up_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        H.progress++;
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        struct up_conn *u = H.n_up < MAX_UP ? calloc(1, sizeof(*u)) : NULL;
        if (u == NULL) {
            close(fd);
            continue;
        }
        u->fd = fd;
        u->q_tail = &u->q;
        llhttp_init(&u->ll, HTTP_REQUEST, &H.ll);
        u->ll.data = u;
        H.up[H.n_up++] = u;
    }
}

/* What the daemon sent: requests for llhttp until it stops, raw bytes
 * after that. */
static void up_parse(struct up_conn *u, const uint8_t *p, size_t n)
{
    if (!u->raw) {
        if (llhttp_execute(&u->ll, (const char *)p, n) == HPE_OK)
            return;
        /* An error, or HPE_PAUSED_UPGRADE: a 101 makes it a tunnel. */
        u->raw = true;
        const char *pos = llhttp_get_error_pos(&u->ll);
        if (pos != NULL && pos >= (const char *)p && pos <= (const char *)p + n)
            n -= (size_t)(pos - (const char *)p);
    }
    u->raw_unanswered += n;
}

static void up_read(struct up_conn *u)
{
    while (!u->peer_eof) {
        ssize_t r = recv(u->fd, H.buf, sizeof(H.buf), 0);
        if (r > 0) {
            H.progress++;
            trace("upstream got", H.buf, (size_t)r);
            up_parse(u, H.buf, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            u->peer_eof = true;
            H.progress++;
            trace(r == 0 ? "upstream got EOF" : "upstream got an error", NULL, 0);
        } else {
            return;
        }
    }
}

/* At most one piece per turn: the daemon reads each on its own. */
static void up_write(struct up_conn *u)
{
    struct piece *pc = u->q;
    if (pc == NULL)
        return;
    while (pc->off < pc->len) {
        ssize_t r = send(u->fd, pc->data + pc->off, pc->len - pc->off, MSG_NOSIGNAL);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return; /* the daemon is not reading: try on a later turn */
        if (r <= 0) {
            drop_queue(u); /* reset by the daemon */
            return;
        }
        trace("upstream sent", pc->data + pc->off, (size_t)r);
        pc->off += (size_t)r;
    }
    H.progress++;
    u->q = pc->next;
    if (u->q == NULL)
        u->q_tail = &u->q;
    if (pc->eof) {
        shutdown(u->fd, SHUT_WR);
        u->shut = true;
        drop_queue(u);
    }
    free(pc);
}

/* Everything is quiet: answer once what a real upstream might answer
 * without a complete request (see the top).  true if anything was
 * queued. */
static bool quiet_answers(void)
{
    bool any = false;
    for (size_t i = 0; i < H.n_up; i++) {
        struct up_conn *u = H.up[i];
        if (u->q != NULL || !(u->answers == 0 || (u->in_request && !u->req_answered) || u->raw_unanswered > 0))
            continue;
        if (u->in_request)
            u->req_answered = true;
        u->raw_unanswered = 0;
        any |= queue_answer(u);
    }
    return any;
}

/* --- the resolver: every name is 127.0.0.1 (A; no AAAA), but names
 * under .invalid do not exist (NXDOMAIN) --- */

static size_t dns_reply(const uint8_t *q, size_t n, uint8_t *out)
{
    /* A query (QR clear) with exactly one question. */
    if (n < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
        return 0;
    size_t i = 12, last = 0;
    while (i < n && q[i] != 0) {
        if (q[i] & 0xc0)
            return 0; /* no compression in a question */
        last = i;
        i += 1 + (size_t)q[i];
    }
    if (i + 5 > n)
        return 0;
    uint16_t qtype = (uint16_t)(q[i + 1] << 8 | q[i + 2]);
    i += 5; /* root label, type, class */
    bool nx = last > 0 && q[last] == 7 && strncasecmp((const char *)q + last + 1, "invalid", 7) == 0;
    bool a = qtype == 1 && !nx;
    memcpy(out, q, i); /* the question as asked (evdns randomizes its case and checks) */
    out[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, RD as asked */
    out[3] = (uint8_t)(0x80 | (nx ? 3 : 0));  /* RA, NXDOMAIN or NOERROR */
    memset(out + 6, 0, 6);
    out[7] = a ? 1 : 0;
    if (a) {
        static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
        memcpy(out + i, rr, sizeof(rr));
        i += sizeof(rr);
    }
    return i;
}

static void dns_serve(void)
{
    for (;;) {
        uint8_t q[512], a[512 + 16];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(H.dns_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        H.progress++;
        trace("resolver got", q, (size_t)n);
        size_t an = dns_reply(q, (size_t)n, a);
        if (an > 0)
            sendto(H.dns_fd, a, an, 0, (struct sockaddr *)&from, fl);
    }
}

/* --- the loop --- */

static void client_read(void)
{
    while (H.client >= 0 && !H.client_gone) {
        ssize_t r = recv(H.client, H.buf, sizeof(H.buf), 0);
        if (r > 0) {
            H.progress++;
            trace("client got", H.buf, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            H.client_gone = true;
            H.progress++;
            trace(r == 0 ? "client got EOF" : "client got an error", NULL, 0);
        } else {
            return;
        }
    }
}

/* One turn: the daemon runs whatever is ready, then the client, the
 * resolver and the upstream do their part. */
static void turn(void)
{
    event_base_loop(H.w->svc.base, EVLOOP_NONBLOCK);
    client_read();
    dns_serve();
    up_accept();
    for (size_t i = 0; i < H.n_up; i++) {
        up_read(H.up[i]);
        up_write(H.up[i]);
    }
}

/* What h2gatectl sessions, session ID and tunnels ask a worker, on its
 * own thread, at any moment: here at every quiet point, in whatever
 * state the input left the connection.  The answers must serialize. */
static void introspect(void)
{
    json_t *v[3] = {introspect_sessions(H.w, 0), NULL, introspect_tunnels(H.w)};
    if (!LIST_EMPTY(&H.w->svc.conns))
        v[1] = introspect_sessions(H.w, LIST_FIRST(&H.w->svc.conns)->id);
    for (size_t i = 0; i < 3; i++) {
        if (v[i] == NULL)
            continue;
        char *d = json_dumps(v[i], JSON_COMPACT);
        FUZZ_CHECK(d != NULL);
        free(d);
        json_decref(v[i]);
    }
}

/* Turns until nothing moves for QUIET_TURNS.  With `last` (the client
 * has written everything), quiet_answers get their chance each time: not
 * before, or a request body cut into two writes would always be answered
 * early. */
static void settle(bool last)
{
    unsigned quiet = 0;
    for (unsigned i = 0; i < MAX_TURNS && quiet < QUIET_TURNS; i++) {
        unsigned long before = H.progress;
        turn();
        if (H.progress != before)
            quiet = 0;
        else if (++quiet == QUIET_TURNS && last && quiet_answers())
            quiet = 0;
    }
    introspect();
}

/* Writes p[0..n) as the client, turning while the socket is full.  false
 * when the daemon closed the connection or stopped reading for good. */
static bool client_write(const uint8_t *p, size_t n)
{
    unsigned stuck = 0;
    while (n > 0) {
        ssize_t r = send(H.client, p, n, MSG_NOSIGNAL);
        if (r > 0) {
            H.progress++;
            trace("client sent", p, (size_t)r);
            p += r;
            n -= (size_t)r;
            stuck = 0;
        } else if (r < 0 && (errno == EAGAIN || errno == EINTR) && stuck++ < QUIET_TURNS * 10) {
            turn();
        } else {
            return false;
        }
    }
    return true;
}

/* The client's connection: the kernel completes it in the listener's
 * backlog, and the daemon accepts it on its next turn.  Loopback connects
 * at once, but connect(2) may still say EINPROGRESS, or EINTR when the
 * timer of libFuzzer's -timeout interrupts it: then it completes on its
 * own, and poll says when. */
static void client_connect(void)
{
    H.client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(H.client >= 0);
    int err = 0;
    if (connect(H.client, (struct sockaddr *)&H.listen_addr, sizeof(H.listen_addr)) != 0) {
        err = errno;
        struct pollfd p = {.fd = H.client, .events = POLLOUT};
        int r = -1;
        if (err == EINPROGRESS || err == EINTR)
            while ((r = poll(&p, 1, 5000)) < 0 && errno == EINTR)
                ;
        socklen_t el = sizeof(err);
        if (r == 1 && getsockopt(H.client, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        else if (r == 0)
            err = ETIMEDOUT;
    }
    if (err != 0) {
        fprintf(stderr, "h2_session: connect: %s\n", strerror(err));
        abort();
    }
    /* Its close is a reset: no TIME_WAIT left behind per input. */
    struct linger lg = {1, 0};
    setsockopt(H.client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    H.client_gone = false;
}

static void script_parse(const uint8_t *p, size_t n, struct script *sc)
{
    size_t cap = 0;
    sc->seg = NULL;
    sc->n = 0;
    sc->eof = false;
    for (;;) {
        const uint8_t *cut = memmem(p, n, M_CUT, strlen(M_CUT));
        const uint8_t *eof = memmem(p, n, M_EOF, strlen(M_EOF));
        const uint8_t *end = eof != NULL && (cut == NULL || eof < cut) ? eof : cut;
        if (sc->n == cap) {
            cap = cap ? 2 * cap : 8;
            sc->seg = realloc(sc->seg, cap * sizeof(*sc->seg));
            FUZZ_CHECK(sc->seg != NULL);
        }
        size_t len = end != NULL ? (size_t)(end - p) : n;
        sc->seg[sc->n++] = (struct seg){p, len};
        if (end == NULL)
            return;
        if (end == eof) {
            sc->eof = true;
            return;
        }
        p += len + strlen(M_CUT);
        n -= len + strlen(M_CUT);
    }
}

static void attachment_free(void *arg)
{
    struct h2g_snapshot_attachment *att = arg;
    free(att->listen);
    free(att);
}

static void setup(void)
{
    /* The daemon writes to sockets the client or upstream reset. */
    signal(SIGPIPE, SIG_IGN);
    uint16_t lport, uport, down_port, dport;
    int lfd = bound_socket(SOCK_STREAM, true, &lport);
    H.up_lfd = bound_socket(SOCK_STREAM, true, &uport);
    H.down_fd = bound_socket(SOCK_STREAM, false, &down_port);
    H.dns_fd = bound_socket(SOCK_DGRAM, false, &dport);
    snprintf(H.port5, sizeof(H.port5), "%05u", uport);
    H.listen_addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(lport),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char yaml[sizeof(CONFIG) + 64];
    int len = snprintf(yaml, sizeof(yaml), CONFIG, lport, uport, down_port);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof(yaml));
    struct h2g_config_errors errs;
    struct h2g_config *c = h2g_config_load_string("h2_session.yaml", "/", yaml, (size_t)len, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    FUZZ_CHECK(c != NULL);
    h2g_config_errors_clear(&errs);
    /* What process.c's build_snapshot attaches: a cleartext listener
     * needs no TLS context, and no route has a TLS upstream. */
    struct h2g_snapshot_attachment *att = calloc(1, sizeof(*att));
    struct h2g_listen_ctx *ctx = calloc(c->n_listen + 1, sizeof(*ctx));
    FUZZ_CHECK(att != NULL && ctx != NULL);
    for (size_t i = 0; i < c->n_listen; i++)
        ctx[i].lc = &c->listen[i];
    att->listen = ctx;
    c->attachment = att;
    c->attachment_free = attachment_free;
    h2g_log_set_level(c->log_level);
    h2g_log_init();
    int fds[1] = {lfd};
    FUZZ_CHECK(c->n_listen == 1);
    H.w = worker_new(0, c, fds, -1);
    FUZZ_CHECK(H.w != NULL);
    h2g_config_unref(c); /* the worker holds its own reference */
    /* The resolver worker_new made reads /etc/resolv.conf: replace it
     * with one that asks dns_serve alone. */
    char ns[32];
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", dport);
    evdns_base_free(H.w->svc.dns, 0);
    H.w->svc.dns = evdns_base_new(H.w->svc.base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    FUZZ_CHECK(H.w->svc.dns != NULL && evdns_base_nameserver_ip_add(H.w->svc.dns, ns) == 0);
    llhttp_settings_init(&H.ll);
    H.ll.on_message_begin = on_message_begin;
    H.ll.on_header_field = on_header_field;
    H.ll.on_header_value = on_header_value;
    H.ll.on_header_value_complete = on_header_value_complete;
    H.ll.on_message_complete = on_message_complete;
    H.client = -1;
    H.trace = getenv("FUZZ_TRACE") != NULL;
    H.ready = true;
}

/* p's list, and the address pools of names (upstream_pool.h). */
static bool pools_idle_empty_from(const struct h2g_upstream_pool *p)
{
    for (; p != NULL; p = p->next)
        if (p->n_idle != 0 || !LIST_EMPTY(&p->idle) || !pools_idle_empty_from(p->by_addr))
            return false;
    return true;
}

static bool pools_idle_empty(void)
{
    return pools_idle_empty_from(H.w->svc.pools);
}

static bool worker_empty(void)
{
    return H.w->svc.n_conns == 0 && LIST_EMPTY(&H.w->svc.conns) && LIST_EMPTY(&H.w->svc.orphans) && pools_idle_empty();
}

/* Round-robin state would carry one input's choices (and failures) into
 * the next: every input starts at the first upstream of each route. */
static void reset_balance(void)
{
    const struct h2g_config *c = H.w->svc.config;
    for (size_t oi = 0; H.w->balance != NULL && oi < c->n_origins; oi++) {
        for (size_t ri = 0; H.w->balance[oi] != NULL && ri < c->origins[oi].n_routes; ri++) {
            struct h2g_balance *b = &H.w->balance[oi][ri];
            b->next = 0;
            if (b->n > 0)
                memset(b->down_until, 0, b->n * sizeof(*b->down_until));
        }
    }
}

int fuzz_h2_session(const uint8_t *data, size_t size)
{
    if (!H.ready)
        setup();
    reset_balance();
    const uint8_t *sep = memmem(data, size, M_UPSTREAM, strlen(M_UPSTREAM));
    size_t client_len = sep != NULL ? (size_t)(sep - data) : size;
    uint8_t *cb = (uint8_t *)fuzz_dup(data, client_len, 0);
    for (uint8_t *m = cb; (m = memmem(m, client_len - (size_t)(m - cb), M_PORT, strlen(M_PORT))) != NULL;
         m += strlen(M_PORT))
        memcpy(m, H.port5, strlen(M_PORT));
    struct script client;
    script_parse(cb, client_len, &client);
    if (sep != NULL)
        script_parse(sep + strlen(M_UPSTREAM), size - client_len - strlen(M_UPSTREAM), &H.answer);
    else
        script_parse((const uint8_t *)DEFAULT_ANSWER, strlen(DEFAULT_ANSWER), &H.answer);

    client_connect();

    bool open = true;
    bool own_preface = client.seg[0].n > 0 && client.seg[0].p[0] >= 'A' && client.seg[0].p[0] <= 'Z';
    if (!own_preface)
        open = client_write((const uint8_t *)preface, sizeof(preface) - 1);
    for (size_t i = 0; i < client.n && open; i++) {
        open = client_write(client.seg[i].p, client.seg[i].n);
        settle(false);
    }
    if (client.eof && open)
        shutdown(H.client, SHUT_WR);
    settle(true);

    /* The client goes (a reset: its socket leaves no TIME_WAIT), then the
     * upstream: the daemon must let go of everything, with no timer. */
    close(H.client);
    H.client = -1;
    settle(false);
    for (size_t i = 0; i < H.n_up; i++)
        up_close(H.up[i]);
    H.n_up = 0;
    for (unsigned i = 0; i < MAX_TURNS && !worker_empty(); i++)
        turn();
    FUZZ_CHECK(worker_empty());
    const struct h2g_stats *st = &H.w->svc.stats;
    FUZZ_CHECK(st->connections_open == 0 && st->streams_open == 0 && st->tunnels_open == 0);
    FUZZ_CHECK(st->sessions_open[0] == 0 && st->sessions_open[1] == 0 && st->sessions_open[2] == 0);
    FUZZ_CHECK(h2g_total_conns == 0 && H.w->snap->users == 0);

    /* Connections the daemon made and closed before the upstream
     * accepted them wait in the backlog: not for the next input. */
    up_accept();
    for (size_t i = 0; i < H.n_up; i++)
        up_close(H.up[i]);
    H.n_up = 0;
    free(client.seg);
    free(cb);
    free(H.answer.seg);
    H.answer.seg = NULL;
    return 0;
}

H2G_FUZZ_TARGET(fuzz_h2_session)
