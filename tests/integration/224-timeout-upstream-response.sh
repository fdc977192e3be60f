#!/bin/sh
# timeouts.upstream_response: 1s: an upstream that accepts the request and
# never answers gives 504 (h2, HTTP/1.1), and its connection is closed,
# not pooled; a fast response on the same route is 200.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$RPORT" "h2, http/1.1")
timeouts:
  upstream_response: 1s
  stream_idle: 60s
EOF2
start_h2gate "$P"

code=$(curl -sS --max-time 8 --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/stall-head" 2>&1)
assert_eq 504 "$code" "h2: upstream never answers"
code=$(curl -sS --max-time 8 --http1.1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/stall-head" 2>&1)
assert_eq 504 "$code" "HTTP/1.1: upstream never answers"
raw_all_closed "upstreams that never answered"
out=$(curl -sS --max-time 8 --http2-prior-knowledge "http://127.0.0.1:$P/ok")
assert_eq ok-ok "$out" "fast response"
stop_h2gate
pass
