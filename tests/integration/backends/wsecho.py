#!/usr/bin/python3
"""WebSocket echo server (HTTP/1.1 Upgrade) for the h2gate tunnel tests.

  wsecho.py --port N [--log FILE] [--subprotocol chat]... [--deflate]

Uses Debian's python3-websockets (10.4): always run it with /usr/bin/python3.
Offers the subprotocols given (default: "chat"); permessage-deflate only
with --deflate.  Each handshake is logged as one line
  HANDSHAKE path=PATH protocol=NEGOTIATED origin=ORIGIN version=V
            offered=SEC-WEBSOCKET-PROTOCOL extensions=SEC-WEBSOCKET-EXTENSIONS
then every message is echoed unchanged (text as text, binary as binary) and
counted ("ECHO n" lines).  Plain HTTP requests without Upgrade are answered
426 by the library.
"""
import argparse
import asyncio
import signal
import time
import sys

import websockets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log")
    ap.add_argument("--subprotocol", action="append")
    ap.add_argument("--deflate", action="store_true")
    a = ap.parse_args()
    logf = open(a.log, "a") if a.log else None

    def log(line):
        if logf:
            logf.write(line + "\n")
            logf.flush()

    async def handler(ws, path=None):
        h = ws.request_headers
        log("HANDSHAKE path=%s protocol=%s origin=%s version=%s offered=%s extensions=%s" % (
            ws.path, ws.subprotocol, h.get("Origin", "-"), h.get("Sec-WebSocket-Version", "-"),
            h.get("Sec-WebSocket-Protocol", "-"), h.get("Sec-WebSocket-Extensions", "-")))
        n = 0
        try:
            async for msg in ws:
                n += 1
                await ws.send(msg)
                log("SENT %d %d %.3f" % (n, len(msg), time.time()))
        finally:
            log("ECHO %d" % n)

    async def run():
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with websockets.serve(handler, a.host, a.port, max_size=None,
                                    subprotocols=a.subprotocol or ["chat"],
                                    compression="deflate" if a.deflate else None):
            print("READY ws %d" % a.port, flush=True)
            await stop

    asyncio.run(run())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
