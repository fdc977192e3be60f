#!/usr/bin/python3
"""Put a proxy's system calls on the side of the socket they act on (bench helper).

Usage:
  syscall_sides.py watch OUT PID...
  syscall_sides.py classify --listen P[,P...] --up PORT [--backends P,...]
                            --totals PERFSTAT FDS < perf-script-output

bench/run counts the proxy's system calls per request on each side
without strace: `perf record` records the calls that name a descriptor
during a warm-up run while this helper watches which side each
descriptor is on; then `perf stat` alone counts every call by name
during the measured-size run (attached perf record changes how the
proxy batches; perf stat does not), and each name's split by side in
the warm-up is applied to its count in that run.

watch: every 0.1 s, snapshot the descriptors of the PIDs
(/proc/PID/fd) and the TCP ports of their sockets, until SIGTERM.  A
line per descriptor per snapshot, "TIME PID FD LOCALPORT PEERPORT"
(TIME is CLOCK_MONOTONIC, the clock `perf record -k monotonic` stamps
its events with; ports are 0 for a descriptor that is not a TCP socket).
A socket's ports never change, so /proc/net/tcp (long on a busy host) is
read only when a snapshot finds a socket it has not seen.

classify: reads `perf script -F pid,time,event,trace` output on stdin.
Each event's descriptor is looked up in the snapshot of its process
nearest in time that has it (descriptor numbers are reused: a connection
closed and another opened between two snapshots 0.1 s apart is the only
case it can get wrong).  Sides: "client" = a socket whose local port is
one of the proxy's listeners (the listener itself and the connections
accepted on it), "upstream" = a socket whose peer port is the row's
backend, "other" = everything else (epoll, timers, eventfds, pipes, and
connections to the other backends).  epoll_ctl counts for the
descriptor it changes; splice and sendfile for whichever end is a
socket; socket() (recorded at its exit) for the descriptor it returned.
The calls perf did not record (epoll_wait, memory, ...) are "other":
their counts come from the perf stat output (PERFSTAT, `perf stat -x,`
of raw_syscalls:sys_enter and syscalls:sys_enter_*).  Each recorded
name's split by side is applied to perf stat's count of that name (the
counted run is another run than the recorded one); a kind of call
counted but never recorded (e.g. a connect() the warm-up did not need)
is put on the side such calls have in a proxy (accept: client; socket,
connect: upstream; the rest: other) and, unless other, counted in
"unsplit".  Prints
"side name count" lines, then "total N", "recorded N" (events read),
"recorded-names-counted N" (perf stat's count of the names recorded,
in the counted run),
"unmatched N" (events whose descriptor no snapshot had: counted as
other) and "unsplit N".
"""

import bisect
import os
import re
import signal
import sys
import time


def tcp_ports():
    """inode -> (local port, peer port) for every TCP socket of this netns."""
    ports = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f, None)
                for line in f:
                    v = line.split()
                    if len(v) > 9:
                        ports[v[9]] = (int(v[1].rsplit(":", 1)[1], 16),
                                       int(v[2].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def watch(out, pids):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    known = {}  # socket inode -> (local, peer)
    with open(out, "w") as f:
        while True:
            t = time.monotonic()
            fds = []
            for pid in pids:
                d = "/proc/%s/fd" % pid
                try:
                    names = os.listdir(d)
                except OSError:
                    continue
                for fd in names:
                    try:
                        target = os.readlink(d + "/" + fd)
                    except OSError:
                        continue
                    inode = target[8:-1] if target.startswith("socket:[") else None
                    fds.append((pid, fd, inode))
            if any(i is not None and i not in known for _, _, i in fds):
                known.update(tcp_ports())
            for pid, fd, inode in fds:
                lp, pp = known.get(inode, (0, 0)) if inode else (0, 0)
                f.write("%.6f %s %s %d %d\n" % (t, pid, fd, lp, pp))
            f.flush()
            if stop:
                return
            time.sleep(0.1)


FD_FIELDS = {"epoll_ctl": ("fd",), "splice": ("fd_in", "fd_out"),
             "sendfile64": ("in_fd", "out_fd")}
# a call perf counted but did not record (all came after the recording):
# the side its kind always has in a proxy
UNSPLIT_SIDE = {"accept": "client", "accept4": "client", "connect": "upstream", "socket": "upstream"}
EVENT = re.compile(r"^\s*(\d+)(?:/\d+)?\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(.*)$")


def load_snapshots(path, side_of_ports):
    """(pid, fd) -> (sorted times, sides)"""
    snaps = {}
    with open(path) as f:
        for line in f:
            v = line.split()
            if len(v) != 5:
                continue
            k = (v[1], int(v[2]))
            e = snaps.setdefault(k, ([], []))
            e[0].append(float(v[0]))
            e[1].append(side_of_ports(int(v[3]), int(v[4])))
    return snaps


def side_at(snaps, pid, fd, t):
    e = snaps.get((pid, fd))
    if e is None:
        return None
    times, sides = e
    i = bisect.bisect_left(times, t)
    if i == 0:
        return sides[0]
    if i == len(times) or t - times[i - 1] <= times[i] - t:
        return sides[i - 1]
    return sides[i]


def perf_stat_counts(path):
    """name -> count from `perf stat -x,` output; "total" for raw_syscalls"""
    counts = {}
    with open(path) as f:
        for line in f:
            v = line.split(",")
            if len(v) < 3 or not v[0].strip().isdigit():
                continue
            ev = v[2]
            if ev.startswith("raw_syscalls:sys_enter"):
                counts["total"] = int(v[0])
            elif ev.startswith("syscalls:sys_enter_"):
                counts[ev[len("syscalls:sys_enter_"):]] = int(v[0])
    return counts


def classify(args):
    opts = {}
    while args and args[0].startswith("--"):
        opts[args[0]] = args[1]
        args = args[2:]
    listen = {int(p) for p in opts["--listen"].split(",") if p}
    up = int(opts["--up"])

    def side_of_ports(lp, pp):
        if lp in listen:
            return "client"
        if pp == up and pp:
            return "upstream"
        return "other"

    snaps = load_snapshots(args[0], side_of_ports)
    per = {}  # (side, name) -> count
    recorded = unmatched = 0
    for line in sys.stdin:
        m = EVENT.match(line)
        if not m:
            continue
        pid, t, kind, name, rest = m.group(1), float(m.group(2)), m.group(3), m.group(4), m.group(5)
        fields = dict(kv.split(": ", 1) for kv in rest.split(", ") if ": " in kv)
        if kind == "exit":   # socket(): the descriptor it returned
            fds = [rest.strip()]
        else:
            fds = [fields[k] for k in FD_FIELDS.get(name, ("fd",)) if k in fields]
        sides = []
        for fd in fds:
            try:
                s = side_at(snaps, pid, int(fd, 16), t)
            except ValueError:
                s = None
            sides.append(s)
        recorded += 1
        known = [s for s in sides if s is not None]
        if not known:
            unmatched += 1
            side = "other"
        else:
            side = next((s for s in known if s != "other"), "other")
        per[(side, name)] = per.get((side, name), 0) + 1
    # Scaled to perf stat's exact count of each name in the counted run;
    # the names not recorded (epoll_wait, memory, ...) are "other".
    stat = perf_stat_counts(opts["--totals"])
    rec = {}
    for (side, name), n in per.items():
        rec[name] = rec.get(name, 0) + n
    out = {}
    for (side, name), n in per.items():
        scale = stat[name] / rec[name] if stat.get(name) else 1.0
        out[(side, name)] = n * scale
    unsplit = 0
    for name, n in stat.items():
        if name != "total" and name not in rec and n > 0:
            side = UNSPLIT_SIDE.get(name, "other")
            out[(side, name)] = n
            unsplit += n if side != "other" else 0
    named = sum(out.values())
    total = max(stat.get("total", named), named)
    if total > named:   # calls no syscalls:sys_enter_* tracepoint counted
        out[("other", "(unnamed)")] = total - named
    for (side, name), n in sorted(out.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(side, name, "%.0f" % n)
    print("total", "%.0f" % total)
    print("recorded", recorded)
    print("recorded-names-counted", sum(stat.get(name, 0) for name in rec))
    print("unmatched", unmatched)
    print("unsplit", unsplit)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "watch":
        watch(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "classify":
        classify(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
