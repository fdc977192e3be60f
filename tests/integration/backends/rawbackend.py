#!/usr/bin/python3
"""A deliberately broken HTTP/1.1 upstream (raw TCP) for the h2gate limit
and defence tests.

  rawbackend.py --port N [--log FILE]        canned responses by path
  rawbackend.py --port N --echo              raw TCP echo (tunnel target)
  rawbackend.py --port N --blackhole         listen(backlog 0), never
      accept, and fill the accept queue so further connects hang (SYN
      dropped): an upstream whose connect never completes

Canned responses by the last path segment ("/raw/ok" is "/ok"; request
line logged as "REQ METHOD TARGET"):
  /ok              200, Content-Length 6, "ok-ok\\n"
  /cl-conflict     two different Content-Length fields
  /cl-list         Content-Length: 5, 25
  /te-cl           Transfer-Encoding: chunked AND Content-Length
  /bad-status      status line "HTTP/1.1 2OO OK"
  /bad-status-3    status "HTTP/1.1 99 Nope"
  /bad-version     status line "HTTP/9.1 200 OK"
  /no-status       "garbage"
  /space-name      header "Content-Length : 5"
  /smuggle         a valid 5-byte response followed at once by a second
                   (unsolicited) response carrying X-Smuggled
  /bigheader?n=N   200 with one N-byte X-Big header
  /stall-head      reads the request, never answers (waits for h2gate's close)
  /stall-body      head (Content-Length 1000) + 100 bytes, then nothing
  /trickle?n=N&ms=M  Content-Length N, one byte every M ms
  /count           "count=N\\n" (requests seen, /count excluded)
  /no-read?ms=M    reads the head only (not the body), never answers; after
                   M ms reads the rest to the end (with --rcvbuf 4096: an
                   upstream that stops taking a body)
  /big?n=N         200, Content-Length N (default 16 MiB), written as the
                   peer takes it
Each connection is logged as "OPEN n" when accepted and "CLOSE n" when it
ends (either side), so tests can see h2gate close upstream connections.
"""
import argparse
import asyncio
import json
import socket
import sys
import time
import urllib.parse


class Raw:
    def __init__(self, log):
        self.log = open(log, "a", buffering=1) if log else None
        self.count = 0
        self.conns = 0

    def note(self, line):
        if self.log:
            self.log.write(line + "\n")

    async def handle(self, reader, writer):
        self.conns += 1
        cid = self.conns
        self.note("OPEN %d" % cid)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = line.split(" ")
                target = parts[1] if len(parts) > 1 else "/"
                url = urllib.parse.urlsplit(target)
                q = dict(urllib.parse.parse_qsl(url.query))
                path = "/" + url.path.rsplit("/", 1)[-1]  # "/raw/ok" is "/ok"
                if path != "/count":
                    self.count += 1
                if self.log:
                    self.log.write("REQ %s %s\n" % (line, json.dumps(head.decode("latin-1"))))
                if path == "/no-read":
                    # then, after ms, reads to the end: sees h2gate's close
                    await asyncio.sleep(int(q.get("ms", "3600000")) / 1000.0)
                    while await reader.read(65536):
                        pass
                    return
                # request bodies: Content-Length or chunked (read and dropped)
                cl = 0
                chunked = False
                for h in head.split(b"\r\n")[1:]:
                    if h.lower().startswith(b"content-length:"):
                        cl = int(h.split(b":", 1)[1].strip() or 0)
                    elif h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower():
                        chunked = True
                if chunked:
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                        if size == 0:
                            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                                pass
                            break
                        await reader.readexactly(size + 2)
                elif cl:
                    await reader.readexactly(cl)
                w = writer.write
                if path == "/count":
                    b = b"count=%d\n" % self.count
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
                elif path == "/ok":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nok-ok\n")
                elif path == "/cl-conflict":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 25\r\n\r\n" + b"c" * 25)
                elif path == "/cl-list":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 25\r\n\r\n" + b"c" * 25)
                elif path == "/te-cl":
                    smug = b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 8\r\n\r\nsmuggled"
                    w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                      b"5\r\nhello\r\n0\r\n\r\n" + smug)
                elif path == "/bad-status":
                    w(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok")
                elif path == "/bad-status-3":
                    w(b"HTTP/1.1 99 Nope\r\nContent-Length: 2\r\n\r\nok")
                elif path == "/bad-version":
                    w(b"HTTP/9.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                elif path == "/no-status":
                    w(b"garbage\r\n\r\n")
                elif path == "/space-name":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello")
                elif path == "/smuggle":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                      b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 8\r\n\r\nsmuggled")
                elif path == "/bigheader":
                    n = int(q.get("n", "40000"))
                    w(b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * n + b"\r\nContent-Length: 3\r\n\r\nbig")
                elif path == "/big":
                    n = int(q.get("n", str(16 << 20)))
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                    while n > 0:
                        k = min(n, 65536)
                        w(b"b" * k)
                        n -= k
                        await writer.drain()
                elif path == "/stall-head":
                    await writer.drain()
                    while await reader.read(65536):  # until h2gate closes
                        pass
                    return
                elif path == "/stall-body":
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"s" * 100)
                    await writer.drain()
                    while await reader.read(65536):
                        pass
                    return
                elif path == "/trickle":
                    n = int(q.get("n", "10"))
                    ms = int(q.get("ms", "300"))
                    w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                    for _ in range(n):
                        await writer.drain()
                        await asyncio.sleep(ms / 1000.0)
                        w(b"t")
                else:
                    w(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.note("CLOSE %d" % cid)
            try:
                writer.close()
            except Exception:
                pass


async def echo(reader, writer, log):
    log("OPEN")
    try:
        while True:
            d = await reader.read(65536)
            if not d:
                break
            writer.write(d)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        log("CLOSE")
        writer.close()


def blackhole(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
        time.sleep(0.05)
    print("READY blackhole %d" % port, flush=True)
    while True:
        time.sleep(3600)


async def serve(a):
    if a.echo:
        logf = open(a.log, "a", buffering=1) if a.log else None
        n = [0]

        def handler(r, w):  # "OPEN n" / "CLOSE n" per connection, as for canned responses
            n[0] += 1
            cid = n[0]
            return echo(r, w, lambda what: logf and logf.write("%s %d\n" % (what, cid)))
        server = await asyncio.start_server(handler, "127.0.0.1", a.port, reuse_address=True)
    else:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if a.rcvbuf:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)  # inherited by accepted sockets
        ls.bind(("127.0.0.1", a.port))
        server = await asyncio.start_server(Raw(a.log).handle, sock=ls, limit=1 << 20)
    print("READY raw %d" % a.port, flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--blackhole", action="store_true")
    ap.add_argument("--rcvbuf", type=int, default=0)
    a = ap.parse_args()
    if a.blackhole:
        blackhole(a.port)
    else:
        asyncio.run(serve(a))


if __name__ == "__main__":
    main()
