#!/usr/bin/python3
"""An HTTP/2 client (python h2) that keeps ONE session open on purpose,
for the operations tests (control socket sessions/tunnels, reload GOAWAY).

  h2hold.py --port P [--host H] [--tls] [--hold-until FILE] [--max S]
            [--send TEXT] OP...

OP is "get:PATH" (a GET) or "connect:HOST:PORT" (a classic CONNECT that
writes --send TEXT into the tunnel once it is up).  All OPs start at once,
on the same session.  Event lines are printed as they happen (JSON, one
per line, flushed):
  {"ev":"connected","local":"127.0.0.1:5555","alpn":"h2"|null}
  {"ev":"headers","stream":1,"op":"get:/x","status":200,"backend":"A"}
  {"ev":"data","stream":1,"bytes":N}        (CONNECT streams only)
  {"ev":"end","stream":1,"op":..,"status":..,"body":"...","bytes":N}
  {"ev":"reset","stream":1,"code":N}
  {"ev":"goaway","code":N,"last_stream_id":N}
  {"ev":"closed"}                            (the server closed the TCP)
Once every GET has ended (CONNECT streams stay open), the session is kept
open (PINGs answered) until the file --hold-until exists (or the server
closes, or --max seconds, default 30, passed).  Then each open CONNECT
stream is half-closed and given 2 s to end, and a final line
  {"ev":"done","results":[{op, stream, status, body, bytes, ended, reset}],
   "goaway":{code,last_stream_id}|null}
is printed.  Exit 0 (the test judges the results), 2 on an internal error.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--authority", default=None)
    ap.add_argument("--hold-until", default=None)
    ap.add_argument("--max", type=float, default=30)
    ap.add_argument("--send", default="hello tunnel\n")
    ap.add_argument("--later", default=None, help="a GET path sent on the same session once --later-when exists")
    ap.add_argument("--later-when", default=None)
    ap.add_argument("ops", nargs="+")
    a = ap.parse_args()

    sock = socket.create_connection((a.host, a.port), timeout=10)
    alpn = None
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=a.authority or "localhost")
        alpn = sock.selected_alpn_protocol()
    local = sock.getsockname()
    emit(ev="connected", local="%s:%d" % (local[0], local[1]), alpn=alpn)
    sock.settimeout(None)
    sock.setblocking(False)

    # (python h2 would refuse a CONNECT without :path: skip its outbound checks)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
    conn.initiate_connection()
    authority = a.authority or "%s:%d" % (a.host, a.port)
    scheme = "https" if a.tls else "http"
    streams = {}
    for op in a.ops:
        sid = conn.get_next_available_stream_id()
        if op.startswith("get:"):
            hdrs = [(":method", "GET"), (":scheme", scheme), (":authority", authority), (":path", op[4:])]
            conn.send_headers(sid, hdrs, end_stream=True)
        elif op.startswith("connect:"):
            hdrs = [(":method", "CONNECT"), (":authority", op[8:])]
            conn.send_headers(sid, hdrs, end_stream=False)
        else:
            emit(ev="error", error="bad op %s" % op)
            return 2
        streams[sid] = {"op": op, "stream": sid, "status": None, "body": b"", "bytes": 0,
                        "ended": False, "reset": None, "tunnel": op.startswith("connect:")}
    goaway = None
    closed = False
    outbuf = conn.data_to_send()
    t0 = time.monotonic()
    half_closed_at = None

    def flush():
        nonlocal outbuf
        outbuf += conn.data_to_send()
        while outbuf:
            try:
                n = sock.send(outbuf)
            except (BlockingIOError, ssl.SSLWantWriteError):
                return
            except OSError:
                outbuf = b""
                return
            outbuf = outbuf[n:]

    later_sent = a.later is None

    def send_later():
        nonlocal later_sent
        sid = conn.get_next_available_stream_id()
        hdrs = [(":method", "GET"), (":scheme", scheme), (":authority", authority), (":path", a.later)]
        conn.send_headers(sid, hdrs, end_stream=True)
        streams[sid] = {"op": "get:" + a.later, "stream": sid, "status": None, "body": b"", "bytes": 0,
                        "ended": False, "reset": None, "tunnel": False}
        later_sent = True
        emit(ev="later", stream=sid)

    def gets_done():
        return later_sent and all(s["ended"] or s["reset"] is not None for s in streams.values() if not s["tunnel"])

    while True:
        if not later_sent and a.later_when and os.path.exists(a.later_when) and goaway is None and not closed:
            send_later()
        flush()
        now = time.monotonic()
        if now - t0 > a.max:
            emit(ev="timeout")
            break
        if closed:
            break
        if half_closed_at is None and gets_done():
            release = a.hold_until is None or os.path.exists(a.hold_until) or goaway is not None and all(
                s["ended"] or s["reset"] is not None for s in streams.values())
            if release:
                half_closed_at = now
                for s in streams.values():
                    if s["tunnel"] and not s["ended"] and s["reset"] is None:
                        try:
                            conn.end_stream(s["stream"])
                        except Exception:
                            pass
                flush()
        if half_closed_at is not None:
            if all(s["ended"] or s["reset"] is not None for s in streams.values()) or now - half_closed_at > 2:
                break
        r, w, _ = select.select([sock], [sock] if outbuf else [], [], 0.1)
        if not r:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                pass
            else:
                continue
        try:
            data = sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            continue
        except OSError:
            data = b""
        if not data:
            emit(ev="closed")
            closed = True
            break
        try:
            events = conn.receive_data(data)
        except Exception as e:
            emit(ev="error", error="h2: %r" % e)
            return 2
        for e in events:
            if isinstance(e, h2.events.ResponseReceived):
                s = streams.get(e.stream_id)
                if s is None:
                    continue
                h = dict(e.headers)
                s["status"] = int(h.get(":status", "0"))
                emit(ev="headers", stream=e.stream_id, op=s["op"], status=s["status"], backend=h.get("x-backend"))
                if s["tunnel"] and s["status"] == 200:
                    conn.send_data(e.stream_id, a.send.encode())
            elif isinstance(e, h2.events.DataReceived):
                s = streams.get(e.stream_id)
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                if s is None:
                    continue
                s["bytes"] += len(e.data)
                if len(s["body"]) < 4096:
                    s["body"] += e.data[:4096 - len(s["body"])]
                if s["tunnel"]:
                    emit(ev="data", stream=e.stream_id, bytes=s["bytes"])
            elif isinstance(e, h2.events.StreamEnded):
                s = streams.get(e.stream_id)
                if s is None:
                    continue
                s["ended"] = True
                emit(ev="end", stream=e.stream_id, op=s["op"], status=s["status"],
                     body=s["body"].decode("utf-8", "replace"), bytes=s["bytes"])
            elif isinstance(e, h2.events.StreamReset):
                s = streams.get(e.stream_id)
                if s is not None:
                    s["reset"] = int(e.error_code)
                emit(ev="reset", stream=e.stream_id, code=int(e.error_code))
            elif isinstance(e, h2.events.ConnectionTerminated):
                goaway = {"code": int(e.error_code), "last_stream_id": e.last_stream_id}
                emit(ev="goaway", **goaway)
                # python h2 treats any GOAWAY as the end of the connection
                # and would refuse the frames of the streams still in
                # flight: keep its state machine open to receive them.
                conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
    res = []
    for s in streams.values():
        d = dict(s)
        d["body"] = d["body"].decode("utf-8", "replace")
        res.append(d)
    emit(ev="done", results=res, goaway=goaway, closed=closed)
    try:
        sock.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # report, exit 2
        emit(ev="error", error=repr(e))
        sys.exit(2)
