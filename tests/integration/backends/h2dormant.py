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
  wait   nothing: reads until the server's GOAWAY (idle timeout, drain).
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
    ap.add_argument("scenario", choices=["get", "ping", "wait"])
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
    conn.increment_flow_control_window(8 * 1024 * 1024)
    res = {"dormant": False, "status": [], "bytes": [], "sha256": None, "ping_ack": False, "goaway": None}
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
                bodies[ev.stream_id] += ev.data  # no window given back, on purpose
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

    # the opening, then dormancy
    next_check = 0.0
    while time.monotonic() < deadline and not res["dormant"]:
        if not pump():
            break
        if time.monotonic() >= next_check:
            res["dormant"] = dormant_in_status(a.status, local)
            next_check = time.monotonic() + 0.1
    if not res["dormant"]:
        print(json.dumps(res))
        return 0
    print("DORMANT", flush=True)

    def get(path):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "https" if a.tls else "http"),
                                (":authority", "localhost"), (":path", path)], end_stream=True)
        while time.monotonic() < deadline and sid not in done and res["goaway"] is None:
            if not pump():
                break
        return sid

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
