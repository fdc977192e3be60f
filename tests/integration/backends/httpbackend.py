#!/usr/bin/python3
"""HTTP/1.1 test backend for the h2gate integration tests.

Usage:
  httpbackend.py --port N [--name NAME] [--log FILE] [--ready FILE]
  httpbackend.py --sha N      print the sha256 of the N-byte /size/N body
  httpbackend.py --gen N      write the N-byte /size/N body to stdout

Every response carries "X-Backend: NAME".  Endpoints:
  GET  /size/N          N bytes of the pattern, Content-Length
  GET  /chunked/N       same bytes, Transfer-Encoding: chunked
  GET  /close[?n=N]     N (default 1000) bytes, close-delimited, Connection: close
  GET  /trailers        chunked body + trailers x-checksum, x-trailer-two
  *    /echo-headers    200 JSON: request line, headers as received, trailers,
                        body length and sha256
  POST /sha256          "sha256=HEX bytes=N\n" of the request body
  *    /early           413 at once, before the body is read (which is then
                        read and dropped)
  GET  /slow?ms=N       waits N ms, then 200 "slow N\n"
                        (&framing=close: no length, the close ends the body)
  GET  /status/N        that status ("status N\n" body, none for 1xx/204/304)
  GET  /count           "count=N\n": requests served before this one
                        (/count itself not counted)
  *    anything else    200 "backend=NAME path=PATH\n"
With --tls-cert/--tls-key it serves TLS (ALPN http/1.1), and with
--tls-ca it requires a client certificate signed by that CA; each TLS
connection logs "CONN tls resumed=0|1 subject=..." (the client's
certificate subject, or -).
"Expect: 100-continue" is answered with "HTTP/1.1 100 Continue" before the
body is read.  Keep-alive is the HTTP/1.1 default.
"""
import argparse
import asyncio
import hashlib
import json
import os
import socket
import sys
import urllib.parse

PATTERN = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-\n"  # 64
BLOCK = PATTERN * 1024  # 64 KiB, multiple of the pattern length
BLOCK2 = BLOCK + PATTERN

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content",
    206: "Partial Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 418: "I'm a teapot",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}


def pattern_chunks(n, chunk=len(BLOCK)):
    """Yield the first n bytes of the infinite pattern in pieces <= chunk."""
    off = 0
    chunk = min(chunk, len(BLOCK))
    while n > 0:
        k = min(n, chunk)
        s = off % len(PATTERN)
        yield BLOCK2[s:s + k]
        off += k
        n -= k


def pattern_sha(n):
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    return h.hexdigest()


class BadRequest(Exception):
    pass


class Backend:
    def __init__(self, name, logfile):
        self.name = name
        self.count = 0
        self.log = open(logfile, "a", buffering=1) if logfile else None

    def logline(self, s):
        if self.log:
            self.log.write(s + "\n")

    async def read_line(self, reader, limit=65536):
        line = await reader.readuntil(b"\n")
        if len(line) > limit:
            raise BadRequest("line too long")
        return line

    async def read_headers(self, reader):
        headers = []
        total = 0
        while True:
            line = await self.read_line(reader)
            total += len(line)
            if total > 256 * 1024:
                raise BadRequest("headers too big")
            if line in (b"\r\n", b"\n"):
                return headers
            s = line.decode("latin-1").rstrip("\r\n")
            if ":" not in s:
                raise BadRequest("bad header line %r" % s)
            n, v = s.split(":", 1)
            headers.append([n, v.strip(" \t")])

    async def body_chunks(self, reader, headers):
        """Async generator of request body chunks; fills self.req_trailers."""
        te = ",".join(v for n, v in headers if n.lower() == "transfer-encoding").lower()
        cl = [v for n, v in headers if n.lower() == "content-length"]
        if te:
            if te.strip().split(",")[-1].strip() != "chunked":
                raise BadRequest("unsupported transfer-encoding")
            while True:
                line = await self.read_line(reader)
                size_s = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_s, 16)
                except ValueError:
                    raise BadRequest("bad chunk size %r" % line)
                if size == 0:
                    self.req_trailers = await self.read_headers(reader)
                    return
                left = size
                while left > 0:
                    data = await reader.read(min(left, 65536))
                    if not data:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(data)
                    yield data
                crlf = await self.read_line(reader)
                if crlf.strip():
                    raise BadRequest("missing CRLF after chunk")
        elif cl:
            if len(set(x.strip() for x in cl)) != 1:
                raise BadRequest("conflicting content-length")
            left = int(cl[0])
            while left > 0:
                data = await reader.read(min(left, 65536))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                yield data

    async def handle(self, reader, writer):
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = writer.get_extra_info("ssl_object")
            if tls is not None:
                peer = tls.getpeercert()
                subject = ",".join("%s=%s" % kv for rdn in peer.get("subject", ()) for kv in rdn) if peer else "-"
                self.logline("CONN tls resumed=%d subject=%s" % (int(tls.session_reused), subject or "-"))
            while True:
                try:
                    line = await self.read_line(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if line in (b"\r\n", b"\n"):
                    continue  # tolerate a stray CRLF between requests
                parts = line.decode("latin-1").rstrip("\r\n").split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    raise BadRequest("bad request line %r" % line)
                method, target, version = parts
                headers = await self.read_headers(reader)
                keep = await self.respond(reader, writer, method, target, version, headers)
                if not keep:
                    return
        except BadRequest as e:
            self.logline("BAD %s" % e)
            try:
                body = ("bad request: %s\n" % e).encode()
                writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
            except Exception:
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def head(self, status, headers, version="HTTP/1.1"):
        out = ["%s %d %s" % ("HTTP/1.1", status, REASONS.get(status, "Status"))]
        out.append("X-Backend: %s" % self.name)
        for n, v in headers:
            out.append("%s: %s" % (n, v))
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    async def respond(self, reader, writer, method, target, version, headers):
        hl = {}
        for n, v in headers:
            hl.setdefault(n.lower(), []).append(v)
        conn_tokens = ",".join(hl.get("connection", [])).lower()
        keep = version == "HTTP/1.1" and "close" not in conn_tokens
        if version == "HTTP/1.0" and "keep-alive" in conn_tokens:
            keep = True
        url = urllib.parse.urlsplit(target)
        path = url.path
        q = dict(urllib.parse.parse_qsl(url.query))
        is_head = method == "HEAD"
        self.req_trailers = []

        if path != "/count":
            self.count += 1
        self.logline("REQ %s %s %s" % (method, target, json.dumps(headers)))

        # 100-continue before touching the body
        if "100-continue" in ",".join(hl.get("expect", [])).lower() and version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()

        if path == "/early":
            # Answers before reading the body (as nginx does for a 413 or a
            # `return`), then reads and drops the body, keeping the
            # connection in step.
            body = b"too large\n"
            writer.write(self.head(413, [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))]) + body)
            await writer.drain()
            async for _ in self.body_chunks(reader, headers):
                pass
            return keep

        # read (and hash) the request body, whatever the endpoint
        h = hashlib.sha256()
        nbytes = 0
        async for chunk in self.body_chunks(reader, headers):
            h.update(chunk)
            nbytes += len(chunk)

        conn_hdr = [] if keep else [("Connection", "close")]

        def simple(status, body, ctype="text/plain", extra=()):
            hdrs = [("Content-Type", ctype)]
            hdrs += list(extra)
            if status in (204, 304) or 100 <= status < 200:
                b = b""
                if status == 304:
                    hdrs.append(("ETag", '"x"'))
            else:
                hdrs.append(("Content-Length", str(len(body))))
                b = body
            writer.write(self.head(status, hdrs + conn_hdr) + (b"" if is_head else b))

        seg = path.split("/")
        if path == "/count":
            simple(200, b"count=%d\n" % self.count)
        elif len(seg) == 3 and seg[1] == "size" and seg[2].isdigit():
            n = int(seg[2])
            writer.write(self.head(200, [("Content-Type", "application/octet-stream"),
                                         ("Content-Length", str(n))] + conn_hdr))
            if not is_head:
                for c in pattern_chunks(n):
                    writer.write(c)
                    await writer.drain()
        elif len(seg) == 3 and seg[1] == "chunked" and seg[2].isdigit():
            n = int(seg[2])
            writer.write(self.head(200, [("Content-Type", "application/octet-stream"),
                                         ("Transfer-Encoding", "chunked")] + conn_hdr))
            if not is_head:
                for c in pattern_chunks(n, 16384 + 7):
                    writer.write(b"%x\r\n" % len(c) + c + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
        elif path == "/close":
            n = int(q.get("n", "1000"))
            writer.write(self.head(200, [("Content-Type", "application/octet-stream"),
                                         ("Connection", "close")]))
            if not is_head:
                for c in pattern_chunks(n):
                    writer.write(c)
                    await writer.drain()
            await writer.drain()
            return False
        elif path == "/trailers":
            body = b"trailers body line\n" * 100
            writer.write(self.head(200, [("Content-Type", "text/plain"),
                                         ("Transfer-Encoding", "chunked"),
                                         ("Trailer", "x-checksum, x-trailer-two")] + conn_hdr))
            if not is_head:
                half = len(body) // 2
                for c in (body[:half], body[half:]):
                    writer.write(b"%x\r\n" % len(c) + c + b"\r\n")
                writer.write(b"0\r\nx-checksum: %s\r\nx-trailer-two: yes\r\n\r\n"
                             % hashlib.sha256(body).hexdigest().encode())
        elif path == "/echo-headers":
            doc = {"method": method, "target": target, "version": version,
                   "headers": headers, "trailers": self.req_trailers,
                   "body_bytes": nbytes, "body_sha256": h.hexdigest()}
            simple(200, (json.dumps(doc) + "\n").encode(), "application/json")
        elif path == "/sha256":
            simple(200, b"sha256=%s bytes=%d\n" % (h.hexdigest().encode(), nbytes))
        elif path == "/slow":
            ms = int(q.get("ms", "1000"))
            await asyncio.sleep(ms / 1000.0)
            simple(200, b"slow %d\n" % ms)
        elif len(seg) == 3 and seg[1] == "status" and seg[2].isdigit():
            st = int(seg[2])
            simple(st, b"status %d\n" % st)
        else:
            simple(200, ("backend=%s path=%s\n" % (self.name, path)).encode())
        await writer.drain()
        return keep


async def serve(args):
    be = Backend(args.name, args.log)
    ctx = None
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        if args.tls_ca:
            ctx.load_verify_locations(args.tls_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    server = await asyncio.start_server(be.handle, args.host, args.port, ssl=ctx,
                                        limit=1 << 20, backlog=1024, reuse_address=True)
    if args.ready:
        tmp = args.ready + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.ready)
    print("READY %s %d" % (args.name, args.port), flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="backend")
    ap.add_argument("--log")
    ap.add_argument("--ready")
    ap.add_argument("--sha", type=int)
    ap.add_argument("--gen", type=int)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-ca")
    args = ap.parse_args()
    if args.sha is not None:
        print(pattern_sha(args.sha))
        return
    if args.gen is not None:
        out = sys.stdout.buffer
        for c in pattern_chunks(args.gen):
            out.write(c)
        out.flush()
        return
    if not args.port:
        ap.error("--port is required")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
