#!/bin/sh
# timeouts.upstream_connect: 1s: an upstream whose TCP connect never
# completes (accept queue full: SYNs dropped) gives 502/504 within a few
# seconds (h2 and HTTP/1.1), not after the kernel's minutes of retries.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw bh --blackhole
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$RPORT" "h2, http/1.1")
timeouts:
  upstream_connect: 1s
  upstream_response: 60s
  stream_idle: 60s
EOF2
start_h2gate "$P"

code=$(curl -sS --max-time 8 --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/x" 2>&1)
assert_match '^(502|504)$' "$code" "h2 request to an upstream that never accepts (curl max 8 s)"
code=$(curl -sS --max-time 8 --http1.1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/x" 2>&1)
assert_match '^(502|504)$' "$code" "HTTP/1.1 request to an upstream that never accepts (curl max 8 s)"
stop_h2gate
pass
