#!/usr/bin/python3
"""HTTP/1.1 clients for the h2gate tunnel tests.  Prints one JSON object.

  h1tunnel.py ws URL [--protocol chat] [--count N] [--binary BYTES]
      python3-websockets (10.4, asyncio API) client: connects to URL
      (ws:// or wss://, certificate not checked), sends N text messages and
      one binary message of BYTES (default 200000), checks the echoes,
      closes.
      {subprotocol, echoed, binary_ok, close_code, error}
  h1tunnel.py connect PORT TARGET [--size N]
      raw socket to 127.0.0.1:PORT: "CONNECT TARGET HTTP/1.1" and reads the
      response head; on 2xx sends "hello\\n" + N random bytes to a
      tcpserver.py echo target, reads the echo, half-closes (shutdown
      SHUT_WR) and reads to EOF ("BYE ..." from the target).
      {status_line, status, head, echo_ok, after_end, sent_bytes, sent_sha256}
"""
import argparse
import asyncio
import hashlib
import json
import os
import socket
import ssl
import sys


def out(d, code=0):
    print(json.dumps(d))
    sys.exit(code)


async def ws_main(a):
    import websockets
    res = {}
    kw = {"max_size": None, "compression": None, "open_timeout": 10}
    if a.protocol:
        kw["subprotocols"] = [a.protocol]
    if a.url.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        kw["ssl"] = ctx
    try:
        async with websockets.connect(a.url, **kw) as ws:
            res["subprotocol"] = ws.subprotocol
            echoed = 0
            for i in range(a.count):
                msg = "message %d über h1" % i
                await ws.send(msg)
                back = await asyncio.wait_for(ws.recv(), 10)
                if back == msg:
                    echoed += 1
            res["echoed"] = echoed
            blob = os.urandom(a.binary)
            await ws.send(blob)
            res["binary_ok"] = (await asyncio.wait_for(ws.recv(), 60)) == blob
            await ws.close()
            res["close_code"] = ws.close_code
    except Exception as e:  # report, the test decides
        res["error"] = "%s: %s" % (type(e).__name__, e)
    return res


def recv_head(s, buf=b""):
    """A head (up to its blank line) from buf, then s; and what follows it."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def connect_main(a):
    res = {}
    s = socket.create_connection(("127.0.0.1", a.port), timeout=15)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a.target.encode(), a.target.encode()))
    head, rest = recv_head(s)
    res["head"] = head
    res["status_line"] = head.split("\r\n", 1)[0]
    parts = res["status_line"].split(" ")
    res["status"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if res["status"] is None or not 200 <= res["status"] < 300:
        out(res)
    data = b"hello\n" + os.urandom(a.size)
    res["sent_bytes"] = len(data)
    res["sent_sha256"] = hashlib.sha256(data).hexdigest()
    got = bytearray(rest)
    s.settimeout(8)
    try:
        s.sendall(data)
        while len(got) < len(data):
            d = s.recv(262144)
            if not d:
                break
            got += d
        res["echo_ok"] = bytes(got[:len(data)]) == data
        tail = bytearray(got[len(data):])
        s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            tail += d
        res["after_end"] = tail.decode("latin-1")
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        res["received"] = len(got)
    s.close()
    out(res)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("ws")
    w.add_argument("url")
    w.add_argument("--protocol")
    w.add_argument("--count", type=int, default=5)
    w.add_argument("--binary", type=int, default=200000)
    c = sub.add_parser("connect")
    c.add_argument("port", type=int)
    c.add_argument("target")
    c.add_argument("--size", type=int, default=100000)
    a = ap.parse_args()
    if a.mode == "ws":
        out(asyncio.run(ws_main(a)))
    connect_main(a)


if __name__ == "__main__":
    main()
