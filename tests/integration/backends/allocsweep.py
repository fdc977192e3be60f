#!/usr/bin/python3
"""The driver of 87-allocation-sweep.sh: fails each allocation of a
scenario in turn, in a running h2gate built with --enable-alloc-fail
(src/runtime/failalloc.h), and judges what the client got.

  allocsweep.py --pid PID --log H2GATE_ERR --arm FILE --ctl SOCKET
                --tls-port P --clear-port P --ca CERT --connect HOST:PORT
                --conf FILE --conf-a FILE --conf-b FILE --check-conf FILE
                --h2gate BIN --h2gatectl BIN
                [--full N] [--points N] [--process-points N] [--only N,...]
                SCENARIO[:K]...

Arming: the driver writes "N K" to FILE and sends SIGUSR2; h2gate
answers on stderr with what the previous arming counted, failed and
held.  For each daemon scenario: a first run warms up what is made once,
three more count its allocations C (the largest), then for each chosen N
in 1..C: arm N (with K failures in a row, default 1), run the scenario
and classify the answer, disarm (which reports whether allocation N
really failed), run the scenario again unarmed (it must succeed: the
daemon serves normally afterwards), and wait until the daemon holds no
connection, stream or tunnel any more.  h2gatectl and `h2gate -t` are
processes armed from their start by H2G_FAIL_ALLOC_AT (and _RUN): their
output must be the unarmed one, or an exit 1 or 2 with a message that
says what happened; no sanitizer report.

N: every one up to --full, then evenly spread points up to --points in
all (always including C), so the time stays bounded; deterministic for a
given C.  --only N,...: those points alone (to look into one, with
H2G_FAIL_ALLOC_TRACE=1 on the daemon).

Outcomes: "ok" (the right answer: the failure was absorbed), "5xx N",
"reset N" (RST_STREAM code), "closed" (connection closed, TLS handshake
failed, GOAWAY), "ctl-error" (the control socket's ok:false, saying out
of memory), "exit N" (a process's status with its message), "held" (the
point fell in a failalloc_hold window: not failed).  Anything else (a
wrong answer, a hang, the daemon dead or not serving afterwards,
something left open) fails the sweep.  Prints one JSON line per
scenario with the figures, and one "FAIL ..." line per problem; exit 1
if any.  H2G_SWEEP_VERBOSE=1 prints every point's outcome,
H2G_SWEEP_TIMEOUT the seconds after which a wait is a hang (20).
"""
import argparse
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from httpbackend import pattern_sha  # noqa: E402

# Long enough that only a hang reaches it: nothing here measures speed.
TIMEOUT = float(os.environ.get("H2G_SWEEP_TIMEOUT", "20"))
# What a refused configuration may say when h2gate ran out of memory:
# that, or (OpenSSL's decoders turn a failed allocation into "decode
# error", its BIOs into "init fail" and the like) an OpenSSL reason about
# a listener's certificate or key, or a route's upstream_tls file.
NOMEM_MESSAGE = rb"(.*(out of memory|Cannot allocate memory|malloc failure)|listen [^ ]+: (certificate|key) .*: error:|" \
    rb".*upstream_tls: (ca|certificate|key) '[^']+': error:)"
REPORT = re.compile(rb"failalloc: counted (\d+), failed (\d+) \(first #(\d+)\), held (\d+) while armed at (\d+) "
                    rb"run (\d+); (?:armed at (\d+)|exit)")


class Broken(Exception):
    """The daemon died, hung or stopped serving: the sweep stops."""


class Daemon:
    def __init__(self, a):
        self.pid = a.pid
        self.armfile = a.arm
        self.log = open(a.log, "rb")
        self.log.seek(0, 2)
        self.pending = b""

    def alive(self):
        try:
            os.kill(self.pid, 0)
            return True
        except OSError:
            return False

    def arm(self, n, run=1):
        """Arms allocation n (0: count only); returns (counted, failed,
        held) of the previous arming."""
        tmp = self.armfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (n, run))
        os.rename(tmp, self.armfile)
        try:
            os.kill(self.pid, signal.SIGUSR2)
        except ProcessLookupError:
            raise Broken("h2gate died")
        deadline = time.monotonic() + TIMEOUT
        while True:
            chunk = self.log.read()
            if chunk:
                self.pending += chunk
                *lines, self.pending = self.pending.split(b"\n")
                for line in lines:
                    m = REPORT.search(line)
                    if m and m.group(7) is not None and int(m.group(7)) == n:
                        return int(m.group(1)), int(m.group(2)), int(m.group(4))
            elif not self.alive():
                raise Broken("h2gate died")
            elif time.monotonic() > deadline:
                raise Broken("h2gate did not answer SIGUSR2")
            else:
                time.sleep(0.001)


# --- clients ---------------------------------------------------------------


def new_result():
    return {"status": None, "headers": {}, "body": b"", "reset": None, "ended": False, "closed": False,
            "hang": False}


class H2:
    """One HTTP/2 connection (h2c prior knowledge or TLS with ALPN h2; or,
    upgrade=True, a cleartext connection that starts as HTTP/1.1 and
    upgrades, see scenario_h2c_upgrade)."""

    def __init__(self, port, ca=None, upgrade=False, pre=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if pre:
            self.sock.sendall(pre)  # a PROXY protocol header, before TLS
        if ca is not None:
            ctx = ssl.create_default_context(cafile=ca)
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="a.test")
            if self.sock.selected_alpn_protocol() != "h2":
                raise ConnectionError("no h2 by ALPN")
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
        if upgrade:
            return
        self.conn.initiate_connection()
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def stream(self, headers, body=None, end=True, on_headers=None, done=None):
        """Sends a request; returns its result once it ended, was reset,
        the connection closed, or done(result) says so."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, headers, end_stream=body is None and end)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end)
        self.flush()
        return self.response(sid, on_headers, done)

    def response(self, sid, on_headers=None, done=None, data=b""):
        """Stream sid's response (data: bytes already read from the
        socket)."""
        r = new_result()
        while not (r["ended"] or r["reset"] is not None or r["closed"] or (done and done(r))):
            if not data:
                data = self.sock.recv(65536)
            if not data:
                r["closed"] = True
                break
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ConnectionTerminated):
                    r["closed"] = True
                if getattr(ev, "stream_id", None) != sid:
                    continue
                if isinstance(ev, h2.events.ResponseReceived):
                    r["headers"] = dict(ev.headers)
                    r["status"] = int(r["headers"][":status"])
                    if on_headers:
                        on_headers(sid, r)
                elif isinstance(ev, h2.events.DataReceived):
                    r["body"] += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded):
                    r["ended"] = True
                elif isinstance(ev, h2.events.StreamReset):
                    r["reset"] = ev.error_code
            data = b""
            self.flush()
        return r

    def close(self):
        """Ends the connection and waits for the daemon's side to close, so
        that its teardown belongs to this scenario."""
        try:
            self.conn.close_connection()
            self.flush()
            self.sock.shutdown(socket.SHUT_WR)
            while self.sock.recv(65536):
                pass
        except (OSError, h2.exceptions.ProtocolError):
            pass
        self.sock.close()


def guarded(fn):
    """Runs one client exchange; transport errors are the daemon closing
    the connection (or failing the handshake), a timeout is a hang."""
    try:
        return fn()
    except socket.timeout:
        r = new_result()
        r["hang"] = True
        return r
    except (OSError, ssl.SSLError, ConnectionError, h2.exceptions.ProtocolError):
        r = new_result()
        r["closed"] = True
        return r


def classify(r, good):
    if r["hang"]:
        return "HANG"
    if good(r):
        return "ok"
    if r["status"] is not None and 500 <= r["status"] <= 599:
        return "5xx %d" % r["status"]
    if r["reset"] is not None:
        return "reset %d" % r["reset"]
    if r["closed"] and not r["ended"]:
        return "closed"
    return "WRONG status=%s ended=%s reset=%s body=%r" % (r["status"], r["ended"], r["reset"], r["body"][:120])


def get_headers(path, authority="a.test", scheme="http", method="GET", extra=()):
    return [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)] + list(extra)


def h2_exchange(port, ca, headers, body, good, pre=b"", **kw):
    def run():
        c = H2(port, ca, pre=pre)
        try:
            return c.stream(headers, body, **kw)
        finally:
            c.close()
    return classify(guarded(run), good)


# --- scenarios ---------------------------------------------------------------

SIZE = 3000
BODY = bytes(range(256)) * 40


def sha_reply(r):
    return r["status"] == 200 and r["ended"] and \
        r["body"] == b"sha256=%s bytes=%d\n" % (hashlib.sha256(BODY).hexdigest().encode(), len(BODY))


def size_reply(r):
    return r["status"] == 200 and r["ended"] and len(r["body"]) == SIZE and \
        hashlib.sha256(r["body"]).hexdigest() == pattern_sha(SIZE)


def scenario_tls(a):
    return h2_exchange(a.tls_port, a.ca, get_headers("/size/%d" % SIZE, scheme="https"), None, size_reply)


class TlsWake:
    """A TLS connection asleep (conn_sleep: its SSL kept, the filter, the
    socket's bufferevent and the reader given back; the session dormant)
    woken by a GET: what waking makes again fails in turn."""

    def __init__(self, a):
        self.a = a
        self.c = None

    def asleep(self, peer):
        c = Ctl(self.a.ctl)
        try:
            rep = c.ask({"cmd": "sessions"})
        finally:
            c.close()
        res = rep.get("result") if rep else None
        rows = res.get("sessions", []) if isinstance(res, dict) else res or []
        return any(s.get("peer") == peer and s.get("asleep") for s in rows)

    def prepare(self):
        """Before arming: a connection that opened no stream, asleep once
        it has acknowledged the daemon's SETTINGS and PING."""
        self.c = c = H2(self.a.tls_port, self.a.ca)
        peer = "%s:%d" % c.sock.getsockname()[:2]
        deadline = time.monotonic() + TIMEOUT
        c.sock.settimeout(0.005)
        while not self.asleep(peer):
            if time.monotonic() > deadline:
                raise Broken("a TLS connection did not go to sleep")
            try:
                c.conn.receive_data(c.sock.recv(65536))
            except (socket.timeout, ssl.SSLWantReadError):
                pass
            c.flush()
        c.sock.settimeout(TIMEOUT)

    def run(self):
        c, self.c = self.c, None

        def go():
            try:
                return c.stream(get_headers("/size/%d" % SIZE, scheme="https"), None)
            finally:
                c.close()
        return classify(guarded(go), size_reply)


# A PROXY protocol v2 header (IPv4, with TLVs) from 192.0.2.7:56324.
PROXY_V2 = b"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a\x21\x11\x00\x14" + \
    bytes([192, 0, 2, 7, 127, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]) + b"\x01\x00\x02h2\x04\x00\x00"


def scenario_tls_proxy(a):
    def good(r):
        return r["status"] == 200 and r["ended"] and b"192.0.2.7" in r["body"]
    return h2_exchange(a.proxy_port, a.ca, get_headers("/echo-headers", scheme="https"), None, good, pre=PROXY_V2)


def scenario_h2_body(a):
    return h2_exchange(a.clear_port, None, get_headers("/sha256", method="POST",
                                                       extra=[("content-length", str(len(BODY)))]), BODY, sha_reply)


def echo_post(a, path):
    """A POST of BODY to PATH (an HTTP/2 upstream's /echo): its sha256
    must come back in the JSON answer."""
    def good(r):
        try:
            return r["status"] == 200 and r["ended"] and \
                json.loads(r["body"])["sha256"] == hashlib.sha256(BODY).hexdigest()
        except ValueError:
            return False
    return h2_exchange(a.clear_port, None, get_headers(path, method="POST",
                                                       extra=[("content-length", str(len(BODY)))]), BODY, good)


def scenario_h2c_upstream(a):
    """A POST through an HTTP/2 upstream (h2c://, node's h2backend.js)."""
    return echo_post(a, "/h2up/echo")


def scenario_h2_tls_upstream(a):
    """A POST through an HTTP/2 upstream over TLS (h2://, node's secure
    h2backend.js, its connection kept between runs)."""
    return echo_post(a, "/h2tls/echo")


def scenario_https_upstream(a):
    """A GET through an HTTP/1.1 upstream over TLS (https://, the python
    backend's /close, routed there: a new TLS connection each run, resuming the last
    session, and a body that ends at the upstream's close)."""
    def good(r):
        return r["status"] == 200 and r["ended"] and len(r["body"]) == SIZE and \
            hashlib.sha256(r["body"]).hexdigest() == pattern_sha(SIZE)
    return h2_exchange(a.clear_port, None, get_headers("/close?n=%d" % SIZE), None, good)


def h1_read_response(sock, buf=b""):
    """status, headers, body, complete (False when the connection closed
    before the body's end); buf: bytes already read."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            return None, {}, b"", False
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        fields[k.strip().lower()] = v.strip()
    n = int(fields.get("content-length", "-1"))
    if n < 0:  # chunked or close-delimited: read to the end
        while True:
            d = sock.recv(65536)
            if not d:
                break
            body += d
        return status, fields, body, "content-length" not in fields and "chunked" not in fields.get("transfer-encoding", "")
    while len(body) < n:
        d = sock.recv(65536)
        if not d:
            return status, fields, body, False
        body += d
    return status, fields, body[:n], True


def scenario_h1(a):
    def run():
        r = new_result()
        s = socket.create_connection(("127.0.0.1", a.clear_port), timeout=TIMEOUT)
        try:
            s.sendall(b"POST /sha256 HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
            status, fields, body, complete = h1_read_response(s)
            r["status"], r["headers"], r["body"] = status, fields, body
            r["ended"] = complete
            r["closed"] = not complete
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        finally:
            s.close()
        return r
    return classify(guarded(run), sha_reply)


def scenario_h2c_upgrade(a):
    """GET /size over HTTP/1.1 with "Upgrade: h2c" (RFC 7540 3.2): after
    the 101 the response comes on stream 1 over HTTP/2; without memory
    for the 101, over HTTP/1.1 (an upgrade need not be taken, RFC 9110
    7.8)."""
    def good(r):
        return r["status"] == 200 and r["ended"] and len(r["body"]) == SIZE and \
            hashlib.sha256(r["body"]).hexdigest() == pattern_sha(SIZE)

    def run():
        c = H2(a.clear_port, upgrade=True)
        h2_spoken = False
        try:
            settings = c.conn.initiate_upgrade_connection()
            c.sock.sendall(b"GET /size/%d HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                           b"Upgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n" % (SIZE, settings))
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.sock.recv(65536)
                if not d:
                    r = new_result()
                    r["closed"] = True
                    return r
                buf += d
            if not buf.startswith(b"HTTP/1.1 101 "):
                r = new_result()
                r["status"], r["headers"], r["body"], r["ended"] = h1_read_response(c.sock, buf)
                r["closed"] = not r["ended"]
                return r
            h2_spoken = True
            c.flush()  # the preface
            return c.response(1, data=buf.split(b"\r\n\r\n", 1)[1])
        finally:
            if h2_spoken:
                c.close()
            else:  # still HTTP/1.1: no frame may be sent
                try:
                    c.sock.shutdown(socket.SHUT_WR)
                    while c.sock.recv(65536):
                        pass
                except OSError:
                    pass
                c.sock.close()
    return classify(guarded(run), good)


WS_TEXT = b"hello over h2gate"


def ws_frame(payload, mask=b"\x01\x02\x03\x04"):
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def scenario_ws(a):
    echo = bytes([0x81, len(WS_TEXT)]) + WS_TEXT

    def run():
        c = H2(a.clear_port)
        try:
            def on_headers(sid, r):
                if r["status"] == 200:
                    c.conn.send_data(sid, ws_frame(WS_TEXT))
            r = c.stream(get_headers("/ws", method="CONNECT", extra=[(":protocol", "websocket"),
                                                                     ("sec-websocket-version", "13")]),
                         end=False, on_headers=on_headers, done=lambda r: len(r["body"]) >= len(echo))
            return r
        finally:
            c.close()
    return classify(guarded(run), lambda r: r["status"] == 200 and r["body"] == echo)


def scenario_connect(a):
    line = b"ping through the tunnel\n"

    def run():
        c = H2(a.clear_port)
        try:
            def on_headers(sid, r):
                if r["status"] == 200:
                    c.conn.send_data(sid, line, end_stream=True)
            return c.stream([(":method", "CONNECT"), (":authority", a.connect)], end=False, on_headers=on_headers)
        finally:
            c.close()
    bye = b"BYE %d %s\n" % (len(line), hashlib.sha256(line).hexdigest().encode())
    return classify(guarded(run), lambda r: r["status"] == 200 and r["ended"] and r["body"] == line + bye)


class Ctl:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def ask(self, req):
        """The decoded reply, or None when the daemon closed the socket."""
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                return None
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.sock.close()


def ctl_outcome(fn):
    try:
        return fn()
    except socket.timeout:
        return "HANG"
    except OSError:
        return "closed"


def scenario_ctl(a, daemon):
    def run():
        c = Ctl(a.ctl)
        try:
            out = "ok"
            checks = [({"cmd": "status"}, lambda r: r["pid"] == daemon.pid and len(r["listeners"]) == 3 and
                       r["config_file"] == a.conf and set(r["sessions"]) == {"h2", "h2c", "http/1.1"}),
                      ({"cmd": "sessions"}, lambda r: r == []),
                      ({"cmd": "stats"}, lambda r: "requests_total" in r["counters"] and
                       len(r["histograms"]["request_duration_seconds"]["buckets"]) > 1)]
            for req, good in checks:
                rep = c.ask(req)
                if rep is None:
                    return "closed"
                if rep.get("ok") is False and isinstance(rep.get("error"), str):
                    out = "ctl-error"
                    continue
                try:
                    if rep.get("ok") is True and good(rep["result"]):
                        continue
                except (KeyError, TypeError):
                    pass
                return "WRONG %s: %s" % (req["cmd"], json.dumps(rep)[:300])
            return out
        finally:
            c.close()
    return ctl_outcome(run)


def backend_of(a):
    r = guarded(lambda: H2_get(a))
    if r["status"] == 200 and r["ended"]:
        return r["headers"].get("x-backend")
    return None


def H2_get(a):
    c = H2(a.clear_port)
    try:
        return c.stream(get_headers("/size/10"))
    finally:
        c.close()


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Reload:
    """Reload by the control socket, alternating between two files that
    route to backends A and B.  A reload answered ok must be in force at
    once (the next request goes to the new backend), one answered with
    an error must have left the running one."""

    def __init__(self, a, daemon):
        self.a = a
        self.daemon = daemon
        self.current = "A"

    def install(self, which):
        src = self.a.conf_a if which == "A" else self.a.conf_b
        with open(src, "rb") as f, open(self.a.conf + ".tmp", "wb") as g:
            g.write(f.read())
        os.rename(self.a.conf + ".tmp", self.a.conf)

    def prepare(self):
        """Before arming: the file the reload will read."""
        self.next = "B" if self.current == "A" else "A"
        self.install(self.next)

    def run(self):
        def go():
            c = Ctl(self.a.ctl)
            try:
                rep = c.ask({"cmd": "reload"})
            finally:
                c.close()
            if rep is None:
                return "closed", None
            if rep.get("ok") is True:
                return "ok", self.next
            if rep.get("ok") is False and rep.get("errors"):
                # each message must own up to the lack of memory
                bad = [e for e in rep["errors"] if not re.search(NOMEM_MESSAGE, e.encode())]
                if bad:
                    return "WRONG reload error %s" % json.dumps(bad)[:300], None
                return "ctl-error", self.current
            if rep.get("ok") is False and rep.get("error") == "out of memory":
                # the request, or the answer, could not be made: either
                # file may be in force (verify tells they agree)
                return "ctl-error", None
            return "WRONG reply %s" % json.dumps(rep)[:300], None
        try:
            out, expect = go()
        except socket.timeout:
            return "HANG"
        except OSError:
            out, expect = "closed", None
        if out.startswith("WRONG"):
            return out
        b = backend_of(self.a)
        if b is None:
            return out if out != "ok" else "reloaded, GET failed"
        if expect is not None and b != expect:
            return "WRONG reload answered %s but backend %s serves (expected %s)" % (out, b, expect)
        self.current = b
        return out

    def verify(self):
        """Unarmed: the daemon's idea of its file and the worker's routing
        agree, and a reload works."""
        b = backend_of(self.a)
        st = ctl_ask_status(self.a)
        if b is None or st is None:
            return "no answer after: backend=%s status=%s" % (b, st is not None)
        self.current = b
        want = file_sha(self.a.conf_a if b == "A" else self.a.conf_b)
        if st["config_sha256"] != want:
            return "WRONG backend %s serves but the daemon has loaded %s" % (b, st["config_sha256"][:12])
        return None


def ctl_ask_status(a):
    try:
        c = Ctl(a.ctl)
        try:
            rep = c.ask({"cmd": "status"})
        finally:
            c.close()
    except OSError:
        return None
    return rep["result"] if rep and rep.get("ok") else None


def wait_idle(a):
    """Every connection, stream and tunnel of the scenario is gone (the
    client closed them all): nothing is left behind."""
    deadline = time.monotonic() + TIMEOUT
    st = None
    while time.monotonic() < deadline:
        st = ctl_ask_status(a)
        if st and st["connections"] == 0 and st["streams"] == 0 and st["tunnels"] == 0:
            return None
        time.sleep(0.005)
    return "left behind: %s" % (json.dumps({k: st[k] for k in ("connections", "streams", "tunnels")}) if st else "no status")


# --- processes armed from their start: h2gatectl, h2gate -t --------------------


def armed_process(argv, n, env_extra=None, k=1):
    env = dict(os.environ, H2G_FAIL_ALLOC_AT=str(n), H2G_FAIL_ALLOC_RUN=str(k), **(env_extra or {}))
    p = subprocess.run(argv, env=env, capture_output=True, timeout=TIMEOUT)
    m = REPORT.search(p.stderr)
    return p.returncode, p.stdout, p.stderr, (int(m.group(1)), int(m.group(2))) if m else None


def sweep_process(a, name, argv, message, k=1, total=None):
    """Every N: the process's output is the unarmed one with status 0, or
    it exits 1 or 2 with a `message` line on stderr; no sanitizer report."""
    res = {"scenario": name, "allocations": 0, "tried": 0, "failed": 0, "outcomes": {}, "fail": []}
    rc, ref, err, rep = armed_process(argv, 0)
    if rc != 0 or rep is None:
        res["fail"].append("unarmed run failed (%d): %s" % (rc, err.decode(errors="replace")[-300:]))
        return res
    res["allocations"] = rep[0]
    total = total or a.points
    for n in points(rep[0], min(a.full, total // 2), total, a.only):
        rc, out, err, rep = armed_process(argv, n, None, k)
        sane = b"Sanitizer" not in err and b"runtime error" not in err
        if rc == 0 and out == ref and sane:
            o = "ok"
        elif rc in (1, 2) and sane and re.search(message, err, re.M):
            o = "exit %d" % rc
        else:
            o = "WRONG rc=%d stdout=%r stderr=%r" % (rc, out[-200:], err[-600:])
        tally(res, n, o, rep is not None and rep[1] > 0)
        if len(res["fail"]) > 10:
            break
    return res


# --- the sweep ------------------------------------------------------------------


def points(count, full_up_to, total, only=None):
    if only:
        return [int(n) for n in only.split(",")]
    if count <= total:
        return list(range(1, count + 1))
    full = list(range(1, min(full_up_to, count) + 1))
    rest = total - len(full)
    lo = len(full) + 1
    step = (count - lo) / max(rest - 1, 1)
    spread = sorted({min(count, lo + round(i * step)) for i in range(rest)} | {count})
    return full + [n for n in spread if n > len(full)]


VERBOSE = os.environ.get("H2G_SWEEP_VERBOSE") == "1"


def tally(res, n, outcome, fired):
    if VERBOSE:
        print("  %s N=%d %s%s" % (res["scenario"], n, outcome, "" if fired else " (not reached)"), flush=True)
    res["tried"] += 1
    if fired:
        res["failed"] += 1
    key = outcome if not outcome.startswith(("WRONG", "HANG")) else "wrong"
    res["outcomes"][key] = res["outcomes"].get(key, 0) + 1
    if key == "wrong":
        res["fail"].append("N=%d: %s" % (n, outcome))


def sweep(a, daemon, name, run, verify=None, prepare=None, k=1):
    res = {"scenario": name, "allocations": 0, "counts": [], "tried": 0, "failed": 0, "outcomes": {}, "fail": []}
    # A first run warms up what is made once (the upstream connection,
    # OpenSSL's per-thread state): its allocations are not the scenario's.
    for i in range(4):
        if prepare:
            prepare()
        daemon.arm(0)
        o = run()
        c = daemon.arm(0)[0]
        if o != "ok":
            res["fail"].append("unarmed run: %s" % o)
            return res
        if i > 0:
            res["counts"].append(c)
    res["allocations"] = max(res["counts"])
    for n in points(res["allocations"], a.full, a.points, a.only):
        if prepare:
            prepare()
        daemon.arm(n, k)
        o = run()
        _, failed, held = daemon.arm(0)
        if held and not failed:
            o = "held" if o == "ok" else o
        tally(res, n, o, failed > 0)
        if prepare:
            prepare()
        after = run()
        if after != "ok":
            res["fail"].append("N=%d: %s, then the next %s: %s" % (n, o, name, after))
            break
        problem = (verify() if verify else None) or wait_idle(a)
        if problem:
            res["fail"].append("N=%d: %s, then %s" % (n, o, problem))
            break
        if len(res["fail"]) > 10:
            break
    return res


def main():
    ap = argparse.ArgumentParser()
    for k in ("log", "arm", "ctl", "ca", "connect", "conf", "conf_a", "conf_b", "h2gatectl", "h2gate",
              "check_conf"):
        ap.add_argument("--" + k.replace("_", "-"), required=True)
    for k in ("pid", "tls_port", "clear_port", "proxy_port"):
        ap.add_argument("--" + k.replace("_", "-"), type=int, required=True)
    ap.add_argument("--full", type=int, default=800)
    ap.add_argument("--points", type=int, default=1500)
    ap.add_argument("--process-points", type=int, default=400)
    ap.add_argument("--only", help="N,N,...: these points only (to look into one)")
    ap.add_argument("scenarios", nargs="+")
    a = ap.parse_args()
    daemon = Daemon(a)
    reload = Reload(a, daemon)
    wake = TlsWake(a)
    # A scenario "NAME:K" fails K allocations in a row from N: the code
    # that handles the first failure then meets failures of its own.
    table = {
        "tls-handshake": lambda n, k: sweep(a, daemon, n, lambda: scenario_tls(a), k=k),
        "tls-wake": lambda n, k: sweep(a, daemon, n, wake.run, None, wake.prepare, k=k),
        "tls-proxy": lambda n, k: sweep(a, daemon, n, lambda: scenario_tls_proxy(a), k=k),
        "h2-body": lambda n, k: sweep(a, daemon, n, lambda: scenario_h2_body(a), k=k),
        "h2c-upstream": lambda n, k: sweep(a, daemon, n, lambda: scenario_h2c_upstream(a), k=k),
        "h2-tls-upstream": lambda n, k: sweep(a, daemon, n, lambda: scenario_h2_tls_upstream(a), k=k),
        "https-upstream": lambda n, k: sweep(a, daemon, n, lambda: scenario_https_upstream(a), k=k),
        "http1": lambda n, k: sweep(a, daemon, n, lambda: scenario_h1(a), k=k),
        "h2c-upgrade": lambda n, k: sweep(a, daemon, n, lambda: scenario_h2c_upgrade(a), k=k),
        "ws-h2": lambda n, k: sweep(a, daemon, n, lambda: scenario_ws(a), k=k),
        "connect": lambda n, k: sweep(a, daemon, n, lambda: scenario_connect(a), k=k),
        "reload": lambda n, k: sweep(a, daemon, n, reload.run, reload.verify, reload.prepare, k=k),
        "control": lambda n, k: sweep(a, daemon, n, lambda: scenario_ctl(a, daemon), k=k),
        "h2gatectl": lambda n, k: sweep_process(a, n, [a.h2gatectl, "-s", a.ctl, "config"], rb"^h2gatectl: ", k=k),
        # h2gate -t: a process per point, hence fewer points.
        "config-check": lambda n, k: sweep_process(a, n, [a.h2gate, "-t", "-c", a.check_conf],
                                                   rb"^%s: %s" % (re.escape(a.check_conf.encode()), NOMEM_MESSAGE),
                                                   k=k, total=a.process_points),
    }
    bad = 0
    for name in a.scenarios:
        t0 = time.monotonic()
        base, _, k = name.partition(":")
        try:
            res = table[base](name, int(k or 1))
        except Broken as e:
            res = {"scenario": name, "fail": [str(e)]}
        res["seconds"] = round(time.monotonic() - t0, 1)
        for f in res.get("fail", []):
            print("FAIL %s: %s" % (name, f), flush=True)
            bad += 1
        print(json.dumps(res), flush=True)
        if not daemon.alive():
            print("FAIL: h2gate is gone", flush=True)
            return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
