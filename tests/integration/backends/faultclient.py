#!/usr/bin/python3
"""The client side of the fault tables (66-faults-upstream.sh,
67-faults-client.sh).  Prints one JSON object: what the client saw, and
"ok"/"why": whether that is what the row expects.

  faultclient.py fetch --proto h2c|h2|h1 --port P --path PATH --expect E
        [--n N] [--framing length|chunked|close] [--method M --body N]
        [--secs S]
      One request on a new connection (h2: TLS with ALPN h2), read until
      the response ends, the stream is reset or the connection closes.
      Expectations E:
        whole   200, the whole body (fault_body(N) for /fault; whole:K: K
                bytes), ended as
                complete (h2 END_STREAM; HTTP/1.1 every Content-Length
                byte, or the last chunk), no reset, and for chunked the
                trailer X-Done: yes
        cut     200 head, then the truncation is visible: h2
                RST_STREAM(INTERNAL_ERROR) and no END_STREAM; HTTP/1.1 the
                connection closed with fewer bytes than Content-Length, or
                without the last chunk
        stall   like cut, but h2 RST_STREAM CANCEL or INTERNAL_ERROR (the
                response stalled: stream_idle)
        failed  502 whole, or cut: never a success
        NNN     that status, answered whole (a local error response)
      Any response carrying X-Smuggled fails, whatever the row.

  faultclient.py client --proto h2c|h2|h1 --port P --action A
        [--path PATH] [--path2 PATH2] [--secs S] [--go FILE]
      A client that goes wrong (see ACTIONS).  Reports what it saw; the
      script checks the other side (the upstream's log, the daemon's
      counters).

Run with /usr/bin/python3 (Debian python3-h2).
"""
import argparse
import json
import os
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawbackend import fault_body  # noqa: E402


def connect(port, tls, alpn=("h2",), timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(list(alpn))
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def reset_close(s):
    """A TCP reset: SO_LINGER 0, then close."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def fin_close(s):
    """A FIN, seen alone for a moment (a close with unread input would
    reset at once), then the close."""
    try:
        socket.socket.shutdown(s, socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.5)
    s.close()


def go_wait(a):
    """With --go FILE: wait (10 s at most) until the script says go (it
    creates FILE once the upstream has the request)."""
    end = time.time() + 10
    while a.go and not os.path.exists(a.go) and time.time() < end:
        time.sleep(0.02)


def vanish(s, rst):
    if rst:
        reset_close(s)
    else:
        fin_close(s)


class H2:
    """A small HTTP/2 client on python-h2: per stream status, body,
    trailers, END_STREAM, RST_STREAM code; the connection's GOAWAY and
    EOF."""

    def __init__(self, sock, window=None):
        self.sock = sock
        cfg = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.c = h2.connection.H2Connection(config=cfg)
        self.c.initiate_connection()
        if window:
            self.c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.st = {}
        self.goaway = None
        self.closed = False
        self.reset_by_peer = False
        self.flush()

    def s(self, sid):
        return self.st.setdefault(sid, {"status": None, "bytes": 0, "body": b"", "trailers": {},
                                        "ended": False, "rst": None, "headers": {}})

    def flush(self):
        d = self.c.data_to_send()
        if d:
            try:
                self.sock.sendall(d)
            except OSError:
                self.closed = True

    def request(self, path, method="GET", end=True, extra=()):
        sid = self.c.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "https" if isinstance(self.sock, ssl.SSLSocket) else "http"),
                (":authority", "localhost"), (":path", path)] + list(extra)
        self.c.send_headers(sid, hdrs, end_stream=end)
        self.flush()
        self.s(sid)
        return sid

    def send_body(self, sid, n, end, secs):
        """n body bytes as flow control lets them go (END_STREAM with the
        last if end), until done, the stream ends or secs: bytes sent."""
        sent = 0
        t_end = time.time() + secs
        while sent < n and not self.done(sid) and time.time() < t_end:
            room = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size, n - sent)
            if room > 0:
                self.c.send_data(sid, b"u" * room, end_stream=end and sent + room == n)
                sent += room
                self.flush()
            else:
                self.pump(0.1)
        return sent

    def pump(self, timeout=0.2):
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        except ConnectionResetError:
            self.reset_by_peer = True
            d = b""
        except (OSError, ssl.SSLError):
            d = b""
        if not d:
            self.closed = True
            return False
        try:
            events = self.c.receive_data(d)
        except h2.exceptions.ProtocolError as e:
            self.goaway = self.goaway or "client protocol error: %r" % e
            self.closed = True
            return False
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived):
                st = self.s(ev.stream_id)
                h = {k.decode(): v.decode() for k, v in ev.headers}
                st["status"] = int(h[":status"])
                st["headers"] = h
                st["smuggled"] = "x-smuggled" in h
            elif isinstance(ev, h2.events.DataReceived):
                st = self.s(ev.stream_id)
                st["bytes"] += len(ev.data)
                st["body"] += ev.data
                if ev.flow_controlled_length:
                    try:
                        self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    except h2.exceptions.StreamClosedError:
                        pass
            elif isinstance(ev, h2.events.TrailersReceived):
                self.s(ev.stream_id)["trailers"] = {k.decode(): v.decode() for k, v in ev.headers}
            elif isinstance(ev, h2.events.StreamEnded):
                self.s(ev.stream_id)["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                self.s(ev.stream_id)["rst"] = h2.errors.ErrorCodes(ev.error_code).name \
                    if ev.error_code in h2.errors.ErrorCodes._value2member_map_ else str(ev.error_code)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = h2.errors.ErrorCodes(ev.error_code).name \
                    if ev.error_code in h2.errors.ErrorCodes._value2member_map_ else str(ev.error_code)
        self.flush()
        return True

    def done(self, sid):
        st = self.s(sid)
        return st["ended"] or st["rst"] is not None or self.closed

    def wait(self, pred, secs):
        end = time.time() + secs
        while not pred() and not self.closed and time.time() < end:
            self.pump(min(0.2, max(0.01, end - time.time())))
        return pred()

    def drain(self, secs):
        """Reads until the server closes (or secs): True if it closed."""
        end = time.time() + secs
        while not self.closed and time.time() < end:
            self.pump(min(0.2, max(0.01, end - time.time())))
        return self.closed

    def result(self, sid):
        st = dict(self.s(sid))
        body = st.pop("body")
        st.pop("headers")
        st.update({"goaway": self.goaway, "closed": self.closed})
        return st, body


def read_h1_response(sock, secs, head_only=False):
    """Reads one HTTP/1.1 response: (result dict, body).  complete: the
    framing says it ended (every Content-Length byte, or the last chunk
    and the trailer section; close-delimited: the close)."""
    sock.settimeout(0.2)
    buf = b""
    end = time.time() + secs
    closed = reset = False
    res = {"status": None, "complete": False, "framing": None, "trailers": {}}
    body = b""

    def more():
        nonlocal buf, closed, reset
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            closed = reset = True
            return False
        except (OSError, ssl.SSLError):
            closed = True
            return False
        if not d:
            closed = True
            return False
        buf += d
        return True

    while b"\r\n\r\n" not in buf and not closed and time.time() < end:
        more()
    if b"\r\n\r\n" in buf:
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        res["status"] = int(lines[0].split(" ")[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        res["connection_close"] = hdrs.get("connection", "").lower() == "close"
        res["smuggled"] = "x-smuggled" in hdrs
        if "chunked" in hdrs.get("transfer-encoding", ""):
            res["framing"] = "chunked"
            while not res["complete"] and time.time() < end:
                if b"\r\n" not in buf:
                    if not more() and b"\r\n" not in buf:
                        break
                    continue
                line, rest = buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    if rest.startswith(b"\r\n"):
                        res["complete"] = True
                        buf = rest[2:]
                    elif b"\r\n\r\n" in rest:
                        tr, buf = rest.split(b"\r\n\r\n", 1)
                        for ln in tr.decode("latin-1").split("\r\n"):
                            k, _, v = ln.partition(":")
                            res["trailers"][k.strip().lower()] = v.strip()
                        res["complete"] = True
                    elif not more():
                        break
                    continue
                if len(rest) < size + 2:
                    if not more():
                        body += rest[:size]
                        break
                    continue
                body += rest[:size]
                buf = rest[size + 2:]
        elif "content-length" in hdrs:
            cl = int(hdrs["content-length"])
            res["framing"] = "length"
            res["declared"] = cl
            while len(buf) < cl and time.time() < end and more():
                pass
            body, buf = buf[:cl], buf[cl:]
            res["complete"] = len(body) == cl
        else:
            res["framing"] = "close"
            while time.time() < end and more():
                pass
            body = buf
            res["complete"] = closed and not reset
    res.update({"bytes": len(body), "closed": closed, "reset": reset})
    return res, body


def h1_closed_soon(sock, secs):
    """After a response: does the server close the connection (within secs)?"""
    sock.settimeout(0.2)
    end = time.time() + secs
    while time.time() < end:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return True
        if not d:
            return True
    return False


# --- fetch: one request, judged -------------------------------------------

def fetch(a):
    res, body = {}, b""
    if a.path.split("?")[0].endswith("/fault"):  # the body and framing the judge expects
        import urllib.parse
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(a.path).query))
        a.n, a.framing = int(q.get("n", "20000")), q.get("framing", "length")
    if a.proto == "h1":
        sock = connect(a.port, False)
        req = b"%s %s HTTP/1.1\r\nHost: localhost\r\n" % (a.method.encode(), a.path.encode())
        payload = b"b" * a.body
        if a.body:
            req += b"Content-Length: %d\r\n" % a.body
        try:
            sock.sendall(req + b"\r\n" + payload)
        except OSError as e:
            res["send_error"] = repr(e)
        res, body = read_h1_response(sock, a.secs)
        res["rst"] = None
        res["ended"] = res["complete"]
        if res["complete"] and res["status"] and not res["closed"]:
            res["closed_after"] = h1_closed_soon(sock, 0.5) if res["status"] >= 500 else None
        sock.close()
    else:
        sock = connect(a.port, a.proto == "h2")
        c = H2(sock)
        sid = c.request(a.path, method=a.method, end=not a.body)
        if a.body:
            res["body_sent"] = c.send_body(sid, a.body, True, a.secs)
        c.wait(lambda: c.done(sid), a.secs)
        r, body = c.result(sid)
        res.update(r)
        # (RST_STREAM(NO_ERROR) may follow a whole answer that came before
        # the end of the request: RFC 9113 8.1)
        res["complete"] = res["ended"] and res["rst"] in (None, "NO_ERROR")
        sock.close()
    res["ok"], res["why"] = judge(a, res, body)
    return res


def judge(a, res, body):
    e, _, n = a.expect.partition(":")
    st = res.get("status")
    if res.get("smuggled"):
        return False, "a smuggled response (X-Smuggled) was served"
    if e.isdigit():
        if st != int(e):
            return False, "status %s, expected %s" % (st, e)
        if not res["complete"]:
            return False, "the %s did not arrive whole" % e
        return True, ""
    if e == "failed":
        # 502, or a 200 head and then cut: which one is a race (h2gate may
        # meet the reset writing the request before it reads the head)
        if st == 502 and res["complete"]:
            return True, ""
        e = "cut"
    if st != 200:
        return False, "status %s, expected a 200 head" % st
    if e == "whole":
        want = fault_body(a.n) if a.path.split("?")[0].endswith("/fault") else None
        if n and res["bytes"] != int(n):
            return False, "body: %d bytes, not the %s expected" % (res["bytes"], n)
        if not res["complete"]:
            return False, "not ended as complete (%d bytes, rst %s)" % (res["bytes"], res.get("rst"))
        if res.get("rst") not in (None, "NO_ERROR"):
            return False, "RST_STREAM %s after the response" % res["rst"]
        if want is not None and body != want:
            return False, "body: %d bytes, not the %d expected" % (len(body), len(want))
        if a.framing == "chunked" and res["trailers"].get("x-done") != "yes":
            return False, "trailer X-Done missing: %s" % res["trailers"]
        return True, ""
    if e in ("cut", "stall"):
        if res["complete"]:
            return False, "a truncated response passed as complete (%d bytes)" % res["bytes"]
        if a.proto == "h1":
            if not res["closed"]:
                return False, "HTTP/1.1 connection not closed after the cut"
            return True, ""
        codes = ("INTERNAL_ERROR",) if e == "cut" else ("INTERNAL_ERROR", "CANCEL")
        if res["rst"] not in codes:
            return False, "RST_STREAM %s, expected %s" % (res["rst"], "/".join(codes))
        return True, ""
    return False, "unknown expectation %s" % e


# --- client: a client that goes wrong -------------------------------------

ACTIONS = """
  rst-mid-head / fin-mid-head       half a request head, then a reset
                                    (SO_LINGER 0) / a FIN (shutdown, the
                                    close 0.5 s later) (h2: a HEADERS frame
                                    without END_HEADERS)
  rst-mid-body / fin-mid-body       a POST declaring 200000 bytes (h2:
                                    no content-length, so h2gate chunks
                                    it), 100000 of them, then reset / close
  rst-mid-chunked-body / fin-mid-chunked-body
                                    HTTP/1.1: a chunked POST cut inside
                                    its seventh 16 KiB chunk
  rst-waiting / fin-waiting         GET PATH (its upstream silent), then
                                    reset / close while h2gate waits for
                                    the response head
  rst-mid-response / fin-mid-response
                                    GET PATH, 64 KiB of the response read,
                                    then reset / close
  cancel-mid-response               h2: RST_STREAM(CANCEL) on the GET
                                    after 64 KiB; a second GET (PATH2) on
                                    the same session must complete
  goaway                            h2: two GETs (PATH, PATH2) open, then
                                    GOAWAY(NO_ERROR, last stream 0): both
                                    must complete; then the server closes
  tls-rst-hello / tls-fin-hello     TLS: part of a ClientHello, then a
                                    reset / close
  tls-rst-flight / tls-fin-flight   TLS: a whole ClientHello, the server's
                                    first flight read, then reset / close
"""


def client(a):
    act = a.action
    how_rst = act.startswith("rst-") or act.startswith("tls-rst-")
    res = {"action": act}
    if act.startswith("tls-"):
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        if act.endswith("-hello"):
            s.sendall(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + b"\x00" * 16)
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s.sendall(outg.read())
            got = b""
            s.settimeout(5)
            # the server's first flight: ServerHello .. Finished (TLS 1.3)
            while len(got) < 200:
                d = s.recv(65536)
                if not d:
                    break
                got += d
            res["flight_bytes"] = len(got)
        vanish(s, how_rst)
        return res
    if a.proto == "h1":
        s = connect(a.port, False)
        if act.endswith("-mid-head"):
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nX-Half: " % a.path.encode())
            time.sleep(0.3)
        elif act.endswith("-mid-body"):
            s.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 200000\r\n\r\n" % a.path.encode())
            s.sendall(b"u" * 100000)
        elif act.endswith("-mid-chunked-body"):
            s.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" % a.path.encode())
            s.sendall(b"".join(b"4000\r\n" + b"u" * 0x4000 + b"\r\n" for _ in range(6)) + b"4000\r\nuuu")
        elif act.endswith("-waiting"):
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % a.path.encode())
        elif act.endswith("-mid-response"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % a.path.encode())
            got = 0
            s.settimeout(10)
            while got < 65536:
                d = s.recv(65536)
                if not d:
                    break
                got += len(d)
            res["bytes"] = got
        go_wait(a)
        vanish(s, how_rst)
        return res
    sock = connect(a.port, a.proto == "h2")
    c = H2(sock)
    c.pump(0.2)
    if act.endswith("-mid-head"):
        # HEADERS without END_HEADERS: the block is never finished
        from hyperframe.frame import HeadersFrame
        import hpack
        blk = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":authority", "localhost"),
                                      (":path", a.path)])
        f = HeadersFrame(1, data=blk[:len(blk) // 2], flags=["END_STREAM"])
        sock.sendall(f.serialize())
        time.sleep(0.3)
    elif act.endswith("-mid-body"):
        sid = c.request(a.path, method="POST", end=False)
        res["body_sent"] = c.send_body(sid, 100000, False, 10)
    elif act.endswith("-waiting"):
        c.request(a.path)
    elif act.endswith("-mid-response"):
        sid = c.request(a.path)
        other = c.request(a.path2) if act == "cancel-mid-response" else None
        c.wait(lambda: c.s(sid)["bytes"] >= 65536, 10)
        res["bytes"] = c.s(sid)["bytes"]
        if act == "cancel-mid-response":
            c.c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            c.flush()
            c.wait(lambda: c.done(other), a.secs)
            r, body = c.result(other)
            res["other"] = r
            res["ok"] = r["status"] == 200 and r["ended"] and r["rst"] is None
            res["why"] = "" if res["ok"] else "the other stream did not complete: %s" % r
            c.s(sid)["body"] = b""
            res["cancelled"] = c.result(sid)[0]
            sock.close()
            return res
    elif act == "goaway":
        s1 = c.request(a.path)
        s2 = c.request(a.path2)
        c.wait(lambda: c.s(s1)["status"] and c.s(s2)["status"], 10)
        # On the wire only: python-h2 would stop taking frames after its
        # own GOAWAY, and the point is to read what still comes.
        from hyperframe.frame import GoAwayFrame
        sock.sendall(GoAwayFrame(0, last_stream_id=0, error_code=0).serialize())
        c.wait(lambda: c.done(s1) and c.done(s2), a.secs)
        r1, _ = c.result(s1)
        r2, _ = c.result(s2)
        res["streams"] = [r1, r2]
        res["server_closed"] = c.drain(a.secs)
        bad = [r for r in (r1, r2) if not (r["status"] == 200 and r["ended"] and r["rst"] is None)]
        res["ok"] = not bad and res["server_closed"]
        res["why"] = "" if res["ok"] else ("streams not completed: %s" % bad if bad else
                                           "the server kept the connection after the client's GOAWAY")
        sock.close()
        return res
    c.wait(lambda: a.go is None or os.path.exists(a.go), 10)  # reading meanwhile, as a client does
    vanish(sock, how_rst)
    return res


def main():
    ap = argparse.ArgumentParser(epilog=ACTIONS, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["fetch", "client"])
    ap.add_argument("--proto", choices=["h2c", "h2", "h1"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--path2", default="/")
    ap.add_argument("--expect", default="whole")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--framing", default="length")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--body", type=int, default=0)
    ap.add_argument("--secs", type=float, default=15)
    ap.add_argument("--action", default="")
    ap.add_argument("--go", help="client: vanish only once this file exists")
    a = ap.parse_args()
    try:
        if a.mode == "fetch":
            res = fetch(a)
        else:
            res = client(a)
            res.setdefault("ok", True)  # done as asked: the other side is the script's to check
            res.setdefault("why", "")
    except Exception as e:  # noqa: a client that crashed is a failed row, with its reason
        res = {"ok": False, "why": "client error: %r" % e}
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
