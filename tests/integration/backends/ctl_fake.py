#!/usr/bin/python3
"""A fake h2gate control socket for the h2gatectl tests.

  ctl_fake.py --socket PATH [--log FILE] [--mode MODE] [--reload-fail]

Listens on a unix stream socket (mode 0600) and answers the control
protocol with canned JSON: one JSON object per request line, one JSON
line per answer, several requests per connection.  Every request line is
appended to --log (as received).  MODE:
  normal   canned answers (default)
  garbage  answers a line that is not JSON
  close    closes the connection without answering
  silent   reads the request and never answers (client timeout)
  shape    answers ok:true with results of the wrong shape
  split    writes each answer in small pieces with pauses
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

STATUS = {
    "version": "0.1.0", "pid": 4242, "uptime_s": 3725,
    "config_file": "/etc/h2gate/h2gate.yaml",
    "config_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "workers": 2,
    "listeners": [
        {"address": "127.0.0.1:8443", "tls": True, "protocols": ["h2", "http/1.1"]},
        {"address": "127.0.0.1:8080", "tls": False, "protocols": ["h2"]},
    ],
    "connections": 3, "sessions": {"h2": 2, "h2c": 1, "http/1.1": 0},
    "streams": 5, "tunnels": 1, "upstream_connections": {"open": 7, "idle": 3},
    "reloads": 2, "last_reload": "ok", "draining": False,
}

SESSIONS = [
    {"id": 7, "worker": 0, "peer": "127.0.0.1:50010", "alpn": "h2", "tls_version": "TLSv1.3",
     "sni": "a.test", "age_s": 1.5, "streams_open": 2, "streams_total": 40,
     "local_window": 16777216, "remote_window": 65535, "bytes_in": 1234, "bytes_out": 5242880,
     "frames_in": 50, "frames_out": 420, "ping_rtt_ms": 0.12},
    {"id": 12, "worker": 1, "peer": "[::1]:50022", "alpn": "h2c", "tls_version": None,
     "sni": None, "age_s": 4000.0, "streams_open": 0, "streams_total": 1,
     "local_window": 1048576, "remote_window": 1048576, "bytes_in": 100, "bytes_out": 200,
     "frames_in": 3, "frames_out": 4, "ping_rtt_ms": None},
]

STREAMS = [
    {"id": 1, "method": "GET", "authority": "a.test", "path": "/size/8388608", "state": "half-closed",
     "upstream": "127.0.0.1:9000", "bytes_in": 0, "bytes_out": 3145728, "age_s": 0.3},
    {"id": 3, "method": "CONNECT", "authority": "echo.test:7", "path": None, "state": "tunnel",
     "upstream": None, "bytes_in": 10, "bytes_out": 10, "age_s": 12.0},
]

TUNNELS = [
    {"session": 7, "stream": 3, "kind": "connect", "target": "echo.test:7",
     "bytes_up": 10, "bytes_down": 2048, "age_s": 75, "idle_s": 2},
    {"session": 7, "stream": 5, "kind": "websocket", "target": "127.0.0.1:9001",
     "bytes_up": 5, "bytes_down": 6, "age_s": 3.5, "idle_s": 0},
]

STATS = {
    "counters": {
        "connections_total": 31, "requests_total": 1200,
        "responses": {"1xx": 0, "2xx": 1100, "3xx": 0, "4xx": 90, "5xx": 10},
        "upstream_errors": 10, "tunnels_total": 4, "bytes_in": 4096, "bytes_out": 8388608,
        "refused_streams": 1, "goaways": 2, "reloads": 2},
    "histograms": {"request_duration_seconds": {
        "buckets": [[0.001, 100], [0.005, 800], [0.025, 1150], [0.1, 1190], [1, 1200], ["+Inf", 1200]],
        "sum": 6.5, "count": 1200}},
}

CONFIG = {
    "workers": 2, "user": "",
    "listen": [{"address": "127.0.0.1:8443",
                "tls": {"certificate": "/etc/h2gate/cert.pem", "key": "/etc/h2gate/key.pem", "sni": []},
                "protocols": ["h2", "http/1.1"]}],
    "origins": [{"hosts": ["a.test"], "altsvc": None,
                 "routes": [{"path": "/", "upstream": ["http://127.0.0.1:9000"], "websocket": False}]}],
    "origin_set": [],
    "connect": {"allow": ["*:443"], "deny": []},
    "limits": {"max_concurrent_streams": 128, "initial_window_size": 1048576},
    "timeouts": {"handshake": 10000, "idle": 120000},
    "log": {"level": "info", "access": "stdout"},
    "control": {"socket": "/run/h2gate/control.sock"},
    "metrics": {"listen": ""},
}

DIFF = {
    "listeners": {"added": ["127.0.0.1:9443"], "removed": []},
    "origins": {"added": ["b.test"], "removed": ["old.test"], "changed": ["a.test"]},
    "routes": {"added": ["b.test /"], "removed": []},
    "limits": {"max_concurrent_streams": [128, 256]},
    "timeouts": {"idle": [120000, 60000]},
}


def answer(req, args):
    cmd = req.get("cmd")
    if args.mode == "shape":
        return {"ok": True, "result": "surprise"}
    if cmd == "status":
        return {"ok": True, "result": STATUS}
    if cmd == "sessions":
        return {"ok": True, "result": [] if args.empty else SESSIONS}
    if cmd == "session":
        sid = req.get("id")
        if not isinstance(sid, int):
            return {"ok": False, "error": "session: 'id' must be an integer"}
        for s in SESSIONS:
            if s["id"] == sid:
                d = dict(s)
                d["streams"] = STREAMS
                return {"ok": True, "result": d}
        return {"ok": False, "error": "no such session"}
    if cmd == "tunnels":
        return {"ok": True, "result": [] if args.empty else TUNNELS}
    if cmd == "stats":
        return {"ok": True, "result": STATS}
    if cmd == "reload":
        if args.reload_fail:
            return {"ok": False, "error": "reload failed: the running configuration stays",
                    "errors": ["/etc/h2gate/h2gate.yaml:2:1: unknown key 'workerz' (did you mean 'workers'?)",
                               "/etc/h2gate/h2gate.yaml:9:5: limits.max_frame_size: 1 is out of range (16384..16777215)"]}
        return {"ok": True, "result": {"reloaded": True}}
    if cmd == "drain":
        return {"ok": True, "result": {"draining": True}}
    if cmd == "check":
        f = req.get("file", "")
        if not f.startswith("/"):
            return {"ok": False, "error": "check: 'file' must be an absolute path"}
        if "bad" in os.path.basename(f):
            errs = [f + ":2:1: unknown key 'workerz' (did you mean 'workers'?)"]
            return {"ok": False, "error": "invalid configuration",
                    "result": {"valid": False, "errors": errs, "diff": None}, "errors": errs}
        if "same" in os.path.basename(f):
            return {"ok": True, "result": {"valid": True, "errors": [], "diff": {
                "listeners": {"added": [], "removed": []},
                "origins": {"added": [], "removed": [], "changed": []},
                "routes": {"added": [], "removed": []}, "limits": {}, "timeouts": {}}}}
        return {"ok": True, "result": {"valid": True, "errors": [], "diff": DIFF}}
    if cmd == "config":
        return {"ok": True, "result": CONFIG}
    return {"ok": False, "error": "unknown command '%s'" % cmd}


def serve(conn, args, log):
    buf = b""
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if log:
                    with open(log, "ab") as f:
                        f.write(line + b"\n")
                if args.mode == "close":
                    return
                if args.mode == "silent":
                    time.sleep(60)
                    return
                if args.mode == "garbage":
                    conn.sendall(b"this is not json\n")
                    continue
                try:
                    req = json.loads(line)
                    resp = answer(req, args) if isinstance(req, dict) else \
                        {"ok": False, "error": "request is not a JSON object"}
                except ValueError as e:
                    resp = {"ok": False, "error": "bad JSON: %s" % e}
                out = (json.dumps(resp) + "\n").encode()
                if args.mode == "split":
                    for i in range(0, len(out), 7):
                        conn.sendall(out[i:i + 7])
                        time.sleep(0.002)
                else:
                    conn.sendall(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log")
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "garbage", "close", "silent", "shape", "split"])
    ap.add_argument("--reload-fail", action="store_true")
    ap.add_argument("--empty", action="store_true", help="no sessions, no tunnels")
    args = ap.parse_args()
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    s.bind(args.socket)
    os.umask(old)
    os.chmod(args.socket, 0o600)
    s.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, args, args.log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
