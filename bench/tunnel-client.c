/*
 * Load client for bench/tunnel: one stream on one connection, prints one
 * JSON object.  Same command lines and output as bench/tunnel-client.js,
 * which it replaces because node itself was the bottleneck (~2 GB/s over
 * plain TCP but far less through any h2 proxy: it measured node, not the
 * proxies).
 *
 *   tunnel-client up|down tcp HOST:PORT BYTES
 *   tunnel-client up|down connect URL HOST:PORT BYTES   classic CONNECT
 *   tunnel-client up|down ext URL PATH BYTES            RFC 8441, websocket
 *   tunnel-client rtt tcp HOST:PORT N
 *   tunnel-client up|down|rtt h1connect PROXY:PORT HOST:PORT BYTES|N
 *       HTTP/1.1 "CONNECT HOST:PORT" on a cleartext connection to the
 *       proxy, then as tcp (the clock starts after the 200's head)
 *   tunnel-client rtt connect URL HOST:PORT N
 *   tunnel-client rtt ext URL PATH N
 *
 * URL is http://HOST[:PORT] (cleartext h2, prior knowledge).
 * up: writes BYTES into the tunnel as fast as flow control allows, then
 * half-closes; the sink answers "COUNT\n" once it has them all
 * -> {bytes, secs, mbps}.  down: reads until EOF / END_STREAM
 * -> {bytes, secs, mbps}.  rtt: N sequential round trips of a 32-byte
 * message through an echo target -> {n, secs, rtt_per_sec, us_per_rtt}.
 * The clock starts once the tunnel is established (200 / TCP connect).
 * Errors -> {"error": "..."} and exit status 1.
 *
 *   cc -O2 -o tunnel-client tunnel-client.c $(pkg-config --cflags --libs libnghttp2)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#define CHUNK_LEN (256 * 1024)
#define RBUF_LEN (256 * 1024)
#define MSG_LEN 32
/* stop producing frames once this much output is queued: one writev */
#define OUT_LIMIT (256 * 1024)
#define OUT_IOV 512
#define OUT_COPY (64 * 1024)
#ifndef TIMEOUT_SECS /* -DTIMEOUT_SECS=2 to test it */
#define TIMEOUT_SECS 600
#endif

/* The payload never changes, so every DATA frame can point into it. */
static uint8_t chunk[CHUNK_LEN]; /* 'a', filled in by main() */
static uint8_t msg[MSG_LEN];     /* 'b' */

enum dir { UP, DOWN, RTT };
enum kind { TCP, CONNECT, EXT, H1CONNECT };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Shortest %g that reads back as the same double, like JSON.stringify;
 * non-finite -> null, also like JSON.stringify. */
static void fmt_num(char *buf, size_t len, double v)
{
	if (!isfinite(v)) {
		snprintf(buf, len, "null");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static _Noreturn void fail(const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	fputs("{\"error\":", stdout);
	json_str(m);
	fputs("}\n", stdout);
	exit(1);
}

static _Noreturn void out_bytes(unsigned long long n, double secs)
{
	char s[32], m[32];
	fmt_num(s, sizeof s, secs);
	fmt_num(m, sizeof m, (double)n / secs / 1e6);
	printf("{\"bytes\":%llu,\"secs\":%s,\"mbps\":%s}\n", n, s, m);
	exit(0);
}

static _Noreturn void out_rtt(unsigned long long n, double secs)
{
	char s[32], r[32], u[32];
	fmt_num(s, sizeof s, secs);
	fmt_num(r, sizeof r, (double)n / secs);
	fmt_num(u, sizeof u, secs / (double)n * 1e6);
	printf("{\"n\":%llu,\"secs\":%s,\"rtt_per_sec\":%s,\"us_per_rtt\":%s}\n", n, s, r, u);
	exit(0);
}

static void on_alarm(int sig)
{
	static const char m[] = "{\"error\":\"timeout\"}\n";
	(void)sig;
	/* async-signal-safe: stdout may be mid-printf, so bypass stdio */
	ssize_t r = write(STDOUT_FILENO, m, sizeof m - 1);
	(void)r;
	_exit(1);
}

/* "COUNT\n" from the sink must be exactly the byte count we sent. */
static void check_reply(const char *reply, size_t len, unsigned long long n)
{
	char t[64];
	size_t a = 0, b = len;
	while (a < b && (reply[a] == ' ' || reply[a] == '\n' || reply[a] == '\r' || reply[a] == '\t'))
		a++;
	while (b > a && (reply[b - 1] == ' ' || reply[b - 1] == '\n' || reply[b - 1] == '\r' || reply[b - 1] == '\t'))
		b--;
	snprintf(t, sizeof t, "%.*s", (int)(b - a), reply + a);
	char *end;
	errno = 0;
	unsigned long long got = strtoull(t, &end, 10);
	if (errno || end == t || *end || got != n)
		fail("sink counted %s of %llu", t, n);
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int rv = getaddrinfo(host, port, &hints, &res), fd = -1, err = 0;
	if (rv)
		fail("getaddrinfo %s:%s: %s", host, port, gai_strerror(rv));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fail("connect %s:%s: %s", host, port, strerror(err));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* "HOST:PORT" or "[V6]:PORT" -> host, port (in place). */
static void split_hostport(char *hp, char **host, char **port, const char *dflt_port)
{
	char *c;
	if (hp[0] == '[' && (c = strchr(hp, ']'))) {
		*c = 0;
		*host = hp + 1;
		*port = c[1] == ':' ? c + 2 : (char *)dflt_port;
		return;
	}
	c = strrchr(hp, ':');
	*host = hp;
	if (c) {
		*c = 0;
		*port = c + 1;
	} else {
		*port = (char *)dflt_port;
	}
}

/* ---- raw TCP: blocking socket, no framing ---- */

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail("write: %s", strerror(errno));
		}
		p += w;
		len -= (size_t)w;
	}
}


/* read(2) into buf, retried on EINTR; 0 at EOF; fails the run on error. */
static size_t read_some(int fd, uint8_t *buf, size_t len)
{
	for (;;) {
		ssize_t r = read(fd, buf, len);
		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR)
			fail("read: %s", strerror(errno));
	}
}
/* HTTP/1.1 CONNECT through the proxy on fd: a 2xx head, read a byte at a
 * time so that no tunnel byte is taken with it. */
static void h1_connect(int fd, const char *target)
{
	char req[512], head[4096];
	int len = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	write_all(fd, (const uint8_t *)req, (size_t)len);
	size_t n = 0;
	while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
		if (n == sizeof head - 1 || read_some(fd, (uint8_t *)head + n, 1) == 0)
			fail("no CONNECT response head");
		n++;
	}
	head[n] = 0;
	if (strncmp(head, "HTTP/1.1 2", 10) != 0)
		fail("CONNECT answered %.*s", (int)strcspn(head, "\r"), head);
}

/* connect_to: NULL for plain TCP to target; else target is the proxy. */
static _Noreturn void run_tcp(enum dir dir, const char *target, const char *connect_to, unsigned long long n)
{
	static uint8_t rbuf[RBUF_LEN];
	char hp[256], *host, *port;
	snprintf(hp, sizeof hp, "%s", target);
	split_hostport(hp, &host, &port, "80");
	int fd = dial(host, port);
	if (connect_to != NULL)
		h1_connect(fd, connect_to);
	double t0 = now();

	if (dir == UP) {
		char reply[64];
		size_t rlen = 0;
		for (unsigned long long left = n; left;) {
			size_t k = left < CHUNK_LEN ? (size_t)left : CHUNK_LEN;
			write_all(fd, chunk, k);
			left -= k;
		}
		shutdown(fd, SHUT_WR);
		for (;;) {
			size_t r = read_some(fd, rbuf, RBUF_LEN);
			if (r == 0)
				break;
			size_t k = r < sizeof reply - 1 - rlen ? r : sizeof reply - 1 - rlen;
			memcpy(reply + rlen, rbuf, k);
			rlen += k;
			if (rbuf[r - 1] == '\n')
				break;
		}
		double t = now() - t0;
		close(fd);
		check_reply(reply, rlen, n);
		out_bytes(n, t);
	} else if (dir == DOWN) {
		unsigned long long got = 0;
		for (;;) {
			size_t r = read_some(fd, rbuf, RBUF_LEN);
			if (r == 0)
				break;
			got += r;
		}
		double t = now() - t0;
		close(fd);
		if (got != n)
			fail("received %llu of %llu", got, n);
		out_bytes(n, t);
	} else {
		size_t have = 0;
		for (unsigned long long i = 0; i < n; i++) {
			write_all(fd, msg, MSG_LEN);
			while (have < MSG_LEN) {
				size_t r = read_some(fd, rbuf, RBUF_LEN);
				if (r == 0)
					fail("echo closed after %llu of %llu round trips", i, n);
				have += r;
			}
			have -= MSG_LEN;
		}
		double t = now() - t0;
		close(fd);
		out_rtt(n, t);
	}
}

/* ---- h2: nghttp2 client session over one non-blocking socket ---- */

/* Pending output as an iovec list: frames nghttp2 serialises are copied
 * into copy[] (they are small: HEADERS, SETTINGS, WINDOW_UPDATE, DATA
 * frame headers), DATA payloads point straight into chunk[] / msg[]. */
struct out {
	struct iovec iov[OUT_IOV];
	int head, n;
	size_t pending;
	size_t copy_len;
	uint8_t copy[OUT_COPY];
};

struct client {
	enum dir dir;
	enum kind kind;
	unsigned long long n;
	int fd;
	nghttp2_session *sess;
	int32_t sid;
	const char *authority, *target_path, *connect_to;
	int status;
	int established, done, got_settings;
	double t0, t;
	unsigned long long left;     /* up: bytes still to hand to nghttp2 */
	unsigned long long got;      /* down: payload bytes received */
	unsigned long long rounds;   /* rtt: round trips completed */
	size_t have;                 /* rtt: echoed bytes not yet matched */
	size_t wpend;                /* rtt: message bytes still to send */
	char reply[64];              /* up: the sink's count line */
	size_t reply_len;
	char err[256];
	struct out out;
};

static void set_err(struct client *c, const char *fmt, ...)
{
	if (c->err[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

/* Room for a DATA frame (header + payload reference) or a control frame,
 * and then still for one control frame: produce() cannot refuse what
 * nghttp2_session_mem_send() hands it. */
#define CTRL_MAX 4096 /* no control frame nghttp2 makes for us is larger */
static int out_room(const struct out *o, size_t copy_need)
{
	return o->pending < OUT_LIMIT && o->n + 3 <= OUT_IOV &&
	       o->copy_len + copy_need + CTRL_MAX <= OUT_COPY;
}

static void out_copy(struct out *o, const uint8_t *p, size_t len)
{
	struct iovec *last = o->n > o->head ? &o->iov[o->n - 1] : NULL;
	uint8_t *dst = o->copy + o->copy_len;
	memcpy(dst, p, len);
	o->copy_len += len;
	o->pending += len;
	/* adjacent copies become one iovec: fewer, larger writev entries */
	if (last && (uint8_t *)last->iov_base + last->iov_len == dst)
		last->iov_len += len;
	else
		o->iov[o->n++] = (struct iovec){dst, len};
}

static void out_ref(struct out *o, const uint8_t *p, size_t len)
{
	o->iov[o->n++] = (struct iovec){(void *)p, len};
	o->pending += len;
}

/* Returns -1 on a socket error, else 0 (EAGAIN leaves output pending). */
static int out_flush(struct client *c)
{
	struct out *o = &c->out;
	while (o->pending) {
		int cnt = o->n - o->head;
		if (cnt > IOV_MAX)
			cnt = IOV_MAX;
		ssize_t w = writev(c->fd, o->iov + o->head, cnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			set_err(c, "write: %s", strerror(errno));
			return -1;
		}
		o->pending -= (size_t)w;
		size_t k = (size_t)w;
		while (k && k >= o->iov[o->head].iov_len)
			k -= o->iov[o->head++].iov_len;
		if (k) {
			o->iov[o->head].iov_base = (uint8_t *)o->iov[o->head].iov_base + k;
			o->iov[o->head].iov_len -= k;
		}
	}
	if (!o->pending) {
		o->head = o->n = 0;
		o->copy_len = 0;
	} else if (o->head > OUT_IOV / 2) {
		/* keep room for new entries; copy[] is only reset when drained */
		memmove(o->iov, o->iov + o->head, (size_t)(o->n - o->head) * sizeof o->iov[0]);
		o->n -= o->head;
		o->head = 0;
	}
	return 0;
}

/* Moves nghttp2's output into the out list until it is full.  Returns the
 * number of bytes queued, or -1 on error. */
static ssize_t produce(struct client *c)
{
	size_t before = c->out.pending;
	while (out_room(&c->out, 0)) {
		const uint8_t *p;
		ssize_t r = nghttp2_session_mem_send(c->sess, &p);
		if (r < 0) {
			set_err(c, "nghttp2_session_mem_send: %s", nghttp2_strerror((int)r));
			return -1;
		}
		if (r == 0)
			break;
		if (c->out.copy_len + (size_t)r > OUT_COPY || c->out.n + 1 > OUT_IOV) {
			set_err(c, "frame of %zd bytes does not fit the output buffer", r);
			return -1;
		}
		out_copy(&c->out, p, (size_t)r);
	}
	return (ssize_t)(c->out.pending - before);
}

static int send_data_cb(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd,
			size_t length, nghttp2_data_source *src, void *ud)
{
	struct client *c = ud;
	(void)s;
	/* no select_padding_callback, so never padded */
	if (frame->data.padlen) {
		set_err(c, "unexpected padding");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (!out_room(&c->out, 9))
		return NGHTTP2_ERR_WOULDBLOCK; /* nghttp2 offers this frame again */
	out_copy(&c->out, framehd, 9);
	if (length)
		out_ref(&c->out, src->ptr, length);
	return 0;
}

static ssize_t read_cb(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length,
		       uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct client *c = ud;
	size_t k;
	(void)s, (void)sid, (void)buf, (void)src;
	/* nothing before the 200: the clock starts there */
	if (!c->established || c->done)
		return NGHTTP2_ERR_DEFERRED;
	if (c->dir == UP) {
		k = c->left < length ? (size_t)c->left : length;
		if (k > CHUNK_LEN)
			k = CHUNK_LEN;
		c->left -= k;
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
		if (!c->left)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
		return (ssize_t)k;
	}
	if (c->dir == RTT && c->wpend) {
		k = c->wpend < length ? c->wpend : length;
		c->wpend -= k;
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
		return (ssize_t)k;
	}
	/* down never sends; rtt waits for the echo.  The stream stays open
	 * for writing, as the node client leaves it. */
	return NGHTTP2_ERR_DEFERRED;
}

static int submit_request(struct client *c)
{
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
	nghttp2_data_provider prd = {.source.ptr = (c->dir == RTT ? msg : chunk),
				     .read_callback = read_cb};
	if (c->kind == CONNECT) {
		/* RFC 9113 8.5: no :scheme, no :path */
		nghttp2_nv nv[] = {NV(":method", "CONNECT"), NV(":authority", c->connect_to)};
		c->sid = nghttp2_submit_request(c->sess, NULL, nv, 2, &prd, c);
	} else {
		nghttp2_nv nv[] = {
			NV(":method", "CONNECT"), NV(":protocol", "websocket"), NV(":scheme", "http"),
			NV(":path", c->target_path), NV(":authority", c->authority),
			NV("sec-websocket-version", "13"),
		};
		c->sid = nghttp2_submit_request(c->sess, NULL, nv, 6, &prd, c);
	}
#undef NV
	if (c->sid < 0) {
		set_err(c, "nghttp2_submit_request: %s", nghttp2_strerror(c->sid));
		return -1;
	}
	return 0;
}

static void finish(struct client *c)
{
	if (!c->done) {
		c->t = now() - c->t0;
		c->done = 1;
	}
}

static int on_header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
			size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct client *c = ud;
	(void)s, (void)flags;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == c->sid &&
	    namelen == 7 && !memcmp(name, ":status", 7)) {
		char v[8];
		snprintf(v, sizeof v, "%.*s", (int)(valuelen < 7 ? valuelen : 7), value);
		c->status = atoi(v);
	}
	return 0;
}

static int on_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
	struct client *c = ud;
	if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
	    !c->got_settings) {
		c->got_settings = 1;
		if (c->kind == EXT) {
			/* RFC 8441 3: no :protocol before the server said it may */
			if (nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1) {
				set_err(c, "no SETTINGS_ENABLE_CONNECT_PROTOCOL");
				return NGHTTP2_ERR_CALLBACK_FAILURE;
			}
			if (submit_request(c))
				return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		return 0;
	}
	if (frame->hd.stream_id != c->sid || c->sid <= 0)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && !c->established && c->status >= 200) {
		if (c->status != 200) {
			set_err(c, "status %d", c->status);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		c->established = 1;
		c->t0 = now();
		if (c->dir == RTT) {
			if (c->n == 0)
				finish(c);
			c->wpend = MSG_LEN;
		}
		nghttp2_session_resume_data(s, c->sid);
	}
	if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && c->established && !c->done) {
		/* up: a sink that closed without its full count line is
		 * reported by check_reply() as a count mismatch */
		if (c->dir != RTT)
			finish(c);
		else
			set_err(c, "tunnel ended by the peer after %llu of %llu round trips",
				c->rounds, c->n);
	}
	return 0;
}

static int on_data_chunk_cb(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
			    size_t len, void *ud)
{
	struct client *c = ud;
	(void)flags;
	if (sid != c->sid || c->done)
		return 0;
	if (c->dir == DOWN) {
		c->got += len;
	} else if (c->dir == UP) {
		size_t k = len < sizeof c->reply - 1 - c->reply_len ? len : sizeof c->reply - 1 - c->reply_len;
		memcpy(c->reply + c->reply_len, data, k);
		c->reply_len += k;
		if (len && data[len - 1] == '\n')
			finish(c);
	} else {
		c->have += len;
		while (c->have >= MSG_LEN && !c->done) {
			c->have -= MSG_LEN;
			if (++c->rounds == c->n) {
				finish(c);
			} else {
				c->wpend += MSG_LEN;
				nghttp2_session_resume_data(s, sid);
			}
		}
	}
	return 0;
}

static int on_stream_close_cb(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct client *c = ud;
	(void)s;
	if (sid == c->sid && !c->done)
		set_err(c, "stream closed (%s) %s", nghttp2_http2_strerror(code),
			c->established ? "in the tunnel" : "before the response");
	return 0;
}

static _Noreturn void run_h2(struct client *c, const char *url)
{
	static uint8_t rbuf[RBUF_LEN];
	char hp[256], hostport[256], *host, *port;
	const char *p = url;

	if (strncmp(p, "http://", 7))
		fail("URL must be http://HOST:PORT, not %s", url);
	p += 7;
	snprintf(hp, sizeof hp, "%.*s", (int)strcspn(p, "/?#"), p);
	snprintf(hostport, sizeof hostport, "%s", hp);
	c->authority = hp; /* like node's URL.host */
	split_hostport(hostport, &host, &port, "80");
	c->fd = dial(host, port);
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		fail("fcntl: %s", strerror(errno));

	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb))
		fail("out of memory");
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
	if (nghttp2_session_client_new(&c->sess, cb, c))
		fail("nghttp2_session_client_new failed");
	nghttp2_session_callbacks_del(cb);

	/* the node client's settings: big windows so the proxy, not the
	 * client's flow control, limits "down" */
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024 - 1},
	};
	int rv = nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, 2);
	if (!rv)
		rv = nghttp2_session_set_local_window_size(c->sess, NGHTTP2_FLAG_NONE, 0, 64 * 1024 * 1024);
	if (!rv && c->kind == CONNECT)
		rv = submit_request(c) ? -1 : 0;
	if (rv)
		fail("%s", c->err[0] ? c->err : nghttp2_strerror(rv));

	int need_poll = 0, eof = 0;
	while (!c->done && !c->err[0]) {
		if (need_poll) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN | (c->out.pending ? POLLOUT : 0)};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				fail("poll: %s", strerror(errno));
		}
		ssize_t r = read(c->fd, rbuf, RBUF_LEN);
		if (r > 0) {
			ssize_t m = nghttp2_session_mem_recv(c->sess, rbuf, (size_t)r);
			if (m < 0) {
				set_err(c, "nghttp2_session_mem_recv: %s", nghttp2_strerror((int)m));
				break;
			}
		} else if (r == 0) {
			eof = 1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			set_err(c, "read: %s", strerror(errno));
			break;
		}
		if (c->done || c->err[0])
			break;
		if (eof) {
			set_err(c, "connection closed by the proxy");
			break;
		}
		ssize_t q = produce(c);
		if (q < 0 || out_flush(c) < 0)
			break;
		if (!nghttp2_session_want_read(c->sess) && !nghttp2_session_want_write(c->sess) &&
		    !c->out.pending) {
			set_err(c, "h2 session ended");
			break;
		}
		/* a full read likely left more behind; a fully written batch
		 * likely has a successor: skip poll's syscall then */
		need_poll = r != RBUF_LEN && !(q > 0 && !c->out.pending);
	}
	double t = c->t;
	/* best effort GOAWAY; the figures are taken already */
	nghttp2_session_terminate_session(c->sess, NGHTTP2_NO_ERROR);
	if (produce(c) >= 0)
		out_flush(c);
	nghttp2_session_del(c->sess);
	close(c->fd);

	if (!c->done)
		fail("%s", c->err[0] ? c->err : "tunnel ended early");
	if (c->dir == UP) {
		check_reply(c->reply, c->reply_len, c->n);
		out_bytes(c->n, t);
	}
	if (c->dir == DOWN) {
		if (c->got != c->n)
			fail("received %llu of %llu", c->got, c->n);
		out_bytes(c->n, t);
	}
	out_rtt(c->n, t);
}

int main(int argc, char **argv)
{
	signal(SIGALRM, on_alarm);
	alarm(TIMEOUT_SECS);
	signal(SIGPIPE, SIG_IGN); /* a closed peer is an error to report, not a death */
	memset(chunk, 0x61, sizeof chunk);
	memset(msg, 0x62, sizeof msg);

	if (argc < 4)
		fail("usage: tunnel-client up|down|rtt tcp|connect|ext ...");
	struct client c = {.fd = -1};
	if (!strcmp(argv[1], "up"))
		c.dir = UP;
	else if (!strcmp(argv[1], "down"))
		c.dir = DOWN;
	else if (!strcmp(argv[1], "rtt"))
		c.dir = RTT;
	else
		fail("unknown mode %s", argv[1]);
	if (!strcmp(argv[2], "tcp"))
		c.kind = TCP;
	else if (!strcmp(argv[2], "connect"))
		c.kind = CONNECT;
	else if (!strcmp(argv[2], "ext"))
		c.kind = EXT;
	else if (!strcmp(argv[2], "h1connect"))
		c.kind = H1CONNECT;
	else
		fail("unknown kind %s", argv[2]);
	int nidx = c.kind == TCP ? 4 : 5;
	if (argc != nidx + 1)
		fail("usage: tunnel-client %s %s %s", argv[1], argv[2],
		     c.kind == TCP         ? "HOST:PORT COUNT"
		     : c.kind == CONNECT   ? "URL HOST:PORT COUNT"
		     : c.kind == H1CONNECT ? "PROXY:PORT HOST:PORT COUNT"
					   : "URL PATH COUNT");
	char *end;
	errno = 0;
	c.n = strtoull(argv[nidx], &end, 10);
	if (errno || end == argv[nidx] || *end || argv[nidx][0] == '-')
		fail("bad count %s", argv[nidx]);
	c.left = c.n;

	if (c.kind == TCP)
		run_tcp(c.dir, argv[3], NULL, c.n);
	if (c.kind == H1CONNECT)
		run_tcp(c.dir, argv[3], argv[4], c.n);
	if (c.kind == CONNECT)
		c.connect_to = argv[4];
	else
		c.target_path = argv[4];
	run_h2(&c, argv[3]);
}
