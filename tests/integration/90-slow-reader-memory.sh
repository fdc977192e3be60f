#!/bin/sh
# Slow reader: a client opens one stream for 32 MiB and stops reading after
# the first 64 KiB window (no WINDOW_UPDATE) for 2 s; the daemon's VmRSS
# grows < 8 MiB (it applied backpressure instead of buffering the upstream
# body); then reading resumes and all 32 MiB arrive intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need h2
[ -r /proc/self/status ] || skip "no /proc"

start_backend b1
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
        upstream: "http://127.0.0.1:$BPORT"
limits:
  initial_window_size: 64KiB
  connection_window_size: 1MiB
EOF2
start_h2gate "$P"
N=33554432
# warm up (allocator, upstream pool), so the RSS baseline is not cold
"${CURL[@]}" --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$P/size/1048576" || fail "warm-up request failed"

"$PY" "$BACKENDS/h2raw.py" slowreader --port "$P" --pid "$H2G_PID" --path "/size/$N" --wait 2 \
	>"$T/slow.json" 2>"$T/slow.err" || fail "slow reader crashed: $(cat "$T/slow.err")"
log "$(cat "$T/slow.json")"
J=$T/slow.json
assert_eq 200 "$(json_get 'd["status"]' "$J")" "status"
first=$(json_get 'd["first_read"]' "$J")
[ "$first" -le 65535 ] || fail "read $first bytes within the initial 65535-byte window"
assert_eq 0 "$(json_get 'd["read_while_stalled"]' "$J")" "bytes received beyond the window while not reading"
growth=$(json_get 'd["growth_kb"]' "$J")
[ "$growth" -lt 8192 ] || fail "daemon VmRSS grew by ${growth} KiB (>= 8 MiB) while the client was stalled"
assert_eq True "$(json_get 'd["ended"]' "$J")" "stream ended"
assert_eq None "$(json_get 'd["reset"]' "$J")" "stream not reset"
assert_eq $N "$(json_get 'd["bytes"]' "$J")" "bytes received"
assert_eq "$(pattern_sha $N)" "$(json_get 'd["sha256"]' "$J")" "sha256 of the 32 MiB body"
stop_h2gate
pass
