#!/usr/bin/python3
"""Targets for bench/tunnel (run with /usr/bin/python3).

  tunnel-backend.py --port N --mode MODE [--bytes N]

  sink          raw TCP: read and discard to EOF (or until --bytes came:
                a half-close need not reach it), answer "BYTES\\n", close
  source        raw TCP: send --bytes bytes, close
  upgrade-sink  HTTP/1.1 "Upgrade: websocket" -> 101 (correct
                Sec-WebSocket-Accept), then like sink (the proxies bridge
                bytes, they do not parse WebSocket frames)
  upgrade-source  101, then like source
  upgrade-echo  101, then echo every byte back (round-trip test)
  echo          raw TCP echo

One thread per connection; prints READY when listening.
"""
import argparse
import base64
import hashlib
import socket
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BLOCK = bytes(range(256)) * 1024  # 256 KiB


def upgrade(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    key = b""
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"sec-websocket-key":
            key = v.strip()
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    return rest


def serve(c, a):
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = a.mode
        rest = b""
        if mode.startswith("upgrade-"):
            rest = upgrade(c)
            if rest is None:
                return
            mode = mode[len("upgrade-"):]
        if mode == "sink":
            total = len(rest)
            buf = bytearray(1 << 20)
            while not (a.bytes and total >= a.bytes):
                k = c.recv_into(buf)
                if k == 0:
                    break
                total += k
            c.sendall(b"%d\n" % total)
        elif mode == "source":
            left = a.bytes
            mv = memoryview(BLOCK)
            while left > 0:
                k = min(left, len(BLOCK))
                c.sendall(mv[:k])
                left -= k
        elif mode == "echo":
            if rest:
                c.sendall(rest)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        try:
            c.shutdown(socket.SHUT_WR)
            c.settimeout(10)
            while c.recv(65536):
                pass
        except OSError:
            pass
    except OSError:
        pass
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=["sink", "source", "echo", "upgrade-sink", "upgrade-source", "upgrade-echo"])
    ap.add_argument("--bytes", type=int, default=0)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(128)
    print("READY %s %d" % (a.mode, a.port), flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
