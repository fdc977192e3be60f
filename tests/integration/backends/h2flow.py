#!/usr/bin/python3
"""Back-pressure probes for h2gate CONNECT tunnels (python h2, h2c prior
knowledge).  Prints one JSON object.

  h2flow.py download --port P --pid PID --target HOST:PORT --bytes N
            [--stall S] [--get PATH]
      CONNECT to a tcpserver.py "source" target that sends N bytes as fast
      as it can.  The tunnel stream's window is never replenished for S
      seconds (default 2): only the connection window is (so other streams
      are not starved by the client).  Meanwhile GET PATH (default
      /size/1000000) runs on the SAME connection with normal flow control.
      h2gate's VmRSS is sampled before, and at its highest during the stall.
      Then the tunnel is read to END_STREAM with WINDOW_UPDATEs.
      {status, rss_before_kb, rss_max_kb, growth_kb, stalled_bytes,
       get_status, get_bytes, get_sha256, get_done_during_stall,
       bytes, sha256, ended}
  h2flow.py upload --port P --pid PID --target HOST:PORT [--stall S]
            [--get PATH]
      CONNECT to a "hold" target that never reads, and write as much as the
      flow-control windows let us for S seconds; meanwhile the GET on the
      same connection.  Then RST_STREAM(CANCEL) the tunnel (the target must
      see its connection closed: the test checks its log).
      {status, rss_before_kb, rss_max_kb, growth_kb, uploaded,
       get_status, get_bytes, get_sha256, get_done_during_stall}
"""
import argparse
import hashlib
import json
import socket
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
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.local_settings = h2.settings.Settings(client=True, initial_values={
            h2.settings.SettingCodes.ENABLE_PUSH: 0,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535,
        })
        self.conn.initiate_connection()
        # a large connection window: only the stream windows limit anything
        self.conn.increment_flow_control_window(16 << 20)
        self.flush()
        self.streams = {}

    def flush(self):
        d = self.conn.data_to_send()
        if d:
            self.sock.sendall(d)

    def stream(self, sid):
        return self.streams.setdefault(sid, {"status": None, "bytes": 0, "sha": hashlib.sha256(),
                                             "ended": False, "reset": None, "unacked": 0})

    def pump(self, timeout, ack):
        """Read once (up to timeout s) and handle the events.  ack(sid) tells
        whether DATA on that stream gets a stream-level WINDOW_UPDATE; the
        connection window is always replenished."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            return True
        if not data:
            return False
        for ev in self.conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                st = self.stream(ev.stream_id)
                st["status"] = int(dict(ev.headers)[":status"])
            elif isinstance(ev, h2.events.DataReceived):
                st = self.stream(ev.stream_id)
                st["bytes"] += len(ev.data)
                st["sha"].update(ev.data)
                n = ev.flow_controlled_length
                if n:
                    if ack(ev.stream_id):
                        self.conn.acknowledge_received_data(n, ev.stream_id)
                    else:
                        st["unacked"] += n
                        self.conn.increment_flow_control_window(n)  # connection only
            elif isinstance(ev, h2.events.StreamEnded):
                self.stream(ev.stream_id)["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                self.stream(ev.stream_id)["reset"] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                return False
        self.flush()
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["download", "upload"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--bytes", type=int, default=64 << 20)
    ap.add_argument("--stall", type=float, default=2.0)
    ap.add_argument("--get", default="/size/1000000")
    a = ap.parse_args()
    res = {}
    c = Client(a.port)

    # warm-up: one GET, so the session's own allocations are in the baseline
    c.conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1"),
                            (":path", "/size/1000")], end_stream=True)
    c.flush()
    deadline = time.time() + 10
    while not c.stream(1)["ended"] and time.time() < deadline:
        if not c.pump(0.5, lambda sid: True):
            break
    time.sleep(0.2)
    res["rss_before_kb"] = rss_before = rss_kb(a.pid)

    tid = 3
    c.conn.send_headers(tid, [(":method", "CONNECT"), (":authority", a.target)], end_stream=False)
    c.flush()
    deadline = time.time() + 10
    while c.stream(tid)["status"] is None and c.stream(tid)["reset"] is None and time.time() < deadline:
        if not c.pump(0.5, lambda sid: sid != tid):
            break
    res["status"] = c.stream(tid)["status"]
    if res["status"] != 200:
        print(json.dumps(res))
        return

    rss_max = rss_before
    gid = 5
    get_started = False
    uploaded = 0
    chunk = b"u" * 16384
    t0 = time.time()
    while time.time() - t0 < a.stall:
        if not get_started and time.time() - t0 > a.stall / 3:
            c.conn.send_headers(gid, [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1"),
                                      (":path", a.get)], end_stream=True)
            c.flush()
            get_started = True
        if a.mode == "upload":
            while True:
                w = min(c.conn.local_flow_control_window(tid), c.conn.max_outbound_frame_size)
                if w <= 0:
                    break
                c.conn.send_data(tid, chunk[:w])
                uploaded += w
                # never block on the socket: the daemon may stop reading us
                d = c.conn.data_to_send()
                c.sock.settimeout(0.2)
                try:
                    c.sock.sendall(d)
                except socket.timeout:
                    res["socket_blocked"] = True
                    break
        if not c.pump(0.05, lambda sid: sid != tid):
            res["connection_closed"] = True
            break
        rss_max = max(rss_max, rss_kb(a.pid))
    g = c.stream(gid)
    res["get_done_during_stall"] = g["ended"]
    res["rss_max_kb"] = rss_max
    res["growth_kb"] = rss_max - rss_before
    res["stalled_bytes"] = c.stream(tid)["bytes"]
    res["uploaded"] = uploaded
    res["tunnel_reset_during_stall"] = c.stream(tid)["reset"]

    if a.mode == "download":
        st = c.stream(tid)
        if st["unacked"]:
            c.conn.increment_flow_control_window(st["unacked"], stream_id=tid)
            st["unacked"] = 0
        c.conn.increment_flow_control_window(8 << 20, stream_id=tid)  # read at speed now
        c.flush()
        deadline = time.time() + 60
        while not st["ended"] and st["reset"] is None and time.time() < deadline:
            if not c.pump(1.0, lambda sid: True):
                break
        res["bytes"] = st["bytes"]
        res["sha256"] = st["sha"].hexdigest()
        res["ended"] = st["ended"]
        res["reset"] = st["reset"]
    else:
        c.conn.reset_stream(tid, 8)  # CANCEL
        c.flush()
    deadline = time.time() + 20
    while not g["ended"] and g["reset"] is None and time.time() < deadline:
        if not c.pump(0.5, lambda sid: True):
            break
    res["get_status"] = g["status"]
    res["get_bytes"] = g["bytes"]
    res["get_sha256"] = g["sha"].hexdigest()
    c.conn.close_connection()
    c.flush()
    c.sock.close()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
