#!/usr/bin/python3
"""Raw-frame HTTP/2 attack and conformance client for the h2gate limit,
timeout and defence tests.

  h2attack.py SCENARIO --port P [--pid PID] [--tls] [--param k=v ...]

Frames are serialised with hyperframe (or by hand when the frame is illegal
on purpose: hyperframe refuses those) and written on a plain socket, so any
sequence can be sent.  Header blocks are encoded with hpack.  Every scenario
prints one JSON object; see the docstring of each scenario function.  The
common connection summary ("summary" below) is:

  goaway        error-code name of the first GOAWAY received (or null)
  goaway_last   its last-stream-id;   goaway_debug: its debug data
  rst           {stream id: error-code name} of RST_STREAMs received
  status        {stream id: final :status}
  data          {stream id: DATA payload bytes received}
  ended         stream ids that ended (END_STREAM received)
  closed        the server closed the TCP connection
  settings      the server's first SETTINGS {NAME: value}
  conn_wu       sum of WINDOW_UPDATE increments on stream 0
  frames        {frame type name: count}
  max_data_frame  largest DATA frame (frame length) received

Defence scenarios add rss_before_kb / rss_peak_kb / rss_growth_kb (VmRSS of
--pid sampled every 20 ms during the attack) and "legit": the status of a
well-formed GET made on ANOTHER connection while the attack runs.

Run with /usr/bin/python3 (Debian python3-h2/hyperframe/hpack).
"""
import argparse
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame,
                              PriorityFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
ERR = {n: i for i, n in enumerate(ERRORS)}
FTYPES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
          6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION", 0xa: "ALTSVC", 0xc: "ORIGIN"}
SETTINGS_NAMES = {1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS",
                  4: "INITIAL_WINDOW_SIZE", 5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE",
                  8: "ENABLE_CONNECT_PROTOCOL", 9: "NO_RFC7540_PRIORITIES"}
S = {v: k for k, v in SETTINGS_NAMES.items()}
F_END_STREAM, F_ACK, F_END_HEADERS, F_PADDED, F_PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20


def ename(code):
    return ERRORS[code] if code < len(ERRORS) else "0x%x" % code


def raw_frame(ftype, flags, sid, payload=b"", length=None):
    """A frame serialised by hand (any length/type/flags, even illegal)."""
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + struct.pack(">BBI", ftype, flags, sid & 0xffffffff) + payload


def ser(f):
    return f.serialize()


def settings_frame(entries, ack=False):
    """entries: list of (id, value) (duplicates allowed)."""
    if ack:
        return ser(SettingsFrame(0, flags=["ACK"]))
    return raw_frame(4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in entries))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def hpack_int(value, prefix_bits, first_byte_flags):
    """RFC 7541 5.1 integer."""
    mx = (1 << prefix_bits) - 1
    if value < mx:
        return bytes([first_byte_flags | value])
    out = [first_byte_flags | mx]
    value -= mx
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value, indexing=False):
    """Literal header field with a literal name, no Huffman."""
    out = b"\x40" if indexing else b"\x00"
    out += hpack_int(len(name), 7, 0) + name
    out += hpack_int(len(value), 7, 0) + value
    return out


def table_size_updates(block):
    """Dynamic table size updates at the start of a header block."""
    ups = []
    i = 0
    while i < len(block) and (block[i] & 0xe0) == 0x20:
        v = block[i] & 0x1f
        i += 1
        if v == 0x1f:
            m = 0
            while i < len(block):
                b = block[i]
                i += 1
                v += (b & 0x7f) << m
                m += 7
                if not b & 0x80:
                    break
        ups.append(v)
    return ups


class Conn:
    """One raw HTTP/2 client connection."""

    def __init__(self, port, tls=False, preface=True, settings=(), auto_ack=True,
                 auto_window=True, rcvbuf=None, host="127.0.0.1", timeout=10, handshake=True,
                 conn_window=None):
        self.port = port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.scheme = b"https" if tls else b"http"
        self.buf = b""
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.dec.max_allowed_table_size = 1 << 20
        self.dec.max_header_list_size = 1 << 30
        self.auto_ack = auto_ack
        self.auto_window = auto_window
        self.closed = False
        self.goaway = None
        self.goaway_last = None
        self.goaway_debug = None
        self.goaways = []
        self.rst = {}
        self.status = {}
        self.headers = {}
        self.data = {}
        self.body = {}
        self.keep_body = False
        self.ended = set()
        self.settings = None
        self.settings_acks = 0
        self.conn_wu = 0
        self.stream_wu = {}
        self.frames = {}
        self.max_data_frame = 0
        self.ping_acks = 0
        self.bytes_read = 0
        self.table_updates = []
        self.hpack_error = None
        self.first_bytes = b""
        self._hblock = None
        self._hsid = None
        self._hflags = 0
        if preface:
            self.send(PREFACE + settings_frame(list(settings)))
            if conn_window:
                self.send(ser(WindowUpdateFrame(0, window_increment=conn_window)))
            if handshake:
                self.wait(lambda: self.settings is not None, 10)

    # --- output ---
    def send(self, *chunks):
        data = b"".join(c if isinstance(c, (bytes, bytearray)) else c.serialize() for c in chunks)
        try:
            self.sock.sendall(data)
            return True
        except (OSError, socket.timeout):
            return False

    def block(self, hdrs):
        return self.enc.encode(hdrs)

    def req_headers(self, path=b"/", method=b"GET", authority=None, extra=()):
        if isinstance(path, str):
            path = path.encode()
        return [(b":method", method), (b":scheme", self.scheme),
                (b":authority", authority or (b"127.0.0.1:%d" % self.port)),
                (b":path", path)] + list(extra)

    def headers_frame(self, sid, hdrs, end_stream=True, end_headers=True, block=None):
        if block is None:
            block = self.block(hdrs)
        flags = (F_END_STREAM if end_stream else 0) | (F_END_HEADERS if end_headers else 0)
        return raw_frame(1, flags, sid, block)

    def get(self, sid, path="/", **kw):
        end = kw.pop("end_stream", True)
        return self.headers_frame(sid, self.req_headers(path, **kw), end_stream=end)

    # --- input ---
    def pump(self, timeout=0.2):
        """Read what arrives within timeout; parse frames.  False on EOF."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(1 << 20)
        except (socket.timeout, ssl.SSLWantReadError, BlockingIOError):
            return True
        except (OSError, ssl.SSLError):
            d = b""
        if not d:
            self.closed = True
            return False
        if len(self.first_bytes) < 64:
            self.first_bytes += d[:64 - len(self.first_bytes)]
        self.bytes_read += len(d)
        self.buf += d
        out = []
        while len(self.buf) >= 9:
            ln = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + ln:
                break
            ft, fl = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
            pl = self.buf[9:9 + ln]
            self.buf = self.buf[9 + ln:]
            self.on_frame(ft, fl, sid, pl, out)
        if out:
            self.send(*out)
        return True

    def on_frame(self, ft, fl, sid, pl, out):
        name = FTYPES.get(ft, "0x%x" % ft)
        self.frames[name] = self.frames.get(name, 0) + 1
        if ft == 0:  # DATA
            n = len(pl)
            body = pl
            if fl & F_PADDED and pl:
                body = pl[1:len(pl) - pl[0]]
            self.max_data_frame = max(self.max_data_frame, n)
            self.data[sid] = self.data.get(sid, 0) + len(body)
            if self.keep_body:
                self.body[sid] = self.body.get(sid, b"") + body
            if self.auto_window and n:
                out.append(ser(WindowUpdateFrame(0, window_increment=n)))
                if not fl & F_END_STREAM:
                    out.append(ser(WindowUpdateFrame(sid, window_increment=n)))
            if fl & F_END_STREAM:
                self.ended.add(sid)
        elif ft == 1 or ft == 9:  # HEADERS / CONTINUATION
            if ft == 1:
                i = 0
                pad = 0
                if fl & F_PADDED:
                    pad = pl[0]
                    i = 1
                if fl & F_PRIORITY:
                    i += 5
                frag = pl[i:len(pl) - pad]
                self._hblock, self._hsid, self._hflags = frag, sid, fl
            else:
                if self._hblock is None:
                    return
                self._hblock += pl
            if fl & F_END_HEADERS:
                blk, hsid, hfl = self._hblock, self._hsid, self._hflags
                self._hblock = None
                self.table_updates += table_size_updates(blk)
                try:
                    hdrs = self.dec.decode(blk, raw=True)
                except Exception as e:  # noqa
                    self.hpack_error = repr(e)
                    hdrs = []
                d = dict(hdrs)
                if b":status" in d:
                    st = int(d[b":status"])
                    if st >= 200 or st == 101:
                        self.status[hsid] = st
                        self.headers[hsid] = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in hdrs]
                if hfl & F_END_STREAM:
                    self.ended.add(hsid)
        elif ft == 3:
            self.rst[sid] = ename(int.from_bytes(pl[:4], "big")) if len(pl) >= 4 else "bad"
        elif ft == 4:
            if fl & F_ACK:
                self.settings_acks += 1
            else:
                vals = {}
                for i in range(0, len(pl) - 5, 6):
                    k, v = struct.unpack(">HI", pl[i:i + 6])
                    vals[SETTINGS_NAMES.get(k, str(k))] = v
                if self.settings is None:
                    self.settings = vals
                if self.auto_ack:
                    out.append(settings_frame(None, ack=True))
        elif ft == 6:
            if fl & F_ACK:
                self.ping_acks += 1
            else:
                out.append(raw_frame(6, F_ACK, 0, pl))
        elif ft == 7:
            last, code = struct.unpack(">II", pl[:8])
            g = {"code": ename(code), "last": last & 0x7fffffff,
                 "debug": pl[8:].decode("latin-1")}
            self.goaways.append(g)
            if self.goaway is None or self.goaway == "NO_ERROR":
                self.goaway, self.goaway_last, self.goaway_debug = g["code"], g["last"], g["debug"]
        elif ft == 8:
            inc = int.from_bytes(pl[:4], "big") & 0x7fffffff
            if sid == 0:
                self.conn_wu += inc
            else:
                self.stream_wu[sid] = self.stream_wu.get(sid, 0) + inc

    def wait(self, pred, timeout):
        """Pump until pred() is true, EOF, or timeout; returns pred()."""
        end = time.time() + timeout
        while not pred() and not self.closed:
            left = end - time.time()
            if left <= 0:
                break
            self.pump(min(left, 0.2))
        return pred()

    def done(self, sid):
        return sid in self.ended or sid in self.rst or self.goaway is not None and self.goaway != "NO_ERROR"

    def drain(self, timeout):
        """Read until EOF or timeout."""
        end = time.time() + timeout
        while not self.closed and time.time() < end:
            self.pump(min(0.2, max(0.01, end - time.time())))

    def error(self):
        return self.goaway is not None and self.goaway != "NO_ERROR"

    def summary(self):
        return {"goaway": self.goaway, "goaway_last": self.goaway_last, "goaway_debug": self.goaway_debug,
                "goaways": self.goaways[:5],
                "rst": {str(k): v for k, v in sorted(self.rst.items())},
                "status": {str(k): v for k, v in sorted(self.status.items())},
                "data": {str(k): v for k, v in sorted(self.data.items())},
                "ended": sorted(self.ended), "closed": self.closed, "settings": self.settings,
                "conn_wu": self.conn_wu, "frames": self.frames, "max_data_frame": self.max_data_frame,
                "hpack_error": self.hpack_error, "bytes_read": self.bytes_read}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def alive_check(c, sid, path="/size/10", timeout=8):
    """A follow-up GET on the same connection: its status or None."""
    if c.closed or c.error():
        return None
    c.send(c.get(sid, path))
    c.wait(lambda: c.done(sid), timeout)
    return c.status.get(sid)


class Probe:
    """Samples the daemon's VmRSS and makes one legitimate GET on another
    connection while an attack runs."""

    def __init__(self, a):
        self.port, self.pid, self.tls = a.port, a.pid, a.tls
        self.path = a.legit_path
        self.before = rss_kb(self.pid) if self.pid else -1
        self.peak = self.before
        self.legit = None
        self.legit_err = None
        self.stop = False
        self.t1 = threading.Thread(target=self._sample, daemon=True)
        self.t2 = threading.Thread(target=self._legit, daemon=True)

    def start(self, legit_delay=0.3):
        self.legit_delay = legit_delay
        self.t1.start()
        self.t2.start()
        return self

    def _sample(self):
        while not self.stop and self.pid:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)

    def _legit(self):
        time.sleep(self.legit_delay)
        try:
            c = Conn(self.port, tls=self.tls, timeout=15)
            c.send(c.get(1, self.path))
            c.wait(lambda: c.done(1), 15)
            self.legit = c.status.get(1)
            if self.legit is None:
                self.legit_err = c.summary()
            c.close()
        except Exception as e:  # noqa
            self.legit_err = repr(e)

    def finish(self, res):
        self.t2.join(20)
        self.stop = True
        self.t1.join(2)
        after = rss_kb(self.pid) if self.pid else -1
        self.peak = max(self.peak, after)
        res.update({"rss_before_kb": self.before, "rss_peak_kb": self.peak, "rss_after_kb": after,
                    "rss_growth_kb": self.peak - self.before, "legit": self.legit})
        if self.legit_err:
            res["legit_error"] = self.legit_err
        return res


def send_bulk(c, chunks, seconds, batch=256):
    """Send an iterable of byte strings in batches for at most `seconds`;
    tolerate a blocked socket (stops after 2 s without progress).  Returns
    (items sent, why stopped)."""
    end = time.time() + seconds
    c.sock.settimeout(2)
    n = 0
    pend = []
    why = "done"
    for ch in chunks:
        pend.append(ch)
        if len(pend) >= batch:
            try:
                c.sock.sendall(b"".join(pend))
            except socket.timeout:
                why = "blocked"
                break
            except OSError as e:
                why = "error: %s" % e
                break
            n += len(pend)
            pend = []
            if time.time() > end:
                why = "time"
                break
    else:
        if pend:
            try:
                c.sock.sendall(b"".join(pend))
                n += len(pend)
            except socket.timeout:
                why = "blocked"
            except OSError as e:
                why = "error: %s" % e
    return n, why


def pint(a, k, d):
    return int(a.params.get(k, d))


# ---------------------------------------------------------------- limits

def sc_settings(a):
    """The server's SETTINGS and connection WINDOW_UPDATE; one GET served."""
    c = Conn(a.port, tls=a.tls)
    c.send(c.get(1, "/size/10"))
    c.wait(lambda: c.done(1), 8)
    c.pump(0.3)
    return c.summary()


def sc_concurrent(a):
    """max_concurrent_streams=N (param n): N slow streams, then one more."""
    n = pint(a, "n", 4)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)  # our SETTINGS applied too
    sids = [1 + 2 * i for i in range(n)]
    c.send(*[c.get(s, "/slow?ms=%d" % pint(a, "ms", 1500)) for s in sids])
    time.sleep(0.3)
    extra = 1 + 2 * n
    c.send(c.get(extra, "/size/10"))
    c.wait(lambda: all(c.done(s) for s in sids + [extra]), 15)
    res = c.summary()
    res["extra"] = extra
    res["first_ok"] = sum(1 for s in sids if c.status.get(s) == 200)
    res["after"] = alive_check(c, extra + 2)
    return res


def sc_window_send(a):
    """Client SETTINGS_INITIAL_WINDOW_SIZE=w (param w, default 1000): the
    server sends at most w bytes on the stream until a WINDOW_UPDATE."""
    w = pint(a, "w", 1000)
    total = pint(a, "size", 100000)
    c = Conn(a.port, settings=[(S["INITIAL_WINDOW_SIZE"], w)], auto_window=False)
    c.send(c.get(1, "/size/%d" % total))
    c.wait(lambda: c.data.get(1, 0) >= w or c.done(1), 8)
    c.wait(lambda: c.done(1), 1.5)  # would more arrive?
    stalled = c.data.get(1, 0)
    c.send(ser(WindowUpdateFrame(0, window_increment=1 << 24)),
           ser(WindowUpdateFrame(1, window_increment=total)))
    c.auto_window = True
    c.wait(lambda: c.done(1), 10)
    res = c.summary()
    res["stalled_bytes"] = stalled
    res["final_bytes"] = c.data.get(1, 0)
    return res


def sc_window_recv(a):
    """The server's initial_window_size (param w) enforced: a POST with
    exactly w bytes is served; a DATA frame of w+over bytes (over param,
    default 1000) on a fresh stream (to param path) is a FLOW_CONTROL_ERROR."""
    w = pint(a, "w", 4096)
    over = pint(a, "over", 1000)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
           raw_frame(0, F_END_STREAM, 1, b"x" * w))
    c.wait(lambda: c.done(1), 8)
    ok = c.status.get(1)
    # (path: an upstream that cannot take the body yet, e.g. one whose
    # connect hangs, so the server has no reason to reopen the window)
    c.send(c.headers_frame(3, c.req_headers(a.params.get("path", "/sha256"), method=b"POST"),
                           end_stream=False),
           raw_frame(0, 0, 3, b"y" * (w + over)))
    c.wait(lambda: c.done(3), 5)
    res = c.summary()
    res["at_limit_status"] = ok
    return res


def sc_frame_size(a):
    """max_frame_size=m (param m): a DATA frame of m bytes is accepted, one
    of m+1 is a connection error FRAME_SIZE_ERROR."""
    m = pint(a, "m", 16384)
    c = Conn(a.port, settings=[(S["INITIAL_WINDOW_SIZE"], 1 << 20)])
    c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
           raw_frame(0, F_END_STREAM, 1, b"x" * m))
    c.wait(lambda: c.done(1), 8)
    ok = c.status.get(1)
    c.send(c.headers_frame(3, c.req_headers("/sha256", method=b"POST"), end_stream=False),
           raw_frame(0, 0, 3, b"y" * (m + 1)))
    c.wait(lambda: c.error() or c.done(3), 5)
    c.drain(2)
    res = c.summary()
    res["at_limit_status"] = ok
    return res


def sc_header_table(a):
    """header_table_size=t (param t): a dynamic table size update to t is
    fine, to t+1 is a COMPRESSION_ERROR."""
    t = pint(a, "t", 4096)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    blk = hpack_int(t, 5, 0x20) + c.block(c.req_headers("/size/10"))
    c.send(c.headers_frame(1, None, block=blk))
    c.wait(lambda: c.done(1), 8)
    ok = c.status.get(1)
    c2 = Conn(a.port)
    blk = hpack_int(t + 1, 5, 0x20) + c2.block(c2.req_headers("/size/10"))
    c2.send(c2.headers_frame(1, None, block=blk))
    c2.wait(lambda: c2.done(1) or c2.closed, 5)
    c2.drain(1)
    res = c2.summary()
    res["at_limit_status"] = ok
    res["settings"] = c.settings
    return res


def sc_header_list(a):
    """A request whose header list is `size` bytes (param size, one big
    x-big field) or has `pairs` fields (param pairs, x-fNN: v)."""
    size = pint(a, "size", 0)
    pairs = pint(a, "pairs", 0)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    extra = []
    if size:
        extra.append((b"x-big", b"b" * size))
    for i in range(pairs):
        extra.append((b"x-f%03d" % i, b"v"))
    hdrs = c.req_headers("/echo-headers", extra=extra)
    blk = c.block(hdrs)
    frames = [blk[i:i + 16384] for i in range(0, len(blk), 16384)] or [b""]
    out = [raw_frame(1, F_END_STREAM | (F_END_HEADERS if len(frames) == 1 else 0), 1, frames[0])]
    for j, fr in enumerate(frames[1:]):
        out.append(raw_frame(9, F_END_HEADERS if j == len(frames) - 2 else 0, 1, fr))
    c.send(*out)
    c.wait(lambda: c.done(1), 8)
    res = c.summary()
    res["field_count"] = len(hdrs)
    res["after"] = alive_check(c, 3)
    return res


def sc_deflate_table(a):
    """Client advertises HEADER_TABLE_SIZE 65536; several responses; the
    table size updates the server's encoder emits and the decoder's final
    table size."""
    c = Conn(a.port, settings=[(S["HEADER_TABLE_SIZE"], 65536)])
    for i in range(4):
        sid = 1 + 2 * i
        c.send(c.get(sid, "/size/%d" % (10 + i)))
        c.wait(lambda: c.done(sid), 8)
    res = c.summary()
    res["table_updates"] = c.table_updates
    res["decoder_table_max"] = c.dec.header_table.maxsize
    return res


def sc_max_settings(a):
    """A SETTINGS frame with `n` entries (param n; repeats of
    INITIAL_WINDOW_SIZE=65535)."""
    n = pint(a, "n", 10)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    c.send(settings_frame([(S["INITIAL_WINDOW_SIZE"], 65535)] * n))
    c.wait(lambda: c.settings_acks > 1 or c.closed, 2)
    c.send(c.get(1, "/size/10"))
    c.wait(lambda: c.done(1) or c.closed, 5)
    c.drain(1)
    return c.summary()


def sc_memory(a):
    """max_session_memory: streams (param n) to /size/1048576 that the
    client does not read (windows stay at 65535), then `more` new streams:
    which are refused; then everything is drained."""
    n = pint(a, "n", 32)
    more = pint(a, "more", 4)
    pr = Probe(a).start(1.0)
    c = Conn(a.port, auto_window=False)
    sids = []
    refused_at = None
    for i in range(n):
        sid = 1 + 2 * i
        sids.append(sid)
        c.send(c.get(sid, "/size/1048576"))
        c.pump(0.05)
        if sid in c.rst and refused_at is None:
            refused_at = sid
    c.wait(lambda: False, 1.5)
    extra = [1 + 2 * (n + i) for i in range(more)]
    for sid in extra:
        c.send(c.get(sid, "/size/10"))
        c.pump(0.1)
    c.wait(lambda: all(c.done(s) for s in extra), 5)
    refused_new = {s: c.rst.get(s) for s in extra}
    early_rst = {s: c.rst[s] for s in sids if s in c.rst}
    # drain everything
    c.auto_window = True
    c.keep_body = False
    c.send(ser(WindowUpdateFrame(0, window_increment=(1 << 31) - 1 - 65535)),
           *[ser(WindowUpdateFrame(s, window_increment=(1 << 31) - 1 - 65535)) for s in sids if s not in c.rst])
    c.wait(lambda: all(c.done(s) for s in sids), 30)
    full = sum(1 for s in sids if c.data.get(s, 0) == 1048576 and s in c.ended)
    nxt = 1 + 2 * (n + more)
    after = alive_check(c, nxt)
    res = c.summary()
    res.update({"refused_new": {str(k): v for k, v in refused_new.items()},
                "early_rst": {str(k): v for k, v in early_rst.items()},
                "first_refused": refused_at, "completed_full": full, "streams": n, "after": after})
    res.pop("data", None)
    return pr.finish(res)


def sc_stream_status(a):
    """GET `path` (param path) on one stream; then a follow-up GET
    (param after, default /size/10) on the same connection."""
    c = Conn(a.port, tls=a.tls)
    c.send(c.get(1, a.params.get("path", "/")))
    c.wait(lambda: c.done(1), float(a.params.get("timeout", 10)))
    t = time.time()
    res = c.summary()
    res["after"] = alive_check(c, 3, a.params.get("after", "/size/10"))
    res["headers"] = c.headers.get(1)
    return res


def sc_invalid_frames(a):
    """`n` (param) invalid frames, each on a fresh POST stream (param kind:
    trailers = trailer HEADERS without END_STREAM, a stream error
    PROTOCOL_ERROR; wu0 = WINDOW_UPDATE with increment 0)."""
    n = pint(a, "n", 30)
    kind = a.params.get("kind", "trailers")
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    sent = 0
    for i in range(n):
        sid = 1 + 2 * i
        req = c.headers_frame(sid, c.req_headers("/sha256", method=b"POST"), end_stream=False)
        if kind == "wu0":
            bad = raw_frame(8, 0, sid, b"\0\0\0\0")
        else:  # (encoded after the request: HPACK state follows the send order)
            bad = c.headers_frame(sid, [(b"x-trailer", b"1")], end_stream=False)
        if not c.send(req, bad):
            break
        sent += 1
        c.pump(0.02)
        if c.closed or c.error():
            break
    c.wait(lambda: c.error(), 3)
    res = c.summary()
    res["sent"] = sent
    res["after"] = alive_check(c, 1 + 2 * n + 2)
    return res


def sc_rejected_streams(a):
    """`n` (param) streams the server refuses.  kind=malformed (default):
    requests with a bad field name (param name, default X-Upper; name= for
    a zero-length name); kind=concurrency: one slow stream open (run with
    max_concurrent_streams: 1), then n more streams, each refused."""
    n = pint(a, "n", 30)
    kind = a.params.get("kind", "malformed")
    bad = a.params.get("name", "X-Upper").encode()
    pr = Probe(a).start(0.3) if a.pid else None
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    sent = 0
    first = 1
    if kind == "concurrency":
        c.send(c.get(1, "/slow?ms=3000"))
        c.pump(0.2)
        first = 3
    for i in range(n):
        sid = first + 2 * i
        if kind == "concurrency":
            blk = c.block(c.req_headers("/size/10"))
        else:
            blk = c.block(c.req_headers("/echo-headers")) + hpack_literal(bad, b"1")
        if not c.send(c.headers_frame(sid, None, block=blk)):
            break
        sent += 1
        c.pump(0.02)
        if c.closed or c.error():
            break
    c.wait(lambda: c.error(), 3)
    res = c.summary()
    res["sent"] = sent
    res["after"] = alive_check(c, first + 2 * n + 2)
    return pr.finish(res) if pr else res


def sc_post(a):
    """POST /sha256 with `size` (param) body bytes in 16 KiB DATA frames,
    with content-length when param cl=1; then a GET on the same connection."""
    size = pint(a, "size", 100000)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    extra = [(b"content-length", b"%d" % size)] if a.params.get("cl") == "1" else []
    c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST", extra=extra), end_stream=False))
    off = 0
    while off < size and not c.done(1):
        k = min(16384, size - off)
        off += k
        c.send(raw_frame(0, F_END_STREAM if off >= size else 0, 1, b"p" * k))
        c.pump(0.005)
    c.wait(lambda: c.done(1), 8)
    res = c.summary()
    res["body_sent"] = off
    res["after"] = alive_check(c, 3)
    return res


def sc_max_connections(a):
    """max_connections=n (param n): n idle h2 connections, then param extra
    (default 1) more, each asking for /size/10: is any of them served
    before one of the n closes (param hold seconds), and how many are
    served after (within param after seconds)?"""
    n = pint(a, "n", 3)
    conns = [Conn(a.port) for _ in range(n)]
    ok = sum(1 for c in conns if c.settings is not None)
    extras = [Conn(a.port, handshake=False) for _ in range(pint(a, "extra", 1))]
    for e in extras:
        e.send(e.get(1, "/size/10"))
    end = time.time() + float(a.params.get("hold", 1.5))
    while time.time() < end:
        for e in extras:
            e.pump(0.05)
    before = sum(1 for e in extras if e.bytes_read > 0)
    conns[0].close()
    end = time.time() + float(a.params.get("after", 3))
    while time.time() < end:
        for e in extras:
            e.pump(0.05)
    served = [e for e in extras if e.status.get(1) == 200]
    return {"first_served": ok, "served_before_close": before > 0, "n_served_before_close": before,
            "n_served_after_close": len(served),
            "status_after_close": served[0].status.get(1) if served else None,
            "extra": (served[0] if served else extras[0]).summary()}


# ---------------------------------------------------------------- timeouts

def _until_eof(sock, secs):
    sock.settimeout(0.2)
    got = b""
    t0 = time.time()
    while time.time() - t0 < secs:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            return True, time.time() - t0, got
        if not d:
            return True, time.time() - t0, got
        got += d
    return False, time.time() - t0, got


def sc_handshake(a):
    """Connections that never complete the handshake (param cases, comma
    separated: silent, partial-preface, magic-only, h1-partial, tls-silent,
    tls-no-preface; tls-* use --tls-port); each: closed within `secs`?"""
    cases = a.params.get("cases", "silent,partial-preface,magic-only").split(",")
    secs = float(a.params.get("secs", 6))
    count = pint(a, "count", 1)
    res = {}
    pr = Probe(a).start(0.5)

    def one(case, idx, out):
        try:
            port = int(a.params["tls_port"]) if case.startswith("tls") else a.port
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if case == "partial-preface":
                s.sendall(PREFACE[:10])
            elif case == "magic-only":
                s.sendall(PREFACE)
            elif case == "h1-partial":
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            elif case == "tls-no-preface":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.set_alpn_protocols(["h2"])
                s = ctx.wrap_socket(s, server_hostname="localhost")
            elif case == "tls-partial":
                s.sendall(b"\x16\x03\x01\x00\xc8\x01")  # a ClientHello's first bytes
            closed, t, got = _until_eof(s, secs)
            out["%s#%d" % (case, idx)] = {"closed": closed, "secs": round(t, 2),
                                          "got_goaway": b"\x07\x00\x00\x00\x00" in got[:200] or None}
            s.close()
        except socket.timeout as e:
            out["%s#%d" % (case, idx)] = {"closed": None, "error": repr(e)}
        except (OSError, ssl.SSLError) as e:
            # closed by the server while we were still (slowly) handshaking
            out["%s#%d" % (case, idx)] = {"closed": True, "error": repr(e)}

    ths = []
    for case in cases:
        for i in range(count):
            th = threading.Thread(target=one, args=(case, i, res))
            th.start()
            ths.append(th)
    for th in ths:
        th.join(secs + 10)
    out = {"cases": res, "all_closed": all(v.get("closed") for v in res.values()),
           "n": len(res), "not_closed": sorted(k for k, v in res.items() if not v.get("closed"))}
    return pr.finish(out)


def sc_idle(a):
    """One GET, then nothing: GOAWAY / EOF within `secs`; with param
    slow=MS a stream open longer than the idle timeout first."""
    c = Conn(a.port, tls=a.tls)
    path = "/size/10" if "slow" not in a.params else "/slow?ms=%s" % a.params["slow"]
    c.send(c.get(1, path))
    c.wait(lambda: c.done(1), 10)
    t0 = time.time()
    c.drain(float(a.params.get("secs", 6)))
    res = c.summary()
    res["secs_to_close"] = round(time.time() - t0, 2) if c.closed else None
    return res


def sc_h1_idle(a):
    """HTTP/1.1 keep-alive request, then nothing: closed within secs?"""
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(b"GET /size/10 HTTP/1.1\r\nHost: x\r\n\r\n")
    closed, t, got = _until_eof(s, float(a.params.get("secs", 6)))
    return {"closed": closed, "secs": round(t, 2), "response": got[:12].decode("latin-1")}


def sc_stream_idle(a):
    """Cases (param case): slow-upstream (GET path, default /slow?ms=8000),
    no-body (POST whose body never comes), zero-window (client window 0,
    GET /size/100000, never opened).  The stream's fate within secs."""
    case = a.params.get("case", "slow-upstream")
    settings = [(S["INITIAL_WINDOW_SIZE"], 0)] if case == "zero-window" else []
    c = Conn(a.port, settings=settings, auto_window=case != "zero-window")
    if case == "no-body":
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False))
    elif case == "zero-window":
        c.send(c.get(1, "/size/100000"))
    else:
        c.send(c.get(1, a.params.get("path", "/slow?ms=8000")))
    t0 = time.time()
    c.wait(lambda: c.done(1), float(a.params.get("secs", 6)))
    res = c.summary()
    res["secs"] = round(time.time() - t0, 2)
    res["stream_ended"] = c.done(1)
    return res


def _h1_stall(a, phase):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    if phase == "head":
        if a.params.get("keepalive"):
            s.sendall(b"GET /size/10 HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while b"\r\n\r\n" not in first or len(first.split(b"\r\n\r\n", 1)[1]) < 10:
                d = s.recv(65536)
                if not d:
                    return {"error": "the first response did not come whole"}
                first += d
        s.sendall(b"GET /size/10 HTTP/1.1\r\nHost: x\r\n")
    elif phase == "body":
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc" % a.params["path"].encode())
    elif phase == "upload":
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (a.params["path"].encode(), 1 << 30))
        s.settimeout(2)  # until the body stops moving for 2 s (or h2gate answers and closes)
        try:
            while True:
                s.send(b"u" * 65536)
        except (socket.timeout, OSError):
            pass
    else:  # response: ask for a large body, never read it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % a.params["path"].encode())
        time.sleep(float(a.params.get("unread", 5)))
    closed, t, got = _until_eof(s, float(a.params.get("secs", 8)))
    head = got.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower() if phase != "response" else ""

    return {"closed": closed, "secs": round(t, 2), "status_line": head.split("\r\n")[0],
            "connection_close": "\r\nconnection: close" in head, "bytes": len(got)}


def sc_stall(a):
    """A client that stalls in one phase of a request (param phase: head,
    body, response; param proto: h2 or h1).
      head      h2: a HEADERS frame without END_HEADERS, then nothing;
                h1: part of a request head (param keepalive=1: after a
                whole first request on the same connection)
      body      a POST (param path) declaring 100 bytes that sends 3; h2
                then asks for param after on stream 3 of the same session
      upload    a POST (param path) of 1 GiB sent as fast as h2gate takes
                it (window / socket), until it stops taking it for 2 s
      response  a GET (param path) whose response the client does not
                take: h2 param mode=window (socket read, window never
                opened) or mode=socket (socket not read for param unread
                seconds, then read to the end); h1: socket not read
    Result: what the client saw within secs (h2: the connection summary,
    stream_ended, after_status; h1: status_line, connection_close, closed)."""
    phase = a.params["phase"]
    if a.params.get("proto", "h2") == "h1":
        return _h1_stall(a, phase)
    secs = float(a.params.get("secs", 8))
    mode = a.params.get("mode", "")
    settings, conn_window = [], None
    if mode == "window":
        settings = [(S["INITIAL_WINDOW_SIZE"], 0)]
    elif mode == "socket":  # all the window there is: only the socket holds h2gate back
        settings, conn_window = [(S["INITIAL_WINDOW_SIZE"], (1 << 31) - 1)], (1 << 31) - 1 - 65535
    c = Conn(a.port, settings=settings, auto_window=mode != "window", rcvbuf=4096 if mode == "socket" else None,
             conn_window=conn_window)
    res = {}
    if phase == "head":
        blk = c.block(c.req_headers("/size/10"))
        c.send(raw_frame(1, F_END_STREAM, 1, blk[:len(blk) // 2]))
        c.drain(secs)
    elif phase == "body":
        c.send(c.headers_frame(1, c.req_headers(a.params["path"], method=b"POST",
                                                extra=[(b"content-length", b"100")]), end_stream=False),
               raw_frame(0, 0, 1, b"abc"))
        c.wait(lambda: c.done(1), secs)
        res["stream_ended"] = c.done(1)
        c.wait(lambda: 1 in c.rst, 3)  # a reset that follows an answer, a round trip later
        if "after" in a.params and not c.closed:
            c.send(c.get(3, a.params["after"]))
            c.wait(lambda: c.done(3), 5)
            res["after_status"] = c.status.get(3)
    elif phase == "upload":
        c.send(c.headers_frame(1, c.req_headers(a.params["path"], method=b"POST",
                                                extra=[(b"content-length", b"%d" % (1 << 30))]), end_stream=False))
        sent, last = 0, time.time()
        while time.time() - last < 2 and not c.done(1) and not c.closed:
            iw = (c.settings or {}).get("INITIAL_WINDOW_SIZE", 65535)
            room = min(iw + c.stream_wu.get(1, 0), 65535 + c.conn_wu) - sent
            if room > 0:
                n = min(room, 16384)
                c.send(raw_frame(0, 0, 1, b"u" * n))
                sent += n
                last = time.time()
            else:
                c.pump(0.1)
        res["body_sent"] = sent
        c.wait(lambda: c.done(1), secs)
        res["stream_ended"] = c.done(1)
        c.wait(lambda: 1 in c.rst, 3)
    else:
        c.send(c.get(1, a.params["path"]))
        if mode == "socket":
            time.sleep(float(a.params.get("unread", 5)))
            t0 = time.time()
            c.drain(secs)
            res["secs_to_close"] = round(time.time() - t0, 2) if c.closed else None
        else:
            c.wait(lambda: c.done(1), secs)
            res["stream_ended"] = c.done(1)
    res.update(c.summary())
    return res


def sc_tunnel_idle(a):
    """CONNECT to target (param target); with param keepalive=S send a byte
    every 0.3 s for S seconds first; then idle: is the stream ended within
    secs?"""
    c = Conn(a.port)
    hdrs = [(b":method", b"CONNECT"), (b":authority", a.params["target"].encode())]
    c.send(c.headers_frame(1, hdrs, end_stream=False))
    c.wait(lambda: 1 in c.status or c.done(1), 5)
    res = {"status": c.status.get(1)}
    ka = float(a.params.get("keepalive", 0))
    end = time.time() + ka
    echoed0 = 0
    while time.time() < end and not c.done(1):
        c.send(raw_frame(0, 0, 1, b"k"))
        c.wait(lambda: False, 0.3)
    res["alive_after_keepalive"] = not c.done(1)
    res["echoed"] = c.data.get(1, 0)
    t0 = time.time()
    c.wait(lambda: c.done(1), float(a.params.get("secs", 6)))
    res["secs"] = round(time.time() - t0, 2)
    res["ended"] = c.done(1)
    res["summary"] = c.summary()
    return res


# ---------------------------------------------------------------- defences

def sc_rapid_reset(a):
    """CVE-2023-44487: n (param) HEADERS + RST_STREAM(CANCEL) pairs."""
    n = pint(a, "n", 2000)
    pr = Probe(a).start(0.3)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    path = a.params.get("path", "/slow?ms=500")

    def gen():
        for i in range(n):
            sid = 1 + 2 * i
            yield c.get(sid, path) + ser(RstStreamFrame(sid, error_code=8))
    sent, why = send_bulk(c, gen(), 10, batch=50)
    c.wait(lambda: c.closed, 5)
    res = c.summary()
    res.update({"sent": sent, "stopped": why})
    res.pop("data", None)
    res.pop("status", None)
    res["rst_count"] = len(c.rst)
    res.pop("rst", None)
    return pr.finish(res)


def sc_continuation_flood(a):
    """HEADERS without END_HEADERS, then CONTINUATION frames (param size
    bytes each, default 16384, filled with a repeated literal header field;
    size=0: empty frames) for at most secs seconds or total bytes."""
    size = pint(a, "size", 16384)
    secs = float(a.params.get("secs", 6))
    total = pint(a, "total", 64 << 20)
    pr = Probe(a).start(0.5)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    c.send(raw_frame(1, F_END_STREAM, 1, c.block(c.req_headers("/echo-headers"))))
    field = hpack_literal(b"x-flood", b"f" * 100)
    payload = (field * (size // len(field) + 1))[:size - size % len(field)] if size else b""
    fr = raw_frame(9, 0, 1, payload)

    def gen():
        sent = 0
        while sent < total:
            sent += len(fr)
            yield fr
    n, why = send_bulk(c, gen(), secs, batch=max(1, 65536 // len(fr)))
    c.wait(lambda: c.closed or c.goaway is not None, 5)
    c.drain(1)
    res = c.summary()
    res.update({"frames_sent": n, "bytes_sent": n * len(fr), "stopped": why})
    return pr.finish(res)


def sc_hpack_bomb(a):
    """One 4000-byte header inserted in the dynamic table, then referenced
    (one byte each) `refs` times (param; default 60000 = 240 MB decoded)."""
    refs = pint(a, "refs", 60000)
    pr = Probe(a).start(0.5)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    blk = c.block(c.req_headers("/echo-headers")) + hpack_literal(b"x-bomb", b"B" * 4000, indexing=True)
    blk += b"\xbe" * refs  # index 62: the newest dynamic entry
    frames = [blk[i:i + 16384] for i in range(0, len(blk), 16384)]
    out = [raw_frame(1, F_END_STREAM | (F_END_HEADERS if len(frames) == 1 else 0), 1, frames[0])]
    for j, fr in enumerate(frames[1:]):
        out.append(raw_frame(9, F_END_HEADERS if j == len(frames) - 2 else 0, 1, fr))
    sent, why = send_bulk(c, iter(out), 10, batch=4)
    c.wait(lambda: c.done(1) or c.closed, 8)
    res = c.summary()
    res.update({"frames_sent": sent, "stopped": why, "decoded_bytes": 4000 * refs})
    res["after"] = alive_check(c, 3)
    return pr.finish(res)


def sc_control_flood(a):
    """PING (param kind=ping) or SETTINGS (kind=settings) flood without
    reading the replies (small receive buffer); then read everything."""
    kind = a.params.get("kind", "ping")
    n = pint(a, "n", 400000)
    pr = Probe(a).start(0.5)
    c = Conn(a.port, rcvbuf=4096)
    if kind == "ping":
        fr = raw_frame(6, 0, 0, b"12345678")
    else:
        fr = settings_frame([])
    sent, why = send_bulk(c, (fr for _ in range(n)), float(a.params.get("secs", 8)), batch=1000)
    c.drain(float(a.params.get("read_secs", 8)))
    res = c.summary()
    res.update({"sent": sent, "stopped": why, "acks": c.ping_acks if kind == "ping" else c.settings_acks})
    return pr.finish(res)


def sc_empty_frames(a):
    """A POST stream, then n (param) zero-length DATA frames without
    END_STREAM.  With tail (param) priority or rst-stream: a PING after
    them, and once its ACK says the server has read them all, one more
    empty DATA frame and, in the same write, a PRIORITY or RST_STREAM
    with an empty payload (a FRAME_SIZE_ERROR): with n the server's
    max_session_invalid_frames, the DATA frame that ends the session and
    a connection error behind it come in one read."""
    n = pint(a, "n", 100000)
    tail = a.params.get("tail")
    pr = Probe(a).start(0.5)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False))
    fr = raw_frame(0, 0, 1, b"")
    sent, why = send_bulk(c, (fr for _ in range(n)), 8, batch=2000)
    if tail:
        c.send(raw_frame(6, 0, 0, b"\0" * 8))
        c.wait(lambda: c.ping_acks > 0, 5)
        c.send(fr + raw_frame({"priority": 2, "rst-stream": 3}[tail], 0, 1))
        sent += 1
    c.wait(lambda: c.closed or c.error(), 5)
    res = c.summary()
    res.update({"sent": sent, "stopped": why})
    return pr.finish(res)


def sc_priority(a):
    """Case self (PRIORITY on stream 1 depending on itself), headers-self
    (HEADERS whose priority depends on the stream itself), loops (n PRIORITY
    frames making dependency cycles among idle streams), then a GET."""
    case = a.params.get("case", "self")
    n = pint(a, "n", 100000)
    pr = Probe(a).start(0.5)
    c = Conn(a.port)
    c.wait(lambda: c.settings_acks > 0, 3)
    res = {}
    if case == "self":
        c.send(c.get(1, "/slow?ms=1000"), ser(PriorityFrame(1, depends_on=1, stream_weight=16)))
        c.wait(lambda: c.done(1), 5)
        nxt = 3
    elif case == "headers-self":
        blk = c.block(c.req_headers("/size/10"))
        pl = struct.pack(">IB", 3, 15) + blk
        c.send(raw_frame(1, F_END_STREAM | F_END_HEADERS | F_PRIORITY, 3, pl))
        c.wait(lambda: c.done(3), 5)
        nxt = 5
    else:
        def gen():
            for i in range(n):
                x = 101 + 2 * (i % 500)
                y = 101 + 2 * ((i * 7 + 1) % 500)
                yield ser(PriorityFrame(x, depends_on=y, stream_weight=i % 256, exclusive=bool(i & 1)))
        sent, why = send_bulk(c, gen(), 8, batch=1000)
        res.update({"sent": sent, "stopped": why})
        nxt = 1
    st = alive_check(c, nxt)
    res.update(c.summary())
    res["after"] = st
    return pr.finish(res)


def sc_dribble(a):
    """Client stream window 0 on `streams` (param) GETs of /size/1048576;
    then the window is opened 1 byte at a time (param steps) on stream 1
    and the connection: the server never sends more than granted."""
    streams = pint(a, "streams", 8)
    steps = pint(a, "steps", 300)
    pr = Probe(a).start(0.5)
    c = Conn(a.port, settings=[(S["INITIAL_WINDOW_SIZE"], 0)], auto_window=False)
    for i in range(streams):
        c.send(c.get(1 + 2 * i, "/size/1048576"))
    c.wait(lambda: False, 1.0)
    at0 = c.data.get(1, 0)
    over = 0
    t_end = time.time() + steps * 0.01
    for i in range(steps):  # one byte every ~10 ms
        c.send(ser(WindowUpdateFrame(1, window_increment=1)))
        c.pump(0.005)
        time.sleep(max(0, (t_end - (steps - i - 1) * 0.01) - time.time()))
        if c.data.get(1, 0) > i + 1:
            over = max(over, c.data.get(1, 0) - (i + 1))
        if c.done(1):
            break
    c.wait(lambda: False, 0.3)
    over = max(over, c.data.get(1, 0) - steps)
    # the streams nobody reads: ended by stream_idle at some point?
    others = [1 + 2 * i for i in range(1, streams)]
    c.wait(lambda: all(s in c.rst or s in c.ended for s in others), float(a.params.get("idle_wait", 5)))
    res = c.summary()
    res.update({"bytes_before_window": at0, "granted": steps, "received": c.data.get(1, 0),
                "over_window": over, "max_frame": c.max_data_frame})
    nxt = 1 + 2 * streams
    c.send(c.get(nxt, "/size/10"))
    c.wait(lambda: nxt in c.status or c.done(nxt), 8)
    res["after"] = c.status.get(nxt)
    res["zero_window_reset"] = sorted(s for s in c.rst if 1 < s < nxt)
    res.pop("data", None)
    return pr.finish(res)


# ---------------------------------------------------------------- malformed requests

def _mal_cases(port):
    auth = b"127.0.0.1:%d" % port
    base = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", auth), (b":path", b"/echo-headers")]
    post = [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", auth), (b":path", b"/sha256")]
    return {
        "cr-in-value": (base + [(b"x-a", b"a\rb")], None),
        "lf-in-value": (base + [(b"x-a", b"a\nb")], None),
        "nul-in-value": (base + [(b"x-a", b"a\0b")], None),
        "crlf-injection": (base + [(b"x-a", b"a\r\nx-injected: 1")], None),
        "uppercase-name": (base + [(b"X-Upper", b"1")], None),
        "connection": (base + [(b"connection", b"close")], None),
        "keep-alive": (base + [(b"keep-alive", b"timeout=5")], None),
        "transfer-encoding": (base + [(b"transfer-encoding", b"chunked")], None),
        "proxy-connection": (base + [(b"proxy-connection", b"keep-alive")], None),
        "upgrade": (base + [(b"upgrade", b"h2c")], None),
        "te-not-trailers": (base + [(b"te", b"gzip")], None),
        "host-mismatch": (base + [(b"host", b"other.example")], None),
        "pseudo-after-regular": (base[:3] + [(b"x-a", b"1")] + base[3:], None),
        "empty-path": (base[:3] + [(b":path", b"")], None),
        "relative-path": (base[:3] + [(b":path", b"echo-headers")], None),
        "absolute-uri-path": (base[:3] + [(b":path", b"http://evil/echo-headers")], None),
        "duplicate-path": (base + [(b":path", b"/x")], None),
        "unknown-pseudo": (base + [(b":foo", b"bar")], None),
        "response-pseudo": (base + [(b":status", b"200")], None),
        "missing-method": (base[1:], None),
        "zero-length-name": (base + [(b"", b"v")], None),
        "space-in-name": (base + [(b"x a", b"1")], None),
        "colon-in-name": (base + [(b"x:a", b"1")], None),
        "cl-more-data": (post + [(b"content-length", b"10")], [b"x" * 20]),
        "cl-less-data": (post + [(b"content-length", b"100")], [b"x" * 10]),
        "cl-data-on-get": (base + [(b"content-length", b"0")], [b"x" * 5]),
    }


def sc_malformed(a):
    """Each malformed request (param cases; default all) on its own
    connection: outcome reset/status/goaway and the RST code."""
    cases = _mal_cases(a.port)
    names = a.params.get("cases", ",".join(cases)).split(",")
    out = {}
    for name in names:
        hdrs, body = cases[name]
        c = Conn(a.port)
        c.wait(lambda: c.settings_acks > 0, 3)
        enc = hpack.Encoder()
        blk = b"".join(hpack_literal(k, v) for k, v in hdrs)  # literal: no validation at all
        frames = [raw_frame(1, F_END_HEADERS | (0 if body else F_END_STREAM), 1, blk)]
        for j, b in enumerate(body or []):
            frames.append(raw_frame(0, F_END_STREAM if j == len(body) - 1 else 0, 1, b))
        c.send(*frames)
        c.wait(lambda: c.done(1), 5)
        r = {"status": c.status.get(1), "rst": c.rst.get(1), "goaway": c.goaway}
        if r["status"] is not None and 1 not in c.ended and 1 not in c.rst:
            c.wait(lambda: 1 in c.ended or 1 in c.rst, 3)
        r["outcome"] = ("status" if r["status"] is not None else "reset" if r["rst"] else
                        "goaway" if c.error() else "closed" if c.closed else "none")
        out[name] = r
        c.close()
    return out


# ---------------------------------------------------------------- conformance

def _expect(c, sid, kind, code):
    """kind: conn (GOAWAY code), stream (RST_STREAM code on sid), either,
    ignored (no error; a follow-up GET works)."""
    got = {"goaway": c.goaway, "rst": c.rst.get(sid) if sid else None, "closed": c.closed}
    ok = False
    if kind == "conn":
        ok = c.goaway == code
    elif kind == "stream":
        ok = got["rst"] == code and not c.error()
    elif kind == "either":
        ok = c.goaway == code or (got["rst"] == code and not c.error())
    return ok, got


def _fresh(a, settings=()):
    c = Conn(a.port, settings=settings)
    c.wait(lambda: c.settings_acks > 0, 3)
    return c


def conformance_cases(a):
    """name -> (function(c) -> stream id to judge, kind, code)"""
    big = b"x" * 10

    def c_data_idle(c):
        c.send(raw_frame(0, 0, 1, b"hello"))
        return 1

    def c_rst_idle(c):
        c.send(ser(RstStreamFrame(1, error_code=8)))
        return 1

    def c_wu_idle(c):
        c.send(ser(WindowUpdateFrame(1, window_increment=100)))
        return 1

    def c_even(c):
        c.send(c.get(2, "/size/10"))
        return 2

    def c_decreasing(c):
        c.send(c.get(5, "/size/10"))
        c.wait(lambda: c.done(5), 5)
        c.send(c.get(3, "/size/10"))
        return 3

    def c_half_closed(c):
        c.send(c.get(1, "/slow?ms=1500"))
        c.pump(0.3)
        c.send(c.get(1, "/size/10"))
        return 1

    def c_half_closed_data(c):
        c.send(c.get(1, "/slow?ms=1500"))
        c.pump(0.3)
        c.send(raw_frame(0, F_END_STREAM, 1, b"late"))
        return 1

    def c_closed_after_rst(c):
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False))
        c.pump(0.2)
        c.send(ser(RstStreamFrame(1, error_code=8)))
        c.pump(0.3)
        c.send(raw_frame(0, F_END_STREAM, 1, b"late"))
        return 1

    def c_closed_headers(c):
        c.send(c.get(1, "/size/10"))
        c.wait(lambda: c.done(1), 5)
        c.send(c.get(1, "/size/10"))
        return 1

    def c_closed_data(c):
        c.send(c.get(1, "/size/10"))
        c.wait(lambda: c.done(1), 5)
        c.send(raw_frame(0, F_END_STREAM, 1, b"late"))
        return 1

    def c_skipped_data(c):
        c.send(c.get(5, "/size/10"))
        c.wait(lambda: c.done(5), 5)
        c.send(raw_frame(0, F_END_STREAM, 3, b"late"))
        return 3

    # Streams the server reset while the client was still sending: what
    # crossed the RST_STREAM is ignored (RFC 9113 5.1), the connection
    # goes on (a connection-specific field makes nghttp2 reset it).
    def server_reset(c):
        bad = c.req_headers("/sha256", method=b"POST", extra=[(b"connection", b"close")])
        c.send(c.headers_frame(1, bad, end_stream=False))
        c.wait(lambda: 1 in c.rst or c.error() or c.closed, 3)

    def c_data_after_server_rst(c):
        server_reset(c)
        c.send(raw_frame(0, 0, 1, b"late"))
        c.send(raw_frame(0, F_END_STREAM, 1, b"late"))
        return 1

    def c_trailers_after_server_rst(c):
        server_reset(c)
        c.send(raw_frame(0, 0, 1, b"late"))
        c.send(c.headers_frame(1, [(b"x-checksum", b"1")]))
        return 1

    def c_headers_stream0(c):
        c.send(c.get(0, "/size/10"))
        return 0

    def c_data_stream0(c):
        c.send(raw_frame(0, 0, 0, b"x"))
        return 0

    def c_settings_on_stream(c):
        c.send(raw_frame(4, 0, 1, b""))
        return 0

    def c_ping_on_stream(c):
        c.send(raw_frame(6, 0, 1, b"12345678"))
        return 0

    def c_ping_len(c):
        c.send(raw_frame(6, 0, 0, b"1234567"))
        return 0

    def c_settings_ack_payload(c):
        c.send(raw_frame(4, F_ACK, 0, struct.pack(">HI", 3, 100)))
        return 0

    def c_settings_len(c):
        c.send(raw_frame(4, 0, 0, b"\0\3\0\0\0\x64\0"))
        return 0

    def c_rst_len(c):
        c.send(c.get(1, "/slow?ms=1000"), raw_frame(3, 0, 1, b"\0\0\0\x08\0"))
        return 1

    def c_wu_len(c):
        c.send(raw_frame(8, 0, 0, b"\0\0\0\x01\0"))
        return 0

    def c_priority_len(c):
        c.send(raw_frame(2, 0, 3, b"\0\0\0\x01"))
        return 3

    def c_wu_zero_conn(c):
        c.send(raw_frame(8, 0, 0, b"\0\0\0\0"))
        return 0

    def c_wu_zero_stream(c):
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
               raw_frame(8, 0, 1, b"\0\0\0\0"))
        return 1

    def c_goaway_on_stream(c):
        c.send(raw_frame(7, 0, 1, b"\0\0\0\0\0\0\0\0"))
        return 0

    def c_continuation_orphan(c):
        c.send(raw_frame(9, F_END_HEADERS, 1, c.block(c.req_headers("/size/10"))))
        return 1

    def c_interleaved(c):
        blk = c.block(c.req_headers("/size/10"))
        c.send(raw_frame(1, F_END_STREAM, 1, blk[:5]), raw_frame(6, 0, 0, b"12345678"),
               raw_frame(9, F_END_HEADERS, 1, blk[5:]))
        return 1

    def c_continuation_other_stream(c):
        blk = c.block(c.req_headers("/size/10"))
        c.send(raw_frame(1, F_END_STREAM, 1, blk[:5]), raw_frame(9, F_END_HEADERS, 3, blk[5:]))
        return 1

    def c_push_promise(c):
        c.send(c.get(1, "/slow?ms=1000"), raw_frame(5, F_END_HEADERS, 1, b"\0\0\0\2" + c.block(c.req_headers("/x"))))
        return 1

    def c_bad_padding(c):
        blk = c.block(c.req_headers("/size/10"))
        c.send(raw_frame(1, F_END_STREAM | F_END_HEADERS | F_PADDED, 1, bytes([len(blk) + 5]) + blk))
        return 1

    def c_bad_data_padding(c):
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
               raw_frame(0, F_PADDED | F_END_STREAM, 1, b"\x10abc"))
        return 1

    def c_unknown_frames(c):
        c.send(raw_frame(0xfa, 0xff, 0, b"whatever"), raw_frame(0xfb, 0, 1, b"x" * 100))
        c.send(c.headers_frame(1, c.req_headers("/size/10"), end_stream=False))
        c.send(raw_frame(0xfc, 0, 1, b"zz"), raw_frame(0, F_END_STREAM, 1, b""))
        return 1

    def c_unknown_settings(c):
        c.send(settings_frame([(0x7777, 5), (0xf0f0, 0xffffffff)]))
        return 0

    def set_case(k, v):
        def f(c):
            c.send(settings_frame([(k, v)]))
            return 0
        return f

    def c_wu_overflow_conn(c):
        c.send(ser(WindowUpdateFrame(0, window_increment=0x7fffffff)),
               ser(WindowUpdateFrame(0, window_increment=0x7fffffff)))
        return 0

    def c_wu_overflow_stream(c):
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
               ser(WindowUpdateFrame(1, window_increment=0x7fffffff)),
               ser(WindowUpdateFrame(1, window_increment=0x7fffffff)))
        return 1

    def c_settings_window_overflow(c):
        # a stream whose send window is nearly full; INITIAL_WINDOW_SIZE raise overflows it
        c.send(c.headers_frame(1, c.req_headers("/sha256", method=b"POST"), end_stream=False),
               ser(WindowUpdateFrame(1, window_increment=0x7fffffff - 65535)))
        c.pump(0.2)
        c.send(settings_frame([(S["INITIAL_WINDOW_SIZE"], 65536)]))
        return 1

    def c_data_over_conn_window(c):
        # connection window is large (connection_window_size); stream window
        # from settings: send more than initial window on one stream
        return None

    def hp(block):
        def f(c):
            c.send(raw_frame(1, F_END_STREAM | F_END_HEADERS, 1, block))
            return 1
        return f

    def hp_after(block):
        """A good request first, then the bad block."""
        def f(c):
            c.send(c.get(1, "/size/10"))
            c.wait(lambda: c.done(1), 5)
            c.send(raw_frame(1, F_END_STREAM | F_END_HEADERS, 3, block))
            return 3
        return f

    e = hpack.Encoder()
    good = e.encode([(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/size/10"),
                     (b":authority", b"127.0.0.1:%d" % a.port)])
    return {
        "streams": {
            "data-on-idle-stream": (c_data_idle, "conn", "PROTOCOL_ERROR"),
            "rst-on-idle-stream": (c_rst_idle, "conn", "PROTOCOL_ERROR"),
            "window-update-on-idle-stream": (c_wu_idle, "conn", "PROTOCOL_ERROR"),
            "even-stream-id": (c_even, "conn", "PROTOCOL_ERROR"),
            "decreasing-stream-id": (c_decreasing, "conn", "PROTOCOL_ERROR"),
            "headers-on-half-closed-remote": (c_half_closed, "either", "STREAM_CLOSED"),
            "data-on-half-closed-remote": (c_half_closed_data, "either", "STREAM_CLOSED"),
            "data-after-client-rst": (c_closed_after_rst, "either", "STREAM_CLOSED"),
            "headers-on-closed-stream": (c_closed_headers, "either", "STREAM_CLOSED"),
            "data-on-closed-stream": (c_closed_data, "conn", "STREAM_CLOSED"),
            "data-on-skipped-stream": (c_skipped_data, "conn", "STREAM_CLOSED"),
            "data-after-server-rst-ignored": (c_data_after_server_rst, "ignored", None),
            "trailers-after-server-rst-ignored": (c_trailers_after_server_rst, "ignored", None),
        },
        "frames": {
            "headers-on-stream-0": (c_headers_stream0, "conn", "PROTOCOL_ERROR"),
            "data-on-stream-0": (c_data_stream0, "conn", "PROTOCOL_ERROR"),
            "settings-on-stream": (c_settings_on_stream, "conn", "PROTOCOL_ERROR"),
            "ping-on-stream": (c_ping_on_stream, "conn", "PROTOCOL_ERROR"),
            "goaway-on-stream": (c_goaway_on_stream, "conn", "PROTOCOL_ERROR"),
            "ping-length-7": (c_ping_len, "conn", "FRAME_SIZE_ERROR"),
            "settings-ack-with-payload": (c_settings_ack_payload, "conn", "FRAME_SIZE_ERROR"),
            "settings-length-not-6n": (c_settings_len, "conn", "FRAME_SIZE_ERROR"),
            "rst-stream-length-5": (c_rst_len, "conn", "FRAME_SIZE_ERROR"),
            "window-update-length-5": (c_wu_len, "conn", "FRAME_SIZE_ERROR"),
            "priority-length-4": (c_priority_len, "either", "FRAME_SIZE_ERROR"),
            "window-update-0-connection": (c_wu_zero_conn, "conn", "PROTOCOL_ERROR"),
            "window-update-0-stream": (c_wu_zero_stream, "either", "PROTOCOL_ERROR"),
            "continuation-without-headers": (c_continuation_orphan, "conn", "PROTOCOL_ERROR"),
            "frame-inside-header-block": (c_interleaved, "conn", "PROTOCOL_ERROR"),
            "continuation-other-stream": (c_continuation_other_stream, "conn", "PROTOCOL_ERROR"),
            "push-promise-from-client": (c_push_promise, "conn", "PROTOCOL_ERROR"),
            "headers-padding-too-long": (c_bad_padding, "conn", "PROTOCOL_ERROR"),
            "data-padding-too-long": (c_bad_data_padding, "conn", "PROTOCOL_ERROR"),
            "unknown-frame-types-ignored": (c_unknown_frames, "ignored", None),
            "unknown-settings-ignored": (c_unknown_settings, "ignored", None),
        },
        "settings": {
            "enable-push-2": (set_case(2, 2), "conn", "PROTOCOL_ERROR"),
            "initial-window-size-2^31": (set_case(4, 0x80000000), "conn", "FLOW_CONTROL_ERROR"),
            "max-frame-size-16383": (set_case(5, 16383), "conn", "PROTOCOL_ERROR"),
            "max-frame-size-2^24": (set_case(5, 1 << 24), "conn", "PROTOCOL_ERROR"),
            "enable-connect-protocol-2": (set_case(8, 2), "conn", "PROTOCOL_ERROR"),
            "initial-window-raise-overflows-stream": (c_settings_window_overflow, "conn", "FLOW_CONTROL_ERROR"),
            "enable-push-0-ok": (set_case(2, 0), "ignored", None),
            "max-frame-size-2^24-1-ok": (set_case(5, (1 << 24) - 1), "ignored", None),
            "initial-window-size-2^31-1-ok": (set_case(4, 0x7fffffff), "ignored", None),
        },
        "flow": {
            "window-update-overflow-connection": (c_wu_overflow_conn, "conn", "FLOW_CONTROL_ERROR"),
            "window-update-overflow-stream": (c_wu_overflow_stream, "either", "FLOW_CONTROL_ERROR"),
        },
        "hpack": {
            "index-0": (hp(b"\x80" + good), "conn", "COMPRESSION_ERROR"),
            "invalid-static-index-70": (hp(hpack_int(70, 7, 0x80) + good), "conn", "COMPRESSION_ERROR"),
            "invalid-index-huge": (hp(b"\xff\xff\xff\xff\x0f" + good), "conn", "COMPRESSION_ERROR"),
            "invalid-index-after-request": (hp_after(hpack_int(200, 7, 0x80)), "conn", "COMPRESSION_ERROR"),
            "table-size-update-too-big": (hp(hpack_int(1 << 20, 5, 0x20) + good), "conn", "COMPRESSION_ERROR"),
            "table-size-update-after-field": (hp(good + hpack_int(0, 5, 0x20)), "conn", "COMPRESSION_ERROR"),
            "truncated-integer": (hp(good + b"\xff\xff"), "conn", "COMPRESSION_ERROR"),
            "truncated-string": (hp(good + b"\x00\x05x-a\x05ab"), "conn", "COMPRESSION_ERROR"),
            "bad-huffman-eos": (hp(good + b"\x00\x81\xff\x01v"), "conn", "COMPRESSION_ERROR"),
        },
    }


def sc_conformance(a):
    """Run one group (param group) of RFC 9113 / RFC 7541 error-handling
    checks, each on a fresh connection; print {case: {ok, expected, got}}."""
    groups = conformance_cases(a)
    group = groups[a.params["group"]]
    only = a.params.get("cases")
    out = {}
    for name, (fn, kind, code) in group.items():
        if only and name not in only.split(","):
            continue
        c = _fresh(a)
        sid = fn(c)
        if kind == "ignored":
            c.wait(lambda: c.error() or c.closed, 0.5)
            st = alive_check(c, 1 if name.startswith("unknown-settings") or name.endswith("-ok") else 3)
            if name == "unknown-frame-types-ignored":
                c.wait(lambda: c.done(1), 5)
                st = c.status.get(1)
            ok = st == 200 and not c.error()
            if "server-rst" in name:  # the case is void unless the server reset stream 1
                ok = ok and 1 in c.rst
            got = {"status": st, "goaway": c.goaway, "rst": c.rst, "closed": c.closed}
        else:
            c.wait(lambda: c.error() or (sid and sid in c.rst) or c.closed, 3)
            if sid in c.rst:
                c.wait(lambda: c.error(), 0.3)
            base = kind.replace("-or-ignored", "")
            ok, got = _expect(c, sid, base, code)
            if not ok and kind.endswith("-or-ignored") and not c.error() and sid not in c.rst:
                st = alive_check(c, 7)
                ok = st == 200
                got["ignored_then_status"] = st
            if c.goaway is not None and c.goaway != "NO_ERROR":
                c.drain(2)
                got["closed_after_goaway"] = c.closed
        out[name] = {"ok": ok, "expected": "%s %s" % (kind, code or ""), "got": got}
        c.close()
    return out


def sc_preface(a):
    """Invalid client prefaces: GOAWAY(PROTOCOL_ERROR) and close?"""
    cases = {
        "http1-request": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "garbage": b"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "bad-magic-tail": PREFACE[:-4] + b"XX\r\n" + settings_frame([]),
        "no-settings-after-magic": PREFACE + ser(PingFrame(0, opaque_data=b"12345678")),
    }
    out = {}
    for name, data in cases.items():
        s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
        s.sendall(data)
        closed, t, got = _until_eof(s, 5)
        gw = None
        i = 0
        while i + 9 <= len(got):
            ln = int.from_bytes(got[i:i + 3], "big")
            if got[i + 3] == 7 and i + 17 <= len(got):
                gw = ename(int.from_bytes(got[i + 13:i + 17], "big"))
            i += 9 + ln
        out[name] = {"closed": closed, "goaway": gw, "first": got[:24].decode("latin-1")}
        s.close()
    return out


SCENARIOS = {k[3:].replace("_", "-"): v for k, v in globals().items() if k.startswith("sc_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--legit-path", default="/size/10")
    ap.add_argument("--param", "-p", action="append", default=[], help="k=v")
    a = ap.parse_args()
    a.params = dict(p.split("=", 1) for p in a.param)
    res = SCENARIOS[a.scenario](a)
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
