#!/usr/bin/python3
"""Raw HTTP/2 (h2c prior knowledge) client built on the python h2 library.

  h2raw.py malformed --port P --case CASE
      sends one request made malformed on purpose (CASE: connection,
      uppercase, transfer-encoding, te-gzip, no-path, host-mismatch-ok) and
      prints one JSON object {case, outcome, status, error_code}
      outcome: "status" (a response came), "reset" (RST_STREAM),
      "goaway" (connection-level error), "closed"; then checks the
      connection still works with a GET / on a new stream ("alive").

  h2raw.py tcpstall [--tls] --port P --pid PID --path /size/N [--wait S]
      flow-control windows wide open, reads 256 KiB, then does not read
      its socket for S seconds; samples VmRSS like slowreader, reads the
      rest; prints JSON {growth_kb, first_read, bytes, sha256, status}.
  h2raw.py slowreader --port P --pid PID --path /size/N [--wait S]
      opens one stream, reads only the initial 65535-byte window without
      sending WINDOW_UPDATE, waits S seconds, samples the daemon's VmRSS
      (from /proc/PID/status) before the request and after the wait, then
      reads the rest with WINDOW_UPDATEs; prints JSON {rss_before_kb,
      rss_after_kb, growth_kb, first_read, bytes, sha256, status}.
"""
import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Client:
    def __init__(self, port, validate=True, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.alpn = None
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
            self.alpn = self.sock.selected_alpn_protocol()
        cfg = h2.config.H2Configuration(
            client_side=True, header_encoding=None,
            validate_outbound_headers=validate, normalize_outbound_headers=validate,
            validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.flush()
        self.closed = False
        self.goaway = None

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def events(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            return []
        except ConnectionError:
            data = b""
        if not data:
            self.closed = True
            return []
        try:
            evs = self.conn.receive_data(data)
        except Exception as e:  # protocol error from the peer's side
            self.closed = True
            return [("error", str(e))]
        self.flush()
        return evs


def cmd_malformed(a):
    base = [(b":method", b"GET"), (b":scheme", b"http"),
            (b":authority", b"127.0.0.1:%d" % a.port), (b":path", b"/echo-headers")]
    extra = {
        "connection": [(b"connection", b"keep-alive")],
        "keep-alive": [(b"keep-alive", b"timeout=5")],
        "uppercase": [(b"X-Upper", b"yes")],
        "transfer-encoding": [(b"transfer-encoding", b"chunked")],
        "te-gzip": [(b"te", b"gzip")],
        "upgrade": [(b"upgrade", b"websocket")],
        "space-in-name": [(b"x bad", b"1")],
        "newline-in-value": [(b"x-bad", b"a\r\nx-injected: 1")],
    }
    if a.case == "no-path":
        hdrs = [h for h in base if h[0] != b":path"]
    elif a.case == "bad-pseudo":
        hdrs = base + [(b":foo", b"bar")]
    elif a.case == "pseudo-after-regular":
        hdrs = base[:3] + [(b"x-a", b"1")] + base[3:]
    else:
        hdrs = base + extra[a.case]
    c = Client(a.port, validate=False)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, hdrs, end_stream=True)
    c.flush()
    res = {"case": a.case, "outcome": None, "status": None, "error_code": None}
    deadline = time.time() + 10
    while res["outcome"] is None and not c.closed and time.time() < deadline:
        for ev in c.events(timeout=1):
            if isinstance(ev, tuple):
                res["outcome"] = "protocol-error"
                res["error_code"] = ev[1]
            elif isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                st = dict(ev.headers).get(b":status")
                res["status"] = int(st) if st else None
                res["outcome"] = "status"
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                res["outcome"] = "reset"
                res["error_code"] = int(ev.error_code)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                res["outcome"] = "goaway"
                res["error_code"] = int(ev.error_code)
    if res["outcome"] is None:
        res["outcome"] = "closed" if c.closed else "timeout"
    # is the connection (or at least the daemon) still usable?
    res["alive"] = False
    if res["outcome"] in ("status", "reset") and not c.closed:
        try:
            sid2 = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid2, base[:3] + [(b":path", b"/size/10")], end_stream=True)
            c.flush()
            deadline = time.time() + 10
            while not c.closed and time.time() < deadline and not res["alive"]:
                for ev in c.events(timeout=1):
                    if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid2:
                        res["alive_status"] = int(dict(ev.headers).get(b":status", b"0"))
                        res["alive"] = True
        except Exception as e:
            res["alive_error"] = str(e)
    print(json.dumps(res))


class Response:
    """Collects one stream's response from h2 events (status, body hash,
    end or reset); acknowledges DATA at once or holds the credit back."""

    def __init__(self, c):
        self.c = c
        self.h = hashlib.sha256()
        self.got = 0
        self.status = None
        self.ended = False
        self.reset = None
        self.pending_ack = 0

    def handle(self, evs, ack=True):
        for ev in evs:
            if isinstance(ev, h2.events.ResponseReceived):
                self.status = int(dict(ev.headers)[b":status"])
            elif isinstance(ev, h2.events.DataReceived):
                self.h.update(ev.data)
                self.got += len(ev.data)
                if ack:
                    self.c.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                else:
                    self.pending_ack += ev.flow_controlled_length
            elif isinstance(ev, h2.events.StreamEnded):
                self.ended = True
            elif isinstance(ev, h2.events.StreamReset):
                self.reset = int(ev.error_code)
                self.ended = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.reset = "goaway %d" % int(ev.error_code)
                self.ended = True
        self.c.flush()

    def result(self):
        return {"status": self.status, "bytes": self.got, "sha256": self.h.hexdigest(),
                "ended": self.ended, "reset": self.reset, "closed": self.c.closed}


def cmd_slowreader(a):
    c = Client(a.port)
    # the client's receive windows stay at the default 65535 (stream and
    # connection): we only send WINDOW_UPDATE when resuming.
    rss_before = rss_kb(a.pid)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(b":method", b"GET"), (b":scheme", b"http"),
                              (b":authority", b"127.0.0.1:%d" % a.port),
                              (b":path", a.path.encode())], end_stream=True)
    c.flush()
    r = Response(c)
    # phase 1: read until the first window is consumed (no WINDOW_UPDATE)
    deadline = time.time() + 20
    while r.got < 65535 and not r.ended and not c.closed and time.time() < deadline:
        r.handle(c.events(timeout=1), ack=False)
    first = r.got
    # phase 2: stall; the upstream would push everything meanwhile
    end = time.time() + a.wait
    while time.time() < end and not c.closed:
        r.handle(c.events(timeout=max(0.01, end - time.time())), ack=False)
    stalled_extra = r.got - first
    rss_after = rss_kb(a.pid)
    # phase 3: resume with generous windows
    if r.pending_ack:
        c.conn.acknowledge_received_data(r.pending_ack, sid)
    c.conn.increment_flow_control_window(16 * 1024 * 1024)
    try:
        c.conn.increment_flow_control_window(16 * 1024 * 1024, stream_id=sid)
    except Exception:
        pass
    c.flush()
    deadline = time.time() + 120
    while not r.ended and not c.closed and time.time() < deadline:
        r.handle(c.events(timeout=5), ack=True)
    out = r.result()
    out.update({"rss_before_kb": rss_before, "rss_after_kb": rss_after,
                "growth_kb": rss_after - rss_before, "first_read": first,
                "read_while_stalled": stalled_extra})
    print(json.dumps(out))


def cmd_tcpstall(a):
    """Flow control wide open, then the client stops reading its socket:
    only h2gate's own caps (TLS and session output, stream buffers) can
    stop it from buffering the whole upstream body."""
    c = Client(a.port, tls=a.tls)
    c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
    c.conn.increment_flow_control_window(2**31 - 1 - 65535)
    c.flush()
    rss_before = rss_kb(a.pid)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(b":method", b"GET"), (b":scheme", b"https" if a.tls else b"http"),
                              (b":authority", b"127.0.0.1:%d" % a.port),
                              (b":path", a.path.encode())], end_stream=True)
    c.flush()
    r = Response(c)
    deadline = time.time() + 20
    while r.got < 256 * 1024 and not r.ended and not c.closed and time.time() < deadline:
        r.handle(c.events(timeout=1))
    first = r.got
    # the socket is not read at all: the kernel's buffers fill, then h2gate's
    time.sleep(a.wait)
    rss_after = rss_kb(a.pid)
    deadline = time.time() + 120
    while not r.ended and not c.closed and time.time() < deadline:
        r.handle(c.events(timeout=5))
    out = r.result()
    out.update({"rss_before_kb": rss_before, "rss_after_kb": rss_after,
                "growth_kb": rss_after - rss_before, "first_read": first})
    print(json.dumps(out))


def cmd_frames(a):
    c = Client(a.port, tls=a.tls)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(b":method", b"GET"), (b":scheme", b"https" if a.tls else b"http"),
                              (b":authority", (a.authority or "127.0.0.1:%d" % a.port).encode()),
                              (b":path", a.path.encode())], end_stream=True)
    c.flush()
    res = {"status": None, "altsvc": [], "origin": [], "alpn": c.alpn, "ended": False}
    deadline = time.time() + 10
    while not res["ended"] and not c.closed and time.time() < deadline:
        for ev in c.events(timeout=1):
            if isinstance(ev, h2.events.ResponseReceived):
                res["status"] = int(dict(ev.headers)[b":status"])
            elif isinstance(ev, h2.events.DataReceived):
                c.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                res["ended"] = True
            elif isinstance(ev, h2.events.AlternativeServiceAvailable):
                res["altsvc"].append({"origin": (ev.origin or b"").decode("latin-1"),
                                      "field_value": (ev.field_value or b"").decode("latin-1")})
            elif isinstance(ev, h2.events.UnknownFrameReceived):
                f = ev.frame
                if getattr(f, "type", None) == 0xc:
                    body, origins = f.body, []
                    while len(body) >= 2:
                        (n,) = struct.unpack(">H", body[:2])
                        origins.append(body[2:2 + n].decode("latin-1"))
                        body = body[2 + n:]
                    res["origin"].append(origins)
        c.flush()
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["malformed", "slowreader", "tcpstall", "frames"])
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--authority")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--case")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--path", default="/size/33554432")
    ap.add_argument("--wait", type=float, default=2.0)
    a = ap.parse_args()
    if a.mode == "malformed":
        cmd_malformed(a)
    elif a.mode == "frames":
        a.path = a.path if a.path != "/size/33554432" else "/size/10"
        cmd_frames(a)
    elif a.mode == "tcpstall":
        cmd_tcpstall(a)
    else:
        cmd_slowreader(a)


if __name__ == "__main__":
    main()
