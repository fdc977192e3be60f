/*
 * bench/splice_relay.c - is a zero-copy relay of response bodies worth it
 * on this kernel?  What relaying 64 KiB costs, as h2gate does for an h2c
 * response from an HTTP/1.1 upstream (four 16 KiB DATA frames, each after
 * a 9-byte frame header), three ways, over loopback TCP:
 *   0  copy:   one recv of 64 KiB, one sendmsg of the 4 headers + payloads
 *              (what h2gate does);
 *   1  splice: 64 KiB upstream socket -> pipe, then per frame a 9-byte
 *              send(MSG_MORE) and a 16 KiB splice pipe -> client socket;
 *   2  inpipe: frames built in the pipe (9-byte write, 16 KiB spliced in),
 *              then one splice of all of it to the client socket.
 * A sender sendfile()s a 64 KiB file into the upstream socket (as nginx
 * does), a sink reads the client socket; the relay's own user + system
 * time per 64 KiB is printed.
 *   cc -O2 -o /tmp/splice_relay bench/splice_relay.c
 *   for m in 0 1 2; do /tmp/splice_relay $m 100000; done
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#define BLK 65536
#define FR 16384
static void pair(int *a, int *b) {
    int l = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in s = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    bind(l, (void *)&s, sizeof s); socklen_t sl = sizeof s; getsockname(l, (void *)&s, &sl); listen(l, 1);
    *a = socket(AF_INET, SOCK_STREAM, 0); connect(*a, (void *)&s, sizeof s); *b = accept(l, 0, 0); close(l);
    int one = 1; setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, 4); setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, 4);
}
int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: splice_relay 0|1|2 COUNT\n"); return 2; }
    int mode = atoi(argv[1]); long n = atol(argv[2]);
    char path[] = "/tmp/relayXXXXXX"; int f = mkstemp(path); char *buf = malloc(BLK); memset(buf, 'b', BLK); write(f, buf, BLK); unlink(path);
    int a_send, a_recv, b_send, b_recv; pair(&a_send, &a_recv); pair(&b_send, &b_recv);
    if (fork() == 0) { for (long i = 0; i < n; i++) { off_t o = 0; size_t left = BLK; while (left) { ssize_t w = sendfile(a_send, f, &o, left); if (w <= 0) _exit(1); left -= w; } } _exit(0); }
    if (fork() == 0) { char *r = malloc(1 << 20); long tot = 0, want = n * (BLK + 4 * 9); while (tot < want) { ssize_t k = read(b_recv, r, 1 << 20); if (k <= 0) _exit(1); tot += k; } _exit(0); }
    close(a_send); close(b_recv);
    int p[2]; pipe(p); fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
    unsigned char hd[9] = {0x00, 0x40, 0x00, 0, 0, 0, 0, 0, 1};
    struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
    for (long i = 0; i < n; i++) {
        if (mode == 0) { /* copy: one recv of 64K, one sendmsg of 4 x (hdr + 16K) */
            size_t got = 0; while (got < BLK) { ssize_t k = recv(a_recv, buf + got, BLK - got, 0); if (k <= 0) return 1; got += k; }
            struct iovec v[8]; for (int j = 0; j < 4; j++) { v[2*j].iov_base = hd; v[2*j].iov_len = 9; v[2*j+1].iov_base = buf + j * FR; v[2*j+1].iov_len = FR; }
            struct msghdr m = {.msg_iov = v, .msg_iovlen = 8};
            /* blocking socket: sendmsg returns once all of it is queued */
            if (sendmsg(b_send, &m, 0) != BLK + 36) return 1;
        } else if (mode == 2) { /* frames built in the pipe: hdr written, 16K spliced in; one splice out */
            for (int j = 0; j < 4; j++) {
                if (write(p[1], hd, 9) != 9) return 1;
                size_t got = 0; while (got < FR) { ssize_t k = splice(a_recv, 0, p[1], 0, FR - got, SPLICE_F_MOVE); if (k <= 0) return 1; got += k; }
            }
            size_t left = BLK + 36; while (left) { ssize_t w = splice(p[0], 0, b_send, 0, left, SPLICE_F_MOVE); if (w <= 0) return 1; left -= w; }
        } else { /* splice: 64K socket -> pipe, then 4 x (send hdr MSG_MORE, splice 16K pipe -> socket) */
            size_t got = 0; while (got < BLK) { ssize_t k = splice(a_recv, 0, p[1], 0, BLK - got, SPLICE_F_MOVE); if (k <= 0) return 1; got += k; }
            for (int j = 0; j < 4; j++) {
                if (send(b_send, hd, 9, MSG_MORE) != 9) return 1;
                size_t left = FR; while (left) { ssize_t w = splice(p[0], 0, b_send, 0, left, SPLICE_F_MOVE | (j < 3 ? SPLICE_F_MORE : 0)); if (w <= 0) return 1; left -= w; }
            }
        }
    }
    getrusage(RUSAGE_SELF, &r1);
    double us = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e6 + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec);
    double sy = (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    printf("%s: user %.2f sys %.2f total %.2f us per 64 KiB\n", mode == 2 ? "inpipe" : mode ? "splice" : "copy  ", us / n, sy / n, (us + sy) / n);
    close(b_send); close(a_recv); wait(0); wait(0); return 0;
}
