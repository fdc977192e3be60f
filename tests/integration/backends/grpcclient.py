#!/usr/bin/python3
"""gRPC client (python3-grpcio) for the h2c:// upstream tests: makes the
calls grpcbackend.py serves, through TARGET (host:port, cleartext
HTTP/2), and prints one JSON object with what each returned.

  grpcclient.py TARGET

  unary       {ok, reply}
  unary_many  100 unary calls on one channel: {ok: count right}
  server      ServerStream b"10": {messages}
  client      ClientStream of 50 messages of 1000 bytes: {reply}
  bidi        20 messages 100 ms apart, each echo read before the next
              is sent (2 s both ways): {ok, replies}
  deadline    Sleep 3000 with a 0.5 s deadline: {code, elapsed}
  cancel      Sleep 5000 cancelled after 0.5 s: {cancelled, code}
  fail        Fail: {code, details, trailing}
"""
import json
import sys
import threading
import time

import grpc

target = sys.argv[1]
ch = grpc.insecure_channel(target)
grpc.channel_ready_future(ch).result(timeout=10)


def um(name):
    return ch.unary_unary("/test.Echo/" + name)


out = {}
out["unary"] = {"reply": um("Unary")(b"hello", timeout=10).decode()}
ok = 0
for i in range(100):
    if um("Unary")(b"%d" % i, timeout=10) == b"echo:%d" % i:
        ok += 1
out["unary_many"] = {"ok": ok}
out["server"] = {"messages": [m.decode() for m in ch.unary_stream("/test.Echo/ServerStream")(b"10", timeout=10)]}
out["client"] = {"reply": ch.stream_unary("/test.Echo/ClientStream")(iter([b"x" * 1000] * 50), timeout=10).decode()}

# Bidi: a message goes only once the previous echo came back.
cond = threading.Condition()
replies = []


def gen():
    for i in range(20):
        with cond:
            if not cond.wait_for(lambda: len(replies) == i, timeout=10):
                return
        time.sleep(0.1)
        yield b"m%d" % i


t0 = time.monotonic()
for r in ch.stream_stream("/test.Echo/Bidi")(gen(), timeout=30):
    with cond:
        replies.append(r.decode())
        cond.notify_all()
out["bidi"] = {"replies": replies, "seconds": round(time.monotonic() - t0, 2)}

t0 = time.monotonic()
try:
    um("Sleep")(b"3000", timeout=0.5)
    out["deadline"] = {"code": "OK"}
except grpc.RpcError as e:
    out["deadline"] = {"code": e.code().name, "elapsed": round(time.monotonic() - t0, 2)}

fut = um("Sleep").future(b"5000", timeout=30)
time.sleep(0.5)
out["cancel"] = {"cancelled": fut.cancel()}
try:
    fut.result()
except grpc.FutureCancelledError:
    out["cancel"]["code"] = "CANCELLED"
except grpc.RpcError as e:
    out["cancel"]["code"] = e.code().name

try:
    um("Fail")(b"x", timeout=10)
    out["fail"] = {"code": "OK"}
except grpc.RpcError as e:
    out["fail"] = {"code": e.code().name, "details": e.details(),
                   "trailing": dict((k, v) for k, v in (e.trailing_metadata() or ()))}
print(json.dumps(out))
