#!/bin/sh
# Back-pressure, target -> client: a CONNECT tunnel to a TCP source that
# sends 64 MiB as fast as it can, whose h2 client (python h2) does not
# replenish the stream window for 2 s (the connection window it does).
# h2gate must stop reading the target: its VmRSS grows < 8 MiB, and a GET
# on the SAME connection completes meanwhile.  Then the client reads on:
# all 64 MiB arrive intact, then END_STREAM.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need h2

N=$((64 * 1024 * 1024))
start_backend web
start_tcp src source --bytes "$N"
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
  allow: ["127.0.0.1:$TPORT_src"]
EOF2
# An ASan build keeps freed blocks in quarantine (RSS = everything that
# passed through): without it, RSS measures the live buffers, as in a normal
# build.  No effect on a build without ASan.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" start_h2gate "$P"
J=$T/flow.json
"$PY" "$BACKENDS/h2flow.py" download --port "$P" --pid "$H2G_PID" --target "127.0.0.1:$TPORT_src" \
	--bytes "$N" --stall 2 --get /size/1000000 >"$J" 2>"$T/flow.out" || fail "h2flow.py failed: $(cat "$T/flow.out" "$J")"
log "$(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status"
g=$(json_get 'd["growth_kb"]' "$J")
[ "$g" -lt 8192 ] || fail "h2gate VmRSS grew by $g KiB (>= 8 MiB) while the tunnel's client did not read"
assert_eq True "$(json_get 'd["get_done_during_stall"]' "$J")" "GET on the same connection completed while the tunnel was stalled"
assert_eq 200 "$(json_get 'd["get_status"]' "$J")" "GET status"
assert_eq "$(pattern_sha 1000000)" "$(json_get 'd["get_sha256"]' "$J")" "GET body"
assert_eq None "$(json_get 'd["reset"]' "$J")" "RST_STREAM on the tunnel"
assert_eq "$N" "$(json_get 'd["bytes"]' "$J")" "bytes through the tunnel after resuming"
assert_eq "$(pattern_sha "$N")" "$(json_get 'd["sha256"]' "$J")" "sha256 of the tunnelled bytes"
assert_eq True "$(json_get 'd["ended"]' "$J")" "END_STREAM after the source's EOF"
stop_h2gate
pass
