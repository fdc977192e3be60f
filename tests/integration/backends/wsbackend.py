#!/usr/bin/python3
"""WebSocket (HTTP/1.1 Upgrade) echo backend for the h2gate integration tests.

  wsbackend.py --port N [--name NAME] [--tls-cert CERT --tls-key KEY]
  (with a certificate: over TLS, for https:// upstreams)

On connect it sends the text message "hello NAME PATH" (PATH with query),
then echoes every message back unchanged (text as text, binary as binary).
"""
import argparse
import asyncio

import websockets


async def main(a):
    async def handler(ws, path=None):
        path = path if path is not None else getattr(ws, "path", "?")
        await ws.send("hello %s %s" % (a.name, path))
        async for msg in ws:
            await ws.send(msg)

    ctx = None
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    async with websockets.serve(handler, "127.0.0.1", a.port, max_size=None, compression=None, ssl=ctx):
        print("READY %s %d" % (a.name, a.port), flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="ws")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    try:
        asyncio.run(main(ap.parse_args()))
    except KeyboardInterrupt:
        pass
