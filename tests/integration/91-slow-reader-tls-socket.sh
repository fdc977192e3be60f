#!/bin/sh
# Slow reader at the socket, over TLS: the client opens its HTTP/2 windows
# wide (2^31-1) and asks for 32 MiB, then stops reading its socket for
# 2 s.  Flow control cannot hold the body back; h2gate's caps on sealed
# records, session output and stream buffers must: its VmRSS grows
# < 8 MiB.  Then all 32 MiB arrive intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need h2
need openssl
[ -r /proc/self/status ] || skip "no /proc"

make_certs
start_backend b1
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
    tls:
      certificate: $CERT
      key: $KEY
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
# An ASan build keeps freed blocks in quarantine (RSS = everything that
# ever passed through); without it RSS measures what is held.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" start_h2gate "$P"
N=33554432
"${CURL[@]}" -k --http2 -o /dev/null "https://127.0.0.1:$P/size/1048576" || fail "warm-up request failed"

"$PY" "$BACKENDS/h2raw.py" tcpstall --tls --port "$P" --pid "$H2G_PID" --path "/size/$N" --wait 2 \
	>"$T/stall.json" 2>"$T/stall.err" || fail "client crashed: $(cat "$T/stall.err")"
log "$(cat "$T/stall.json")"
J=$T/stall.json
assert_eq 200 "$(json_get 'd["status"]' "$J")" "status"
growth=$(json_get 'd["growth_kb"]' "$J")
[ "$growth" -lt 8192 ] || fail "daemon VmRSS grew by ${growth} KiB (>= 8 MiB) while the client did not read"
assert_eq True "$(json_get 'd["ended"]' "$J")" "stream ended"
assert_eq None "$(json_get 'd["reset"]' "$J")" "stream not reset"
assert_eq $N "$(json_get 'd["bytes"]' "$J")" "bytes received"
assert_eq "$(pattern_sha $N)" "$(json_get 'd["sha256"]' "$J")" "sha256 of the 32 MiB body"
stop_h2gate
pass
