#!/usr/bin/env python3
"""dropsecond.py --port P --log FILE

An HTTP/1.1 upstream that answers the first request on each connection
("200 ok conn=N", keep-alive) and closes the connection without a word
when a second request arrives on it: what a server that timed out an idle
keep-alive connection looks like to a proxy that just reused it.  Logs
one line per request: "conn=N req=K answered|dropped".
"""
import argparse
import socket
import threading


def serve(conn, n, log, lock):
    buf = b""
    k = 0
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            _head, buf = buf.split(b"\r\n\r\n", 1)
            k += 1
            with lock:
                with open(log, "a") as f:
                    f.write("conn=%d req=%d %s\n" % (n, k, "answered" if k == 1 else "dropped"))
            if k > 1:
                return
            body = b"ok conn=%d\n" % n
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(64)
    print("READY", a.port, flush=True)
    lock = threading.Lock()
    n = 0
    while True:
        c, _ = srv.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n, a.log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
