#!/usr/bin/python3
"""Raw TCP target for the h2gate tunnel tests and the tunnel benchmark.

  tcpserver.py --port N --mode MODE [--log FILE] [--bytes N] [--until FILE]

One thread per connection.  Every accepted connection is logged as
"ACCEPT n HOST:PORT" (flushed at once), so a test can prove that a refused
CONNECT never reached the target.  Modes:

  echo      echo every byte back as it arrives; on EOF from the peer log
            "EOF n BYTES SHA256", send the line "BYE BYTES SHA256\\n" (what
            was received), then shutdown(SHUT_WR) and close after the
            peer's close: both directions of half-close are visible.
  first     (the target half-closes first) send "HELLO n\\n", then
            shutdown(SHUT_WR) at once, then read until EOF and log
            "EOF n BYTES SHA256".
  later     (the target half-closes first, once the tunnel carries bytes)
            read until the line "GO\\n", then as "first": send "HELLO n\\n",
            shutdown(SHUT_WR), read until EOF and log "EOF n BYTES
            SHA256" (the bytes after "GO\\n").
  reset     read the first chunk, log "RESET n", then close with SO_LINGER
            0 (a TCP RST to the proxy).
  source    send --bytes bytes of the 64-byte pattern (as fast as the
            socket takes them), log "SENT n BYTES", then close.
  sink      read and discard until EOF, log "EOF n BYTES SHA256" (sha is
            "-" when --bytes is given as 0 to save CPU, e.g. in the bench),
            then send "BYTES\\n" and close.
  hold      accept and keep the connection open without writing; read
            and discard; log "EOF n" on EOF.
  stall     never read (the socket's receive buffer fills, the sender is
            blocked) until the file --until exists, then read and discard
            to EOF and log "EOF n BYTES".

--ready FILE: written once listening.  Ctrl-C / SIGTERM stops it.
"""
import argparse
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time

PATTERN = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-\n"  # 64
BLOCK = PATTERN * 4096  # 256 KiB

_lock = threading.Lock()
_logf = None
_count = 0


def log(line):
    if _logf is None:
        return
    with _lock:
        _logf.write(line + "\n")
        _logf.flush()


def read_all(c, n, hashing=True, first=b""):
    h = hashlib.sha256(first) if hashing else None
    total = len(first)
    buf = bytearray(262144)
    while True:
        k = c.recv_into(buf)
        if k == 0:
            break
        total += k
        if h:
            h.update(memoryview(buf)[:k])
    return total, (h.hexdigest() if h else "-")


def serve(c, n, a):
    try:
        if a.mode == "echo":
            h = hashlib.sha256()
            total = 0
            while True:
                d = c.recv(262144)
                if not d:
                    break
                total += len(d)
                h.update(d)
                c.sendall(d)
            log("EOF %d %d %s" % (n, total, h.hexdigest()))
            c.sendall(b"BYE %d %s\n" % (total, h.hexdigest().encode()))
            c.shutdown(socket.SHUT_WR)
            c.settimeout(30)
            while c.recv(65536):
                pass
        elif a.mode == "first":
            c.sendall(b"HELLO %d\n" % n)
            c.shutdown(socket.SHUT_WR)
            log("SHUT_WR %d" % n)
            total, sha = read_all(c, n)
            log("EOF %d %d %s" % (n, total, sha))
        elif a.mode == "later":
            buf = b""
            for d in iter(lambda: c.recv(65536), b""):
                buf += d
                if b"GO\n" in buf:
                    break
            rest = buf.partition(b"GO\n")[2]
            c.sendall(b"HELLO %d\n" % n)
            c.shutdown(socket.SHUT_WR)
            log("SHUT_WR %d" % n)
            total, sha = read_all(c, n, first=rest)
            log("EOF %d %d %s" % (n, total, sha))
        elif a.mode == "reset":
            d = c.recv(65536)
            log("RESET %d %d" % (n, len(d)))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif a.mode == "source":
            left = a.bytes
            mv = memoryview(BLOCK)
            while left > 0:
                k = min(left, len(BLOCK))
                c.sendall(mv[:k])
                left -= k
            log("SENT %d %d" % (n, a.bytes))
            c.shutdown(socket.SHUT_WR)
            c.settimeout(30)
            while c.recv(65536):
                pass
        elif a.mode == "sink":
            total, sha = read_all(c, n, hashing=a.bytes != 0)
            log("EOF %d %d %s" % (n, total, sha))
            c.sendall(b"%d\n" % total)
        elif a.mode == "stall":
            while not (a.until and os.path.exists(a.until)):
                time.sleep(0.05)
            total, _ = read_all(c, n, hashing=False)
            log("EOF %d %d" % (n, total))
        elif a.mode == "hold":
            while c.recv(65536):
                pass
            log("EOF %d" % n)
    except OSError as e:
        log("ERROR %d %s" % (n, e))
    finally:
        try:
            c.close()
        except OSError:
            pass


def main():
    global _logf, _count
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--mode", default="echo",
                    choices=["echo", "first", "later", "reset", "source", "sink", "hold", "stall"])
    ap.add_argument("--until", help="stall: the file that ends the stall")
    ap.add_argument("--bytes", type=int, default=-1)
    ap.add_argument("--log")
    ap.add_argument("--ready")
    a = ap.parse_args()
    if a.mode == "source" and a.bytes < 0:
        ap.error("--mode source needs --bytes")
    if a.log:
        _logf = open(a.log, "a")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.host, a.port))
    s.listen(128)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % a.port)
    print("READY %s %d" % (a.mode, a.port), flush=True)
    while True:
        c, peer = s.accept()
        _count += 1
        log("ACCEPT %d %s:%d" % (_count, peer[0], peer[1]))
        threading.Thread(target=serve, args=(c, _count, a), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
