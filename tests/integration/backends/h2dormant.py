#!/usr/bin/python3
"""An HTTP/2 client (python h2) for the dormant-session test (242).

  h2dormant.py --port P [--tls] --status URL SCENARIO

It opens one session with SETTINGS a replay must give back (stream window
256 KiB, header table 1 KiB, push off, 100 streams), credits the
connection 8 MiB, acknowledges what the server sends (SETTINGS, its PING)
and waits until GET URL (h2gate's /status) lists the session as dormant.
Then, by SCENARIO:
  get    GET /size/200000 without ever giving window back: it completes
         only if the woken session knows the 256 KiB stream window and the
         8 MiB connection window; then a second GET on the same session;
  ping   a PING, answered; then a GET;
  wait   nothing: reads until the server's GOAWAY (idle timeout, drain);
  used   (the session is put away after streams) first GET /size/1000
         and GET /echo-headers, both with a field the client's HPACK
         encoder indexes, no window given back; then, once dormant: a
         WINDOW_UPDATE for the closed stream 1, GET /size/200000 with the
         window given back as it comes (the connection was not credited:
         a woken session that forgot it is 1,000 bytes short would send
         past the window, which the client's h2 rejects), GET
         /echo-headers with the same field twice more (the second after
         the client's table may grow again), then a HEADERS on stream 1
         again, which must end the session as on one never put away.
         With --live, the same without waiting for dormancy.
Prints DORMANT once the session is, then one JSON line: {"dormant":true,"status":[..],"bytes":[..],
"sha256":..,"ping_ack":bool,"goaway":{"code","last_stream_id"}|null,
"max_table_update":N|null} and exits 0; 2 on an internal error (the test
judges the result).  Gives up after --max seconds (default 30).
"""
import argparse
import hashlib
import json
import socket
import ssl
import sys
import time
import urllib.request

import h2.config
import h2.connection
import h2.events
import h2.settings


def dormant_in_status(url, local):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            d = json.load(r)
    except OSError:
        return False
    return any(s.get("peer") == local and s.get("dormant") for s in d.get("session_list", []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--status", required=True)
    ap.add_argument("--max", type=float, default=30)
    ap.add_argument("--live", action="store_true", help="used: do not wait for dormancy")
    ap.add_argument("scenario", choices=["get", "ping", "pingwait", "wait", "used"])
    a = ap.parse_args()
    deadline = time.monotonic() + a.max
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    local = "%s:%d" % sock.getsockname()[:2]
    sock.settimeout(0.2)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 256 * 1024,
        h2.settings.SettingCodes.HEADER_TABLE_SIZE: 1024,
        h2.settings.SettingCodes.ENABLE_PUSH: 0,
        h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
    })
    conn.initiate_connection()
    if a.scenario != "used":
        conn.increment_flow_control_window(8 * 1024 * 1024)
    ack = [False]
    res = {"dormant": False, "status": [], "bytes": [], "sha256": None, "ping_ack": False, "goaway": None,
           "echo": [], "table_sizes": []}
    bodies = {}
    done = set()

    def pump():
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        try:
            data = sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        if not data:
            return False
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                res["status"].append(int(dict(ev.headers)[":status"]))
                bodies[ev.stream_id] = b""
            elif isinstance(ev, h2.events.DataReceived):
                bodies[ev.stream_id] += ev.data  # no window given back, on purpose...
                if ack[0]:  # ...unless asked
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                done.add(ev.stream_id)
            elif isinstance(ev, h2.events.PingAckReceived):
                res["ping_ack"] = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                res["goaway"] = {"code": int(ev.error_code), "last_stream_id": ev.last_stream_id}
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        return True

    def get(path, extra=()):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "https" if a.tls else "http"),
                                (":authority", "localhost"), (":path", path)] + list(extra), end_stream=True)
        while time.monotonic() < deadline and sid not in done and res["goaway"] is None:
            if not pump():
                break
        return sid

    field = [("x-dormant", "an indexed field value")]

    def echo():
        sid = get("/echo-headers", field)
        try:
            got = json.loads(bodies.get(sid, b"{}"))
            hdrs = {k.lower(): v for k, v in got.get("headers", [])} if isinstance(got.get("headers"), list) \
                else {k.lower(): v for k, v in got.get("headers", {}).items()}
            res["echo"].append(hdrs.get("x-dormant"))
        except ValueError:
            res["echo"].append(None)
        res["table_sizes"].append(conn.encoder.header_table_size)

    if a.scenario == "used":
        sid = get("/size/1000", field)
        res["bytes"].append(len(bodies.get(sid, b"")))
        echo()

    # the opening, then dormancy
    next_check = 0.0
    while time.monotonic() < deadline and not res["dormant"] and not a.live:
        if not pump():
            break
        if time.monotonic() >= next_check:
            res["dormant"] = dormant_in_status(a.status, local)
            next_check = time.monotonic() + 0.1
    if not res["dormant"] and not a.live:
        print(json.dumps(res))
        return 0
    print("DORMANT", flush=True)
    res["table_size_dormant"] = conn.encoder.header_table_size

    if a.scenario == "get":
        sid = get("/size/200000")
        res["bytes"].append(len(bodies.get(sid, b"")))
        res["sha256"] = hashlib.sha256(bodies.get(sid, b"")).hexdigest()
        sid = get("/size/10")
        res["bytes"].append(len(bodies.get(sid, b"")))
    elif a.scenario == "ping":
        conn.ping(b"dormant!")
        while time.monotonic() < deadline and not res["ping_ack"]:
            if not pump():
                break
        sid = get("/size/10")
        res["bytes"].append(len(bodies.get(sid, b"")))
    elif a.scenario == "pingwait":
        # woken by a PING alone (no stream), then nothing: the idle
        # timeout must still come
        conn.ping(b"dormant!")
        while time.monotonic() < deadline and res["goaway"] is None:
            if not pump():
                break
    elif a.scenario == "used":
        sock.sendall(b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x03\xe8")  # WINDOW_UPDATE 1, +1000
        ack[0] = True
        sid = get("/size/200000", field)
        res["bytes"].append(len(bodies.get(sid, b"")))
        res["sha256"] = hashlib.sha256(bodies.get(sid, b"")).hexdigest()
        echo()
        echo()
        # HEADERS on stream 1 again: static entries only, so the client's
        # encoder state does not matter
        block = b"\x82" + (b"\x87" if a.tls else b"\x86") + b"\x84\x01\x09localhost"
        sock.sendall(len(block).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" + block)
        while time.monotonic() < deadline and res["goaway"] is None:
            if not pump():
                break
    else:
        while time.monotonic() < deadline and res["goaway"] is None:
            if not pump():
                break
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the test reads the line
        print(json.dumps({"error": repr(e)}))
        sys.exit(2)
