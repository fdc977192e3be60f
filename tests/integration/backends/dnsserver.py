#!/usr/bin/env python3
"""A tiny authoritative DNS server for the tests (UDP, standard library).

    dnsserver.py --port N --zone FILE [--ttl S] [--log FILE] [--ready FILE]

Answers every name with the records of FILE, re-read on each query: one
record a line, "A 127.0.0.1" or "AAAA ::1" ('#' starts a comment).  A
query of another type, or of a type the file has none of, gets an empty
NOERROR answer.  Each query is logged as "NAME TYPE ANSWERS", the name lowercased (evdns
randomizes its case).
"""
import argparse
import os
import socket
import struct
import sys

QTYPES = {1: "A", 28: "AAAA"}


def records(zone):
    out = []
    try:
        with open(zone) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if len(line) == 2 and line[0] in ("A", "AAAA"):
                    out.append((line[0], line[1]))
    except OSError:
        pass
    return out


def parse_question(msg):
    """(id, flags, question bytes, name, qtype) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return None
    i, labels = 12, []
    while i < len(msg) and msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    i += 1
    if i + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[i:i + 2])[0]
    return qid, flags, msg[12:i + 4], ".".join(labels), qtype


def answer(msg, zone, ttl):
    q = parse_question(msg)
    if q is None:
        return None, None
    qid, flags, question, name, qtype = q
    want = QTYPES.get(qtype)
    rrs = []
    for typ, addr in records(zone):
        if typ != want:
            continue
        fam = socket.AF_INET if typ == "A" else socket.AF_INET6
        data = socket.inet_pton(fam, addr)
        # a pointer to the question's name (offset 12)
        rrs.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(data)) + data)
    rd = flags & 0x0100
    head = struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, len(rrs), 0, 0)
    return head + question + b"".join(rrs), "%s %s %d" % (name.lower(), want or qtype, len(rrs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--ttl", type=int, default=1)
    ap.add_argument("--log")
    ap.add_argument("--ready")
    args = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", args.port))
    logf = open(args.log, "a", buffering=1) if args.log else None
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready + ".tmp", args.ready)
    while True:
        msg, peer = s.recvfrom(4096)
        reply, line = answer(msg, args.zone, args.ttl)
        if reply is None:
            continue
        s.sendto(reply, peer)
        if logf:
            logf.write(line + "\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
