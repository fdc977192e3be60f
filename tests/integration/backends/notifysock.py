#!/usr/bin/python3
"""A stand-in for systemd's NOTIFY_SOCKET listener (sd_notify(3)): an
AF_UNIX SOCK_DGRAM socket bound to PATH.  Every datagram received is
written to LOG as one JSON line (flushed at once):
  {"n": sequence number, "t": seconds since start, "pid": sender pid from
   SCM_CREDENTIALS or null, "fields": {"READY": "1", ...}, "raw": "...",
   "probe": true|false|null}
With --probe PORT, each datagram carrying READY=1 is followed at once by a
TCP connect to 127.0.0.1:PORT: "probe" says whether it was accepted (so a
test can tell that READY=1 came after the daemon listened).
Prints "READY" on stdout once bound.  Stops on SIGTERM or after --max
seconds (default 120).

  notifysock.py --path PATH --log LOG [--probe PORT] [--max S]
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time


def probe(port):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=2)
        c.close()
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--probe", type=int, default=0)
    ap.add_argument("--max", type=float, default=120)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    try:
        os.unlink(a.path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    # Ask for the sender's credentials, as systemd does.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(a.path)
    s.settimeout(0.5)
    out = open(a.log, "a", buffering=1)
    print("READY", flush=True)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < a.max:
        try:
            data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS and len(cdata) >= 12:
                pid = struct.unpack("iII", cdata[:12])[0]
        raw = data.decode("utf-8", "replace")
        fields = {}
        for line in raw.split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        pr = None
        if a.probe and fields.get("READY") == "1":
            pr = probe(a.probe)
        n += 1
        out.write(json.dumps({"n": n, "t": round(time.monotonic() - t0, 3), "pid": pid,
                              "fields": fields, "raw": raw, "probe": pr}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
