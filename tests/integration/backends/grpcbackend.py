#!/usr/bin/python3
"""gRPC server (python3-grpcio, cleartext HTTP/2) for the h2c:// upstream
tests.  Methods of service test.Echo, bytes in and out (no protobuf):

  Unary          b"x" -> b"echo:x"
  ServerStream   b"N" -> N messages b"0".."N-1", 100 ms apart
  ClientStream   messages -> b"<count>:<total bytes>"
  Bidi           each message m -> b"bidi:" + m, as it comes
  Sleep          b"MS": answers b"slept" after MS ms, unless cancelled
                 or past its deadline (both logged)
  Fail           aborts: INVALID_ARGUMENT "bad request", trailing
                 metadata x-detail: why

  grpcbackend.py --port P --log FILE [--tls-cert CERT --tls-key KEY]
  (with a certificate: TLS, grpc.ssl_server_credentials, for h2://)

FILE gets one JSON object a line: {ev: "call", method, timeout} (the
deadline the call came with, in seconds, or null), {ev: "cancelled",
method}, {ev: "done", method}.
"""
import argparse
import json
import threading
import time
from concurrent import futures

import grpc

LOG = None
LOCK = threading.Lock()


def log(**o):
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(o) + "\n")


def unary(req, ctx):
    log(ev="call", method="Unary", timeout=ctx.time_remaining())
    return b"echo:" + req


def server_stream(req, ctx):
    log(ev="call", method="ServerStream", timeout=ctx.time_remaining())
    for i in range(int(req)):
        time.sleep(0.1)
        yield str(i).encode()


def client_stream(it, ctx):
    log(ev="call", method="ClientStream", timeout=ctx.time_remaining())
    n = total = 0
    for m in it:
        n += 1
        total += len(m)
    return ("%d:%d" % (n, total)).encode()


def bidi(it, ctx):
    log(ev="call", method="Bidi", timeout=ctx.time_remaining())
    for m in it:
        yield b"bidi:" + m


def sleep(req, ctx):
    log(ev="call", method="Sleep", timeout=ctx.time_remaining())
    end = time.monotonic() + int(req) / 1000.0
    while time.monotonic() < end:
        if not ctx.is_active():
            log(ev="cancelled", method="Sleep")
            return b""
        time.sleep(0.02)
    log(ev="done", method="Sleep")
    return b"slept"


def fail(req, ctx):
    log(ev="call", method="Fail", timeout=ctx.time_remaining())
    ctx.set_trailing_metadata((("x-detail", "why"),))
    ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    LOG = a.log
    ident = None
    h = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, ident, ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "Sleep": grpc.unary_unary_rpc_method_handler(sleep, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), handlers=(h,))
    if a.tls_cert:
        with open(a.tls_cert, "rb") as c, open(a.tls_key, "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        server.add_secure_port("127.0.0.1:%d" % a.port, creds)
    else:
        server.add_insecure_port("127.0.0.1:%d" % a.port)
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
