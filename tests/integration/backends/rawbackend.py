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
  /count           "count=N\\n" (requests seen, /count excluded)
  /no-read?ms=M    reads the head only (not the body), never answers; after
                   M ms reads the rest to the end (with --rcvbuf 4096: an
                   upstream that stops taking a body)
  /big?n=N         200, Content-Length N (default 16 MiB), written as the
                   peer takes it
  /fault?at=A&how=H&framing=F&n=N&tag=T
                   a good response (200, X-Fault: T, an N-byte body, default
                   20000, fault_body(N): 16-byte lines "%015d\\n" of their
                   offset; framing length: Content-Length,
                   chunked: 1000-byte chunks and the trailer X-Done: yes,
                   close: delimited by the close) written up to the point A:
                     before-head, mid-head, mid-body (chunked: between two
                     chunks), mid-chunk, mid-trailer (in the trailer
                     field), end (all of it: after the last chunk)
                   and then H:
                     rst   waits until h2gate's kernel has every byte
                           (SIOCOUTQ 0), then resets (SO_LINGER 0)
                     fin   half-closes, then waits for h2gate's close
                     hold  waits for h2gate's close
                     drip  the rest one byte every ms (default 1000) ms,
                           then serves the next request
                     long  the rest plus 64 bytes more than declared, then
                           waits for h2gate's close
                     none  the rest, then serves the next request
                     drop-next  the rest; then the next request on the
                           connection is read, logged "DROP cid TARGET"
                           and met with a close, no answer (a kept-alive
                           connection the upstream gave up on)
                   With early=1 all this comes before the request body is
                   read (an upstream that answers, or fails, mid-upload).
                   Logged as "FAULT cid T A H"; a request body is logged
                   as "BODY cid T complete|incomplete N".
Each connection is logged as "OPEN n" when accepted and "CLOSE n" when it
ends (either side), so tests can see h2gate close upstream connections;
each request also as "TARGET n TARGET" (n: its connection).

  rawbackend.py --port N --noread [--log FILE]
                   accepts, never reads a byte (receive buffer 4096 bytes),
                   never answers; logs "OPEN n", and "CLOSE n" once h2gate
                   has closed or reset the connection (its TCP state)
"""
import argparse
import asyncio
import fcntl
import functools
import json
import socket
import struct
import termios
import sys
import time
import urllib.parse


@functools.lru_cache(maxsize=8)
def fault_body(n):
    """The body of /fault: 16-byte lines "%015d\\n" of their offset (made
    once per size: an 8 MB one takes a while, and the server's loop waits)."""
    return "".join(map("{:015d}\n".format, range(0, n + 15, 16))).encode()[:n]


def fault_wire(q):
    """(bytes up to the fault point, the rest, extra bytes for how=long)."""
    n = int(q.get("n", "20000"))
    framing = q.get("framing", "length")
    at = q.get("at", "mid-body")
    body = fault_body(n)
    head = b"HTTP/1.1 200 OK\r\nX-Fault: %s\r\nContent-Type: application/octet-stream\r\n" % q.get("tag", "").encode()
    if framing == "length":
        head += b"Content-Length: %d\r\n\r\n" % n
    elif framing == "chunked":
        head += b"Transfer-Encoding: chunked\r\nTrailer: X-Done\r\n\r\n"
    else:
        head += b"Connection: close\r\n\r\n"
    if framing == "chunked":
        chunks = [b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000]) for i in range(0, n, 1000)]
        wire_body = b"".join(chunks)
        last, trailer = b"0\r\n", b"X-Done: yes\r\n\r\n"
        cuts = {"mid-body": len(head) + sum(len(c) for c in chunks[:len(chunks) // 2]),
                "mid-chunk": len(head) + len(b"%x\r\n" % min(n, 1000)) + min(n, 1000) // 2,
                "mid-trailer": len(head) + len(wire_body) + len(last) + 4}
        wire, extra = head + wire_body + last + trailer, b"1\r\nX\r\n0\r\n\r\n" + b"x" * 50
    else:
        cuts = {"mid-body": len(head) + n // 2}
        wire, extra = head + body, b"x" * 64
    cuts.update({"before-head": 0, "mid-head": len(head) // 2, "end": len(wire)})
    if at not in cuts:
        raise ValueError("no point %s with framing %s" % (at, framing))
    return wire[:cuts[at]], wire[cuts[at]:], extra


async def until_eof(reader):
    """Reads (and drops) until the peer closes: h2gate let the connection go."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass


def outq(sock):
    """Bytes written and not yet acknowledged by the peer (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


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
                    self.log.write("TARGET %d %s\n" % (cid, target))
                if path == "/fault" and q.get("early"):
                    # the fault comes before the request body is read
                    if not await self.fault(q, reader, writer, cid):
                        return
                    continue
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
                got = 0
                try:
                    if chunked:
                        while True:
                            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                            if size == 0:
                                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                                    pass
                                break
                            await reader.readexactly(size + 2)
                            got += size
                    elif cl:
                        await reader.readexactly(cl)
                        got = cl
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as e:
                    if isinstance(e, asyncio.IncompleteReadError):
                        got += len(e.partial)
                    if chunked or cl:
                        self.note("BODY %d %s incomplete %d" % (cid, q.get("tag", "-"), got))
                    return
                if chunked or cl:
                    self.note("BODY %d %s complete %d" % (cid, q.get("tag", "-"), got))
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
                elif path == "/fault":
                    if not await self.fault(q, reader, writer, cid):
                        return
                    continue
                elif path == "/stall-head":
                    await writer.drain()
                    while await reader.read(65536):  # until h2gate closes
                        pass
                    return
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


    async def fault(self, q, reader, writer, cid):
        """/fault (see the module doc); True when the connection goes on."""
        how = q.get("how", "rst")
        before, rest, extra = fault_wire(q)
        self.note("FAULT %d %s %s %s" % (cid, q.get("tag", "-"), q.get("at", "mid-body"), how))
        writer.write(before)
        await writer.drain()
        if how == "rst":
            sock = writer.get_extra_info("socket")
            for _ in range(500):  # bounded: 5 s
                if outq(sock) == 0:
                    break
                await asyncio.sleep(0.01)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if how == "fin":
            writer.write_eof()
            await until_eof(reader)
            return False
        if how == "hold":
            await until_eof(reader)
            return False
        if how == "drip":
            ms = int(q.get("ms", "1000"))
            for i in range(len(rest)):
                await asyncio.sleep(ms / 1000.0)
                writer.write(rest[i:i + 1])
                await writer.drain()
            return True
        if how == "long":
            writer.write(rest + extra)
            await writer.drain()
            await until_eof(reader)
            return False
        writer.write(rest)
        await writer.drain()
        if how == "drop-next":
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return False
            target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            self.note("DROP %d %s" % (cid, target[1] if len(target) > 1 else "/"))
            return False
        return True


def noread(port, log):
    """Accepts and never reads; "CLOSE n" once the peer closed or reset."""
    logf = open(log, "a", buffering=1) if log else None
    note = (lambda line: logf.write(line + "\n")) if logf else (lambda line: None)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by accepted sockets
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    ls.settimeout(0.1)
    print("READY noread %d" % port, flush=True)
    conns, n = {}, 0
    while True:
        try:
            s, _ = ls.accept()
            n += 1
            conns[n] = s
            note("OPEN %d" % n)
        except socket.timeout:
            pass
        for cid, s in list(conns.items()):
            # tcp_info's first byte: TCP_CLOSE_WAIT (8, FIN received) or
            # TCP_CLOSE (7, reset)
            st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
            if st in (7, 8):
                note("CLOSE %d" % cid)
                s.close()
                del conns[cid]


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
    ap.add_argument("--noread", action="store_true")
    ap.add_argument("--rcvbuf", type=int, default=0)
    a = ap.parse_args()
    if a.blackhole:
        blackhole(a.port)
    elif a.noread:
        noread(a.port, a.log)
    else:
        asyncio.run(serve(a))


if __name__ == "__main__":
    main()
