#!/bin/sh
# Session ids stay unique with more than 64 workers: 130 workers, 150 h2c
# sessions held open at once (spread over the workers by SO_REUSEPORT);
# h2gatectl sessions lists each of them once, under an id of its own.
# (Ids were worker + 64 * count: worker 64's first session had the id of
# worker 0's second.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"
# 130 idle workers hold some 800 descriptors: 150 sessions stay under a
# limit of 1024.
N=150
P=$(free_port)
write_config <<EOF2
$(config_common | sed 's/^workers: 1$/workers: 130/')
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:9"
timeouts:
  handshake: 60s
EOF2
start_h2gate "$P"

# N sessions: each sends the h2 preface and SETTINGS and waits for the
# daemon's SETTINGS, so every one is a live session before "ready"; they
# stay open until the holder is killed.
cat >"$T/hold.py" <<'EOF2'
import signal, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    conns.append(s)
for s in conns:
    got = b""
    while len(got) < 9:
        b = s.recv(9 - len(got))
        if not b:
            sys.exit("closed before SETTINGS")
        got += b
    if got[3] != 4:
        sys.exit("first frame is not SETTINGS")
print("ready", flush=True)
signal.pause()
EOF2
"$PY" "$T/hold.py" "$P" "$N" >"$T/hold.out" 2>&1 &
hold=$!
_PIDS+=("$hold")
wait_until "$H2G_WAIT" grep -q '^ready' "$T/hold.out" || fail "the sessions did not open: $(cat "$T/hold.out")"

"$CTL" -s "$T/ctl.sock" --json sessions >"$T/sessions.json" 2>"$T/ctl.err" || fail "sessions: $(cat "$T/ctl.err")"
assert_eq "$N" "$(json_get 'len(d)' "$T/sessions.json")" "sessions listed"
assert_eq "$N" "$(json_get 'len(set(s["id"] for s in d))' "$T/sessions.json")" "distinct session ids"
workers=$(json_get 'len(set(s["worker"] for s in d))' "$T/sessions.json")
log "$N sessions on $workers workers"
# Ids of the old scheme met only across workers 64 apart: make sure some
# sessions were on workers past 64.
[ "$(json_get 'max(s["worker"] for s in d)' "$T/sessions.json")" -ge 64 ] || fail "no session on a worker past 64"
kill "$hold"
stop_h2gate
pass
