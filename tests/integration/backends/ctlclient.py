#!/usr/bin/python3
"""Minimal client of the h2gate control socket (line-delimited JSON), for
the operations tests (4NN-*.sh).  Independent of h2gatectl.

  ctlclient.py SOCKET REQUEST...

Each REQUEST is either a JSON object ('{"cmd":"check","file":"/x"}') or a
bare command word ("status", "reload", ...), or "session=ID", or
"check=FILE".  All requests go over ONE connection, in order; each reply
line is printed as it arrives (compact JSON, one per line).
Exit status: 0 if every reply has "ok": true, 1 if any has "ok": false,
2 on a transport error (no reply within --timeout seconds, default 10,
connection refused, invalid JSON).
"""
import json
import socket
import sys


def build(arg):
    if arg.startswith("{"):
        return json.loads(arg)
    if arg.startswith("session="):
        return {"cmd": "session", "id": int(arg.split("=", 1)[1])}
    if arg.startswith("check="):
        return {"cmd": "check", "file": arg.split("=", 1)[1]}
    return {"cmd": arg}


def main(argv):
    timeout = 10.0
    if len(argv) > 2 and argv[1] == "--timeout":
        timeout = float(argv[2])
        argv = [argv[0]] + argv[3:]
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, reqs = argv[1], [build(a) for a in argv[2:]]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError as e:
        sys.stderr.write("ctlclient: connect %s: %s\n" % (path, e))
        return 2
    rc = 0
    buf = b""
    f = None
    for r in reqs:
        s.sendall(json.dumps(r).encode() + b"\n")
        while b"\n" not in buf:
            try:
                d = s.recv(65536)
            except socket.timeout:
                sys.stderr.write("ctlclient: no reply to %s within %ss\n" % (json.dumps(r), timeout))
                return 2
            if not d:
                sys.stderr.write("ctlclient: connection closed before the reply to %s\n" % json.dumps(r))
                return 2
            buf += d
        line, buf = buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            sys.stderr.write("ctlclient: invalid JSON reply: %r\n" % line)
            return 2
        print(json.dumps(msg, separators=(",", ":")), flush=True)
        if msg.get("ok") is not True:
            rc = 1
    s.close()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
