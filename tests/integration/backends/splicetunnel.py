#!/usr/bin/python3
"""HTTP/1.1 CONNECT clients for the splice tunnel test (111).  Each opens
a raw socket (TLS with --tls, certificate not checked) to 127.0.0.1:PORT,
sends "CONNECT TARGET HTTP/1.1", reads the response head and, on 2xx,
prints one JSON object {status, ...} when done.

  splicetunnel.py bulk PORT TARGET --bytes N [--tls]
      to a tcpserver.py echo target: sends N random bytes while reading
      their echo (two threads, so neither side's buffers deadlock; with
      --tls in lock step, 64 KiB at a time), then
      half-closes and reads to EOF (the target's "BYE BYTES SHA256").
      {sent, sent_sha256, received, received_sha256, after_end}
  splicetunnel.py later PORT TARGET --bytes N
      to a "later" target: sends "GO\\n", reads to EOF (the target's
      "HELLO n" and its half-close), THEN sends N bytes and half-closes,
      and waits for h2gate to close the connection.
      {greeting, sent, sent_sha256, closed}
  splicetunnel.py download PORT TARGET --bytes N --pid PID --stall S
      to a "source" target: reads nothing for S seconds (VmRSS of PID
      before and after: growth_kb), then reads to EOF.
      {growth_kb, received, received_sha256}
  splicetunnel.py upload PORT TARGET --bytes N --pid PID --stall S --release F
      to a "stall" target: sends for S seconds (the target reads nothing),
      VmRSS growth of PID meanwhile, then creates F (the target reads on),
      sends the rest of N, half-closes, reads to EOF.
      {growth_kb, sent, stalled_sent}
  splicetunnel.py queued PORT TARGET --get PATH --stall S
      on one connection, "GET PATH" and then CONNECT to a "source"
      target, sent at once; reads nothing for S seconds (the GET's
      response fills the socket, so the tunnel's head waits behind it),
      then reads the GET's response, the CONNECT's head and the tunnel
      to EOF.  {get_status, get_bytes, status, received, received_sha256}
  splicetunnel.py idle PORT TARGET
      sends "hello\\n", then nothing; waits (up to 15 s) for h2gate to
      close: {closed}
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h1tunnel import recv_head  # noqa: E402


def out(d):
    print(json.dumps(d))
    sys.exit(0)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_tunnel(a, res):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=30)
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        s = ctx.wrap_socket(s)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a.target.encode(), a.target.encode()))
    head, rest = recv_head(s)
    line = head.split("\r\n", 1)[0].split(" ")
    res["status"] = int(line[1]) if len(line) > 1 and line[1].isdigit() else None
    if res["status"] is None or not 200 <= res["status"] < 300:
        out(res)
    return s, rest


def read_to_eof(s, first=b""):
    """Everything until EOF (small answers), as bytes."""
    got = bytearray(first)
    while True:
        d = s.recv(65536)
        if not d:
            return bytes(got)
        got += d


def count_to_eof(s, first, h):
    """Bulk until EOF: hashed into h, counted."""
    total = len(first)
    h.update(first)
    while True:
        d = s.recv(262144)
        if not d:
            return total
        total += len(d)
        h.update(d)


def bulk(a, res):
    s, rest = open_tunnel(a, res)
    data = os.urandom(a.bytes)
    res["sent"] = len(data)
    res["sent_sha256"] = hashlib.sha256(data).hexdigest()
    got = bytearray(rest)

    def send():
        s.sendall(data)

    def receive(upto):
        while len(got) < upto:
            d = s.recv(262144)
            if not d:
                break
            got.extend(d)

    if a.tls:
        # An SSL socket is not to be used from two threads: lock step,
        # each 64 KiB echoed before the next.
        for off in range(0, len(data), 65536):
            s.sendall(data[off:off + 65536])
            receive(min(off + 65536, len(data)))
    else:
        t = threading.Thread(target=send)
        t.start()
        receive(len(data))
        t.join()
    res["received"] = min(len(got), len(data))
    res["received_sha256"] = hashlib.sha256(bytes(got[:len(data)])).hexdigest()
    s.shutdown(socket.SHUT_WR)
    res["after_end"] = read_to_eof(s, bytes(got[len(data):])).decode("latin-1").strip()
    s.close()


def queued(a, res):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # the GET fills it
    s.settimeout(30)
    s.connect(("127.0.0.1", a.port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
              b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
              % (a.get.encode(), a.target.encode(), a.target.encode()))
    time.sleep(a.stall)
    head, rest = recv_head(s)
    res["get_status"] = int(head.split(" ", 2)[1])
    n = int([ln.split(":", 1)[1] for ln in head.split("\r\n")
             if ln.lower().startswith("content-length:")][0])
    while len(rest) < n:
        d = s.recv(262144)
        if not d:
            break
        rest += d
    res["get_bytes"] = min(len(rest), n)
    head, rest = recv_head(s, rest[n:])
    line = head.split("\r\n", 1)[0].split(" ")
    res["status"] = int(line[1]) if len(line) > 1 and line[1].isdigit() else None
    h = hashlib.sha256()
    res["received"] = count_to_eof(s, rest, h)
    res["received_sha256"] = h.hexdigest()
    s.close()


def later(a, res):
    s, rest = open_tunnel(a, res)
    s.sendall(b"GO\n")
    res["greeting"] = read_to_eof(s, rest).decode("latin-1").strip()
    data = os.urandom(a.bytes)
    res["sent"] = len(data)
    res["sent_sha256"] = hashlib.sha256(data).hexdigest()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        res["closed"] = s.recv(1) == b""
    except OSError as e:
        res["closed"] = "%s" % e
    s.close()


def download(a, res):
    s, rest = open_tunnel(a, res)
    before = rss_kb(a.pid)
    time.sleep(a.stall)
    res["growth_kb"] = rss_kb(a.pid) - before
    h = hashlib.sha256()
    res["received"] = count_to_eof(s, rest, h)
    res["received_sha256"] = h.hexdigest()
    s.close()


def upload(a, res):
    s, _ = open_tunnel(a, res)
    chunk = os.urandom(65536)
    before = rss_kb(a.pid)
    sent = 0
    s.setblocking(False)
    deadline = time.monotonic() + a.stall
    while time.monotonic() < deadline and sent < a.bytes:
        try:
            sent += s.send(chunk[:min(len(chunk), a.bytes - sent)])
        except BlockingIOError:
            time.sleep(0.01)
    res["growth_kb"] = rss_kb(a.pid) - before
    res["stalled_sent"] = sent
    open(a.release, "w").close()
    s.setblocking(True)
    s.settimeout(30)
    while sent < a.bytes:
        sent += s.send(chunk[:min(len(chunk), a.bytes - sent)])
    res["sent"] = sent
    s.shutdown(socket.SHUT_WR)
    read_to_eof(s)
    s.close()


def idle(a, res):
    s, _ = open_tunnel(a, res)
    s.sendall(b"hello\n")
    s.settimeout(15)
    try:
        res["closed"] = s.recv(1) == b""
    except OSError as e:
        res["closed"] = "%s" % e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["bulk", "later", "download", "upload", "idle", "queued"])
    ap.add_argument("port", type=int)
    ap.add_argument("target")
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--stall", type=float, default=2)
    ap.add_argument("--release")
    ap.add_argument("--get")
    a = ap.parse_args()
    res = {}
    try:
        globals()[a.mode](a, res)
    except OSError as e:  # reported, the test decides
        res["error"] = "%s: %s" % (type(e).__name__, e)
    out(res)


if __name__ == "__main__":
    main()
