#!/usr/bin/python3
"""gRPC backend and checks for bench/run's gRPC row (python3-grpcio,
cleartext HTTP/2, bytes in and out: no protobuf, no generated code).

  grpc-backend.py serve --port P [--threads N]
      serves bench.Bench/Echo (answers its request's bytes unchanged) and
      bench.Bench/Count (answers the number of Echo calls answered so far,
      in decimal): Count lets bench/run check that the calls h2load counted
      as 2xx were real gRPC calls, since h2load never reads grpc-status.
  grpc-backend.py call TARGET AUTHORITY
      one Echo call through TARGET (host:port) with :authority AUTHORITY,
      as a real gRPC client makes it; prints "OK" and exits 0 when the
      status is OK and the echo is the bytes sent, else says why, exits 1.
  grpc-backend.py count TARGET
      prints the backend's Count (TARGET is the backend itself).
  grpc-backend.py message FILE SIZE
      writes the request h2load sends: one gRPC frame (flag 0, 4-byte
      big-endian length) carrying SIZE bytes of payload.

The sync server's worker threads share one GIL, so a few threads are
enough to keep the backend busy; more only add switching.  The backend may
well be what limits calls/s (bench/README.md says so): the figure that
compares the proxies is their CPU per call, which does not depend on it.
"""
import argparse
import struct
import sys
import threading
from concurrent import futures

import grpc

SERVICE = "bench.Bench"
PAYLOAD_BYTE = b"g"


def serve(port, threads):
    lock = threading.Lock()
    served = [0]

    def echo(req, ctx):
        with lock:
            served[0] += 1
        return req

    def count(req, ctx):
        with lock:
            return str(served[0]).encode()

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Count": grpc.unary_unary_rpc_method_handler(count),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads),
                         handlers=(handler,),
                         options=(("grpc.so_reuseport", 0),
                                  ("grpc.max_concurrent_streams", 256)))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    server.wait_for_termination()


def call(target, authority):
    sent = PAYLOAD_BYTE * 100
    ch = grpc.insecure_channel(target, options=(("grpc.default_authority", authority),))
    try:
        got = ch.unary_unary("/%s/Echo" % SERVICE)(sent, timeout=10)
    except grpc.RpcError as e:
        print("gRPC call failed: %s %s" % (e.code().name, e.details()))
        return 1
    finally:
        ch.close()
    if got != sent:
        print("gRPC call answered %d bytes, not the %d sent" % (len(got), len(sent)))
        return 1
    print("OK")
    return 0


def count(target):
    with grpc.insecure_channel(target) as ch:
        print(ch.unary_unary("/%s/Count" % SERVICE)(b"", timeout=10).decode())
    return 0


def message(path, size):
    with open(path, "wb") as f:
        f.write(struct.pack(">BI", 0, size) + PAYLOAD_BYTE * size)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--threads", type=int, default=4)
    c = sub.add_parser("call")
    c.add_argument("target")
    c.add_argument("authority")
    n = sub.add_parser("count")
    n.add_argument("target")
    m = sub.add_parser("message")
    m.add_argument("file")
    m.add_argument("size", type=int)
    a = ap.parse_args()
    if a.cmd == "serve":
        serve(a.port, a.threads)
        return 0
    if a.cmd == "call":
        return call(a.target, a.authority)
    if a.cmd == "count":
        return count(a.target)
    return message(a.file, a.size)


if __name__ == "__main__":
    sys.exit(main())
