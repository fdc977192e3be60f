#!/usr/bin/python3
"""Static file server (HTTP/1.1, keep-alive) for the h2gate browser test.

  staticpage.py --port N --dir DIR [--log FILE]

GET /NAME serves DIR/NAME (GET / serves DIR/index.html) with Content-Length
and a Content-Type from the extension; anything else is 404.  Each request
is logged as "GET PATH STATUS".
GET /wait is answered only once GET /done came (or after 30 s): a page
with <img src="/wait"> has its load event (and so chromium --dump-dom)
held until its script has requested /done.
"""
import argparse
import http.server
import os
import sys
import threading
import time

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".txt": "text/plain"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    logf = open(a.log, "a") if a.log else None
    root = os.path.realpath(a.dir)
    done = threading.Event()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if logf:
                logf.write("ARRIVE %s %.3f\n" % (self.path, time.time()))
                logf.flush()
            if path == "/done":
                done.set()
            if path == "/wait":
                done.wait(30)
            if path in ("/done", "/wait"):
                self.send_simple(200, b"ok\n", "text/plain")
                return
            name = "index.html" if path == "/" else path.lstrip("/")
            f = os.path.realpath(os.path.join(root, name))
            status, body, ctype = 404, b"not found\n", "text/plain"
            if f.startswith(root + os.sep) and os.path.isfile(f):
                with open(f, "rb") as fh:
                    body = fh.read()
                status = 200
                ctype = TYPES.get(os.path.splitext(f)[1], "application/octet-stream")
            self.send_simple(status, body, ctype)

        def send_simple(self, status, body, ctype):
            if logf:
                logf.write("GET %s %d\n" % (self.path, status))
                logf.flush()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    print("READY static %d" % a.port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
