#!/usr/bin/python3
"""Preview of the status page without a daemon (for editing the page).

  statuspreview.py --port N [--page FILE] [--fixture FILE] [--fail-after N]

GET / serves the page (default src/process/status_page.html), GET /status
the fixture (default backends/status_fixture.json) with its counters
advanced on each poll (requests and status classes, bytes, tunnel bytes),
so the rates and charts move.  With --fail-after N, every /status after
the Nth answers 503 (to see the stale state).  Anything else: 404.
"""
import argparse
import copy
import http.server
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def advance(d, n, rnd):
    d["uptime_s"] += 1
    for o in d.get("origins", []):
        for r in o.get("routes", []):
            k = rnd.randint(0, 40) * (1 + n % 7)
            r["requests"] += k
            resp = r["responses"]
            bad = k // 50 if rnd.random() < 0.3 else 0
            resp["5xx"] += bad
            resp["2xx"] += k - bad
            r["bytes_out"] += k * rnd.randint(100, 50000)
            lat = r["upstream_latency"]
            for b in lat["buckets"]:
                b[1] += k
            lat["count"] += k
    for t in d.get("tunnel_list", []):
        t["bytes_down"] += rnd.randint(0, 100000)
        t["age_s"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--page", default=os.path.join(TOP, "src", "process", "status_page.html"))
    ap.add_argument("--fixture", default=os.path.join(HERE, "status_fixture.json"))
    ap.add_argument("--fail-after", type=int, default=0)
    a = ap.parse_args()
    state = {"doc": json.load(open(a.fixture)), "n": 0}
    rnd = random.Random(1)

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/":
                self.send(200, "text/html; charset=utf-8", open(a.page, "rb").read())
            elif self.path == "/status":
                state["n"] += 1
                if a.fail_after and state["n"] > a.fail_after:
                    self.send(503, "text/plain", b"unavailable\n")
                    return
                advance(state["doc"], state["n"], rnd)
                self.send(200, "application/json", json.dumps(copy.deepcopy(state["doc"])).encode())
            else:
                self.send(404, "text/plain", b"not found\n")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print("READY", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
