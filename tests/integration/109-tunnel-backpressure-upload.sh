#!/bin/sh
# Back-pressure, client -> target, and client RST_STREAM: a CONNECT tunnel
# to a TCP target that never reads; the h2 client (python h2) writes as
# fast as the flow-control windows allow for 2 s.  h2gate must stop
# granting window once the target's socket is full: its VmRSS grows
# < 8 MiB, and a GET on the SAME connection completes meanwhile.  The
# client then resets the stream (RST_STREAM CANCEL): h2gate closes the
# target connection (the target, draining now, reaches EOF).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need h2

start_backend web
start_tcp hold stall --until "$T/drain"
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_web"
connect:
  allow: ["127.0.0.1:$TPORT_hold"]
EOF2
# An ASan build keeps freed blocks in quarantine (RSS = everything that
# passed through): without it, RSS measures the live buffers, as in a normal
# build.  No effect on a build without ASan.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" start_h2gate "$P"
J=$T/flow.json
"$PY" "$BACKENDS/h2flow.py" upload --port "$P" --pid "$H2G_PID" --target "127.0.0.1:$TPORT_hold" \
	--stall 2 --get /size/1000000 >"$J" 2>"$T/flow.out" || fail "h2flow.py failed: $(cat "$T/flow.out" "$J")"
log "$(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status"
up=$(json_get 'd["uploaded"]' "$J")
[ "$up" -gt 0 ] || fail "nothing could be uploaded into the tunnel"
g=$(json_get 'd["growth_kb"]' "$J")
[ "$g" -lt 8192 ] || fail "h2gate VmRSS grew by $g KiB (>= 8 MiB) while the target did not read ($up bytes uploaded)"
assert_eq True "$(json_get 'd["get_done_during_stall"]' "$J")" "GET on the same connection completed while the tunnel was stalled"
assert_eq 200 "$(json_get 'd["get_status"]' "$J")" "GET status"
assert_eq "$(pattern_sha 1000000)" "$(json_get 'd["get_sha256"]' "$J")" "GET body"
# the target drains now; it reaches EOF only if h2gate closed the connection
# (connection 1 of the target is wait_port's probe)
touch "$T/drain"
wait_until 10 grep -q '^EOF 2 ' "$T/tcp-hold.log" ||
	fail "the target's connection was not closed after the client's RST_STREAM: $(cat "$T/tcp-hold.log")"
stop_h2gate
pass
