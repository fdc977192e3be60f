/*
 * relay-floor.c: what the kernel alone charges a relay that moves a bulk
 * download from one loopback TCP socket to another, by how the bytes
 * move.  No HTTP/2 library, no event loop, no parsing: the lower bound
 * for any proxy's "CONNECT down" (bench/tunnel) on this machine.
 *
 *   relay-floor MODE BYTES [FRAMES]
 *
 * A source process writes BYTES to the relay as fast as it can, the
 * relay moves them to a sink process, the sink reads and drops them.
 * The source and sink run on CPU 0, the relay on CPU 1 (when there are
 * two).  Printed: the relay's own CPU (user + system, getrusage) per GiB.
 *
 * Modes (h2: what an HTTP/2 proxy must send, DATA frames of 16 KiB, the
 * default SETTINGS_MAX_FRAME_SIZE, each behind its 9-byte header):
 *   copy      readv FRAMES (default 8) frames' worth into frame
 *             buffers, one writev with the headers between them (what
 *             h2gate's tunnel does, in batches of 32 frames)
 *   splice    raw bytes, no framing: splice(2) socket -> pipe -> socket
 *             (h2gate's HTTP/1.1 tunnels between cleartext sockets)
 *   framed    splice in, then per frame send(header, MSG_MORE) and
 *             splice(payload) out
 *   corked    as framed, the frames of one pipeful under TCP_CORK
 *   staged    per frame write(header) into the pipe and splice the
 *             payload in after it; the pipe goes out in big splices
 *
 * Used by bench/relay-floor (the script); built by it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME 16384
#define MAX_FRAMES_PER_READ 64
#define PIPE_BYTES (1 << 20)

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
        sched_setaffinity(0, sizeof set, &set);
}

static int listen_any(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        die("listen");
    *port = ntohs(a.sin_port);
    return s;
}

/* The source (sends BYTES) or the sink (reads to EOF), in a child. */
static pid_t end_process(int port, long long bytes, bool source)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    pin(0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    static char buf[256 * 1024];
    for (long long n = 0; source ? n < bytes : 1;) {
        ssize_t r = source ? write(s, buf, sizeof buf) : read(s, buf, sizeof buf);
        if (r <= 0)
            break;
        n += r;
    }
    _exit(0);
}

static void wait_for(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    poll(&p, 1, -1);
}

static void frame_header(unsigned char h[9], size_t len)
{
    memset(h, 0, 9);
    h[0] = (unsigned char)(len >> 16);
    h[1] = (unsigned char)(len >> 8);
    h[2] = (unsigned char)len;
    h[8] = 1; /* DATA on stream 1 */
}

/* Writes all of iov[0..n) to fd. */
static void write_all(int fd, struct iovec *iov, int n)
{
    for (int i = 0; i < n;) {
        ssize_t w = writev(fd, iov + i, n - i);
        if (w < 0 && errno == EAGAIN) {
            wait_for(fd, POLLOUT);
            continue;
        }
        if (w < 0)
            die("writev");
        for (; i < n && (size_t)w >= iov[i].iov_len; i++)
            w -= (ssize_t)iov[i].iov_len;
        if (i < n) {
            iov[i].iov_base = (char *)iov[i].iov_base + w;
            iov[i].iov_len -= (size_t)w;
        }
    }
}

static void send_all(int fd, const unsigned char *p, size_t len, int flags)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, flags);
        if (w < 0 && errno == EAGAIN) {
            wait_for(fd, POLLOUT);
            continue;
        }
        if (w <= 0)
            die("send");
        p += w;
        len -= (size_t)w;
    }
}

/* Splices exactly len bytes from the pipe to fd. */
static void splice_out(int pipe_r, int fd, size_t len, unsigned flags)
{
    while (len > 0) {
        ssize_t w = splice(pipe_r, NULL, fd, NULL, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE | flags);
        if (w < 0 && errno == EAGAIN) {
            wait_for(fd, POLLOUT);
            continue;
        }
        if (w <= 0)
            die("splice out");
        len -= (size_t)w;
    }
}

/* Splices what src has, up to max, into the pipe; 0 at EOF. */
static size_t splice_in(int src, int pipe_w, size_t max)
{
    for (;;) {
        ssize_t r = splice(src, NULL, pipe_w, NULL, max, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (r < 0 && errno == EAGAIN) {
            wait_for(src, POLLIN);
            continue;
        }
        if (r < 0)
            die("splice in");
        return (size_t)r;
    }
}

static long long relay_copy(int src, int dst, int frames)
{
    static unsigned char buf[MAX_FRAMES_PER_READ][9 + FRAME];
    long long moved = 0;
    for (;;) {
        struct iovec in[MAX_FRAMES_PER_READ], out[MAX_FRAMES_PER_READ];
        for (int i = 0; i < frames; i++)
            in[i] = (struct iovec){buf[i] + 9, FRAME};
        ssize_t r = readv(src, in, frames);
        if (r < 0 && errno == EAGAIN) {
            wait_for(src, POLLIN);
            continue;
        }
        if (r <= 0)
            return moved;
        int n = 0;
        for (size_t left = (size_t)r; left > 0; n++) {
            size_t k = left < FRAME ? left : FRAME;
            frame_header(buf[n], k);
            out[n] = (struct iovec){buf[n], 9 + k};
            left -= k;
        }
        write_all(dst, out, n);
        moved += r;
    }
}

static long long relay_splice(int src, int dst, int pipe_r, int pipe_w)
{
    long long moved = 0;
    size_t n;
    while ((n = splice_in(src, pipe_w, PIPE_BYTES)) > 0) {
        splice_out(pipe_r, dst, n, 0);
        moved += (long long)n;
    }
    return moved;
}

static long long relay_framed(int src, int dst, int pipe_r, int pipe_w, bool cork)
{
    long long moved = 0;
    size_t n;
    int on = 1, off = 0;
    while ((n = splice_in(src, pipe_w, PIPE_BYTES)) > 0) {
        if (cork)
            setsockopt(dst, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        for (size_t left = n; left > 0;) {
            size_t k = left < FRAME ? left : FRAME;
            unsigned char h[9];
            frame_header(h, k);
            send_all(dst, h, 9, cork ? 0 : MSG_MORE);
            splice_out(pipe_r, dst, k, left > k ? SPLICE_F_MORE : 0);
            left -= k;
        }
        if (cork)
            setsockopt(dst, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        moved += (long long)n;
    }
    return moved;
}

static long long relay_staged(int src, int dst, int pipe_r, int pipe_w)
{
    long long moved = 0;
    size_t held = 0;
    for (;;) {
        int avail = 0;
        if (ioctl(src, FIONREAD, &avail) != 0 || avail == 0) {
            splice_out(pipe_r, dst, held, 0);
            held = 0;
            wait_for(src, POLLIN);
            char c;
            if (recv(src, &c, 1, MSG_PEEK) == 0)
                return moved;
            continue;
        }
        size_t k = (size_t)avail < FRAME ? (size_t)avail : FRAME;
        unsigned char h[9];
        frame_header(h, k);
        if (write(pipe_w, h, 9) != 9) { /* full: empty it, the frame goes on after */
            splice_out(pipe_r, dst, held, 0);
            held = 0;
            if (write(pipe_w, h, 9) != 9)
                die("pipe write");
        }
        held += 9;
        for (size_t left = k; left > 0;) {
            ssize_t r = splice(src, NULL, pipe_w, NULL, left, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
            if (r > 0) {
                left -= (size_t)r;
                held += (size_t)r;
            } else if (r < 0 && errno == EAGAIN) { /* the pipe is full: FIONREAD said the bytes are there */
                splice_out(pipe_r, dst, held, 0);
                held = 0;
            } else {
                die("splice in");
            }
        }
        moved += (long long)k;
        if (held >= PIPE_BYTES / 2) {
            splice_out(pipe_r, dst, held, 0);
            held = 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: relay-floor copy|splice|framed|corked|staged BYTES [FRAMES]\n");
        return 2;
    }
    const char *mode = argv[1];
    long long bytes = atoll(argv[2]);
    int frames = argc == 4 ? atoi(argv[3]) : 8;
    if (frames < 1 || frames > MAX_FRAMES_PER_READ) {
        fprintf(stderr, "relay-floor: FRAMES is 1..%d\n", MAX_FRAMES_PER_READ);
        return 2;
    }
    int src_port, dst_port;
    int ls = listen_any(&src_port), ld = listen_any(&dst_port);
    pid_t sink = end_process(dst_port, bytes, false);
    pid_t source = end_process(src_port, bytes, true);
    pin(1);
    int src = accept(ls, NULL, NULL), dst = accept(ld, NULL, NULL);
    int p[2];
    if (src < 0 || dst < 0 || pipe2(p, O_NONBLOCK) != 0)
        die("accept");
    fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    fcntl(src, F_SETFL, O_NONBLOCK);
    fcntl(dst, F_SETFL, O_NONBLOCK);
    long long moved;
    if (strcmp(mode, "copy") == 0)
        moved = relay_copy(src, dst, frames);
    else if (strcmp(mode, "splice") == 0)
        moved = relay_splice(src, dst, p[0], p[1]);
    else if (strcmp(mode, "framed") == 0 || strcmp(mode, "corked") == 0)
        moved = relay_framed(src, dst, p[0], p[1], mode[0] == 'c');
    else if (strcmp(mode, "staged") == 0)
        moved = relay_staged(src, dst, p[0], p[1]);
    else {
        fprintf(stderr, "relay-floor: unknown mode %s\n", mode);
        return 2;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    close(dst);
    waitpid(source, NULL, 0);
    waitpid(sink, NULL, 0);
    double user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    double gib = (double)moved / (1 << 30);
    if (moved != bytes) {
        fprintf(stderr, "relay-floor: moved %lld of %lld bytes\n", moved, bytes);
        return 1;
    }
    char name[32];
    if (strcmp(mode, "copy") == 0)
        snprintf(name, sizeof name, "copy/%d", frames);
    else
        snprintf(name, sizeof name, "%s", mode);
    printf("%-8s %.3f s/GiB (user %.3f, system %.3f)\n", name, (user + sys) / gib, user / gib, sys / gib);
    return 0;
}
