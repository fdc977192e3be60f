#!/usr/bin/python3
"""Hold N idle HTTP/2 connections open against a proxy (bench helper).

Usage: idle_conns.py [--tls] [--get PATH] [--parallel K] [--timeout S] HOST PORT COUNT

Each connection does the minimal HTTP/2 start and then goes idle:
  cleartext (h2c, prior knowledge): client preface + empty SETTINGS,
  read frames until the server's (non-ACK) SETTINGS arrives, send
  SETTINGS ACK;
  --tls: the same after a TLS handshake that negotiated ALPN "h2"
  (certificate not verified: the bench uses a throwaway self-signed one).
  --get PATH: then one GET of PATH on stream 1, read to its end (the
  response must be a 200), and only then idle: the connection as it is
  left after a request, with whatever state the proxy keeps after it.

When every connection is up (or failed), prints one line
    READY ok=<n> failed=<m> secs=<t>
and then keeps the connections open, discarding whatever the server sends
(PINGs and SETTINGS are answered), until SIGTERM or SIGINT; then it prints
    ALIVE <n>
(connections still open at that moment) and exits 0.

Only the standard library; run with Debian's /usr/bin/python3.
"""

import argparse
import asyncio
import resource
import signal
import ssl
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS_EMPTY = struct.pack(">I", 0)[1:] + bytes([0x4, 0x0]) + struct.pack(">I", 0)
SETTINGS_ACK = struct.pack(">I", 0)[1:] + bytes([0x4, 0x1]) + struct.pack(">I", 0)
T_DATA, T_HEADERS, T_RST_STREAM = 0x0, 0x1, 0x3
T_SETTINGS, T_PING, T_GOAWAY = 0x4, 0x6, 0x7


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def read_frame(reader):
    hdr = await reader.readexactly(9)
    length = int.from_bytes(hdr[0:3], "big")
    ftype, flags = hdr[3], hdr[4]
    payload = await reader.readexactly(length) if length else b""
    return ftype, flags, payload


def get_request(path, tls):
    """HEADERS frame (stream 1, END_STREAM|END_HEADERS) for GET PATH.

    HPACK by hand, no Huffman: :method GET and :scheme from the static
    table (indexed), :authority and :path as literals without indexing
    whose names are static-table entries 1 and 4.
    """
    def literal(index, value):
        value = value.encode()
        if len(value) > 126:
            raise ValueError("path too long for this minimal encoder")
        return bytes([index, len(value)]) + value
    block = (bytes([0x82, 0x87 if tls else 0x86]) + literal(1, "localhost")
             + literal(4, path))
    return (struct.pack(">I", len(block))[1:] + bytes([T_HEADERS, 0x5])
            + struct.pack(">I", 1) + block)


# --awake: PINGs go unanswered, so h2gate never puts the connection away
# (its session waits for its round-trip PING's ACK): what a connection
# costs while it is in use, without any request.
AWAKE = False


def answer(writer, ftype, flags, payload):
    """What every client owes: a PING's ACK, a SETTINGS frame's ACK."""
    if ftype == T_PING and not (flags & 0x1) and not AWAKE:
        writer.write(struct.pack(">I", 8)[1:] + bytes([T_PING, 0x1])
                     + struct.pack(">I", 0) + payload)
    elif ftype == T_SETTINGS and not (flags & 0x1):
        writer.write(SETTINGS_ACK)


async def one_get(reader, writer, path, tls):
    """Send GET PATH on stream 1 and read frames until its END_STREAM."""
    writer.write(get_request(path, tls))
    await writer.drain()
    status = None
    while True:
        hdr = await reader.readexactly(9)
        length = int.from_bytes(hdr[0:3], "big")
        ftype, flags = hdr[3], hdr[4]
        stream = int.from_bytes(hdr[5:9], "big") & 0x7FFFFFFF
        payload = await reader.readexactly(length) if length else b""
        if ftype == T_GOAWAY or (ftype == T_RST_STREAM and stream == 1):
            raise RuntimeError("GET %s: stream reset or GOAWAY" % path)
        if stream != 1:
            answer(writer, ftype, flags, payload)
            continue
        if ftype == T_HEADERS and status is None:
            block = payload
            if flags & 0x8:      # PADDED
                block = block[1:len(block) - block[0]]
            if flags & 0x20:     # PRIORITY
                block = block[5:]
            # :status comes first: 200 is static entry 8 (0x88), or a
            # literal "200" with entry 8's name (not Huffman-coded)
            status = block[:6]
            if status[:1] != b"\x88" and b"200" not in status:
                raise RuntimeError("GET %s: status is not 200" % path)
        if ftype in (T_DATA, T_HEADERS) and flags & 0x1:
            return


class Conn:
    def __init__(self):
        self.reader = None
        self.writer = None
        self.alive = False
        self.task = None


async def open_one(args, sslctx, conn):
    if sslctx is not None:
        reader, writer = await asyncio.open_connection(
            args.host, args.port, ssl=sslctx, server_hostname="localhost")
        alpn = writer.get_extra_info("ssl_object").selected_alpn_protocol()
        if alpn != "h2":
            writer.close()
            raise RuntimeError("ALPN negotiated %r, not h2" % (alpn,))
    else:
        reader, writer = await asyncio.open_connection(args.host, args.port)
    writer.write(PREFACE + SETTINGS_EMPTY)
    await writer.drain()
    while True:
        ftype, flags, payload = await read_frame(reader)
        if ftype == T_SETTINGS and not (flags & 0x1):
            break
        if ftype == T_GOAWAY:
            writer.close()
            raise RuntimeError("GOAWAY during handshake")
    writer.write(SETTINGS_ACK)
    await writer.drain()
    if args.get:
        await one_get(reader, writer, args.get, sslctx is not None)
    conn.reader, conn.writer, conn.alive = reader, writer, True


async def idle_loop(conn):
    """Discard what the server sends; answer PING; note when it closes."""
    try:
        while True:
            ftype, flags, payload = await read_frame(conn.reader)
            answer(conn.writer, ftype, flags, payload)
            if ftype == T_GOAWAY:
                break
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    except asyncio.CancelledError:
        raise
    conn.alive = False


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--tls12", action="store_true", help="with --tls: TLS 1.2 at most")
    ap.add_argument("--get", metavar="PATH",
                    help="one GET of PATH on each connection before it idles")
    ap.add_argument("--awake", action="store_true",
                    help="leave PINGs unanswered: the connections stay awake")
    ap.add_argument("--parallel", type=int, default=64,
                    help="handshakes in flight at once")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="overall limit for establishing all connections")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    args = ap.parse_args()
    global AWAKE
    AWAKE = args.awake

    nofile = raise_nofile()
    if args.count + 16 > nofile:
        print("idle_conns: RLIMIT_NOFILE %d too small for %d connections"
              % (nofile, args.count), file=sys.stderr)
        sys.exit(2)

    sslctx = None
    if args.tls:
        sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        sslctx.check_hostname = False
        sslctx.verify_mode = ssl.CERT_NONE
        sslctx.set_alpn_protocols(["h2"])
        if args.tls12:
            sslctx.maximum_version = ssl.TLSVersion.TLSv1_2

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    sem = asyncio.Semaphore(args.parallel)
    conns = [Conn() for _ in range(args.count)]
    errors = {}

    async def guarded(c):
        async with sem:
            try:
                await asyncio.wait_for(open_one(args, sslctx, c), 10.0)
            except Exception as e:  # noqa: BLE001 - count every failure kind
                key = type(e).__name__ + ": " + str(e)[:80]
                errors[key] = errors.get(key, 0) + 1
                return
            c.task = asyncio.ensure_future(idle_loop(c))

    t0 = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(guarded(c) for c in conns)),
                               args.timeout)
    except asyncio.TimeoutError:
        errors["overall timeout"] = 1
    ok = sum(1 for c in conns if c.alive)
    for k, v in errors.items():
        print("idle_conns: %d x %s" % (v, k), file=sys.stderr)
    print("READY ok=%d failed=%d secs=%.2f" % (ok, args.count - ok,
                                                time.monotonic() - t0),
          flush=True)

    await stop.wait()
    alive = sum(1 for c in conns if c.alive)
    print("ALIVE %d" % alive, flush=True)
    for c in conns:
        if c.task:
            c.task.cancel()
        if c.writer:
            c.writer.close()


if __name__ == "__main__":
    asyncio.run(main())
