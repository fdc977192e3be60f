#!/usr/bin/python3
"""A client behind an L4 balancer: a PROXY protocol header, then one GET.

  proxyclient.py --port P [--tls] [--proto h1|h2] --header KIND [--path /x]
                 [--src ADDR] [--sport N] [--hold S]

KIND: v1, v1-unknown, v2, v2-tlv, v2-local, none (no header), garbage
(bytes that are no header), partial (the first 10 bytes of a v2 header,
then nothing: prints "closed" and the seconds it took once h2gate closes,
waiting at most --hold seconds), "plain-proxy" (a v1 header sent to a
listener without proxy_protocol: the HTTP/1.1 response's status line).
Prints the response body (h1: after the head; h2: the DATA of stream 1),
or "closed" when the connection ended without a response.  --src is the
address the header carries (IPv6 when it holds a ':').
"""
import argparse
import socket
import ssl
import struct
import sys
import time

SIG = b"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"


def header(a):
    v6 = ":" in a.src
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    dst = "::1" if v6 else "127.0.0.1"
    if a.header == "v1":
        return b"PROXY TCP%d %s %s %d %d\r\n" % (6 if v6 else 4, a.src.encode(), dst.encode(), a.sport, a.port)
    if a.header == "v1-unknown":
        return b"PROXY UNKNOWN\r\n"
    if a.header in ("v2", "v2-tlv"):
        body = socket.inet_pton(fam, a.src) + socket.inet_pton(fam, dst) + struct.pack(">HH", a.sport, a.port)
        if a.header == "v2-tlv":
            body += b"\x01\x00\x02h2" + b"\x04\x00\x05zzzzz" + b"\x05\x00\x00"
        return SIG + bytes([0x21, 0x21 if v6 else 0x11]) + struct.pack(">H", len(body)) + body
    if a.header == "v2-local":
        return SIG + b"\x20\x00\x00\x00"
    if a.header == "garbage":
        return b"PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n"
    return b""


def h1_get(s, path, pre, status_only=False):
    s.sendall(pre + b"GET %s HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n" % path.encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0] if status_only or body == b"" else body


def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def lit(name, value):
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def h2_get(s, path, scheme, pre):
    hb = lit(b":method", b"GET") + lit(b":scheme", scheme) + lit(b":path", path.encode()) + \
        lit(b":authority", b"a.test")
    s.sendall(pre + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 5, 1, hb))
    buf, body = b"", b""
    while True:
        d = s.recv(65536)
        if not d:
            return body or None
        buf += d
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            t, fl, sid, pl = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]
            buf = buf[9 + n:]
            if t == 4 and not fl & 1:
                s.sendall(frame(4, 1, 0, b""))
            if t == 0 and sid == 1:
                body += pl
                if fl & 1:
                    return body
            if t == 7 or (t == 3 and sid == 1):
                return body or None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--proto", choices=["h1", "h2"], default="h1")
    ap.add_argument("--header", required=True)
    ap.add_argument("--path", default="/echo-headers")
    ap.add_argument("--src", default="192.0.2.7")
    ap.add_argument("--sport", type=int, default=56324)
    ap.add_argument("--hold", type=float, default=10.0)
    a = ap.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.hold)
    if a.header == "partial":
        s.sendall((SIG + b"\x21\x11\x00\x0c")[:10])
        t0 = time.monotonic()
        try:
            closed = s.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            closed = False
        print("closed %.1f" % (time.monotonic() - t0) if closed else "open")
        return
    hdr = b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n" if a.header == "plain-proxy" else header(a)
    try:
        if a.tls:
            # The header goes first on the raw socket, the ClientHello after it.
            s.sendall(hdr)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2" if a.proto == "h2" else "http/1.1"])
            s = ctx.wrap_socket(s, server_hostname="a.test")
            pre = b""
        else:
            pre = hdr
        # Cleartext: the header and the request in one write; h2gate must
        # not take the request for part of the header.
        if a.proto == "h2":
            out = h2_get(s, a.path, b"https" if a.tls else b"http", pre)
        else:
            out = h1_get(s, a.path, pre, a.header == "plain-proxy")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
        out = None
    sys.stdout.write("closed\n" if out is None else out.decode(errors="replace").rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
