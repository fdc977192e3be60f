#!/usr/bin/python3
"""HTTP/2-over-TLS clients (python h2) for the sleeping-TLS-connection test (243).

  tlssleep.py --port P --status URL [--max S] SCENARIO [ARGS]

A connection is "asleep" when GET URL (h2gate's /status) lists its session
with "asleep": true (conn_sleep: only the socket, the SSL and the session's
resume record are left).  Scenarios:
  many        one connection, three times: wait until it is asleep, then
              ten GETs at once (/size/1000 .. /size/100000 and one of
              200,000 bytes), the first of them the bytes that wake it;
              the window is given back as data comes;
  race        new connections that send a GET 0, 1, 2, 5, 10, 20 and 50 ms
              after their SETTINGS were acknowledged: around the moment a
              session that opened no stream is put away, and its
              connection a loop turn later;
  hold N CMD  N connections, asleep, then by CMD:
                close   closes them (half with close_notify, half without);
                drain   waits for a line on stdin (the test drains h2gate
                        meanwhile), then reads each until the server
                        closes it: its last GOAWAY, and whether it ended
                        with EOF;
                reload  waits for a line on stdin (the test reloads
                        meanwhile), then one GET on each;
  resume      a connection: GET, asleep, GET; its TLS session then resumes
              a second connection, which sleeps and answers a GET too.
Prints ASLEEP when the scenario's connections first are (hold), and one JSON
line at the end; exits 0, or 2 on an internal error (the test judges the
result).  Gives up after --max seconds (default 60).
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


def status_sessions(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r).get("session_list", [])
    except OSError:
        return []


class Conn:
    """One TLS connection with an h2 client session; pump() reads once."""

    def __init__(self, port, ctx, session=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.local = "%s:%d" % raw.getsockname()[:2]
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        self.sock.settimeout(0.05)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.settings_acked = False
        self.status = {}
        self.bodies = {}
        self.ended = set()
        self.goaway = None
        self.eof = False
        self.flush()

    def flush(self):
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        except OSError:  # reset, or a TLS alert: the end too
            data = b""
        self.eof = not data
        if self.eof:
            return False
        for ev in self.h2.receive_data(data):
            if isinstance(ev, h2.events.SettingsAcknowledged):
                self.settings_acked = True
            elif isinstance(ev, h2.events.ResponseReceived):
                self.status[ev.stream_id] = int(dict(ev.headers)[":status"])
                self.bodies[ev.stream_id] = b""
            elif isinstance(ev, h2.events.DataReceived):
                self.bodies[ev.stream_id] += ev.data
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                self.ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = {"code": int(ev.error_code), "last_stream_id": ev.last_stream_id}
        try:
            self.flush()
        except OSError:
            pass
        return True

    def get(self, path):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                                   (":path", path)], end_stream=True)
        return sid

    def close(self, notify):
        if notify:
            try:
                self.sock.unwrap()
            except (OSError, ValueError, ssl.SSLError):
                pass
        self.sock.close()


class Client:
    def __init__(self, a):
        self.a = a
        self.deadline = time.monotonic() + a.max
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.ctx.set_alpn_protocols(["h2"])

    def left(self):
        if time.monotonic() > self.deadline:
            raise TimeoutError("gave up after %s s" % self.a.max)

    def until(self, conns, cond):
        while not cond():
            self.left()
            for c in conns:
                c.pump()

    def asleep(self, conns):
        """Pumps (acknowledging what the server sends) until /status lists
        every one of conns as asleep."""
        want = {c.local for c in conns}
        last = 0.0
        while True:
            self.left()
            for c in conns:
                c.pump()
            if time.monotonic() - last > 0.3:
                last = time.monotonic()
                got = {s.get("peer") for s in status_sessions(self.a.status) if s.get("asleep")}
                if want <= got:
                    return

    def gets(self, c, sizes):
        sids = {c.get("/size/%d" % n): n for n in sizes}
        c.flush()
        self.until([c], lambda: all(s in c.ended for s in sids) or c.eof)
        return [[c.status.get(s), len(c.bodies.get(s, b"")), hashlib.sha256(c.bodies.get(s, b"")).hexdigest()]
                for s in sids]


def many(cl):
    c = Conn(cl.a.port, cl.ctx)
    rounds = []
    for _ in range(3):
        cl.asleep([c])
        rounds.append(cl.gets(c, [1000, 2000, 5000, 10000, 20000, 30000, 50000, 70000, 100000, 200000]))
    return {"rounds": rounds}


def race(cl):
    out = []
    for ms in (0, 1, 2, 5, 10, 20, 50):
        c = Conn(cl.a.port, cl.ctx)
        cl.until([c], lambda: c.settings_acked or c.eof)
        time.sleep(ms / 1000.0)
        out.append(cl.gets(c, [1000])[0][:2])
        c.close(False)
    return {"race": out}


def hold(cl, n, cmd):
    conns = [Conn(cl.a.port, cl.ctx) for _ in range(n)]
    cl.asleep(conns)
    print("ASLEEP", flush=True)
    if cmd == "close":
        for i, c in enumerate(conns):
            c.close(i % 2 == 0)
        return {"closed": n}
    sys.stdin.readline()
    if cmd == "reload":
        return {"gets": [cl.gets(c, [1000])[0][:2] for c in conns]}
    cl.until(conns, lambda: all(c.eof for c in conns))
    return {"goaway": [c.goaway for c in conns], "eof": [c.eof for c in conns]}


def resume(cl):
    a = Conn(cl.a.port, cl.ctx)
    first = cl.gets(a, [1000])[0][:2]
    cl.asleep([a])
    woken = cl.gets(a, [1000])[0][:2]
    sess = a.sock.session
    a.close(True)
    b = Conn(cl.a.port, cl.ctx, session=sess)
    cl.asleep([b])
    again = cl.gets(b, [1000])[0][:2]
    return {"gets": [first, woken, again], "ticket": sess is not None and sess.has_ticket,
            "reused": b.sock.session_reused, "version": b.sock.version()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--max", type=float, default=60)
    ap.add_argument("scenario", choices=["many", "race", "hold", "resume"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    cl = Client(a)
    try:
        if a.scenario == "hold":
            res = hold(cl, int(a.args[0]), a.args[1])
        else:
            res = {"many": many, "race": race, "resume": resume}[a.scenario](cl)
    except Exception as e:  # the test judges: say what happened
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}), flush=True)
        sys.exit(2)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
