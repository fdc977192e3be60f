#!/bin/sh
# timeouts.upstream_response: 1s and an upstream answering after 3 s: 504
# (h2 and HTTP/1.1); a fast request on the same route still gets 200.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

start_backend b1
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
timeouts:
  upstream_response: 1s
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P
"${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/slow?ms=3000" >"$T/h2.code" &
c1=$!
"${CURL[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$U/slow?ms=3000" >"$T/h1.code" &
c2=$!
out=$("${CURL[@]}" --http2-prior-knowledge -w '%{http_code}' "$U/slow?ms=10") || fail "fast request failed"
assert_eq "slow 10
200" "$out" "fast request below the timeout"
wait $c1 || fail "h2 curl failed"
wait $c2 || fail "HTTP/1.1 curl failed"
assert_eq 504 "$(cat "$T/h2.code")" "h2 slow upstream"
assert_eq 504 "$(cat "$T/h1.code")" "HTTP/1.1 slow upstream"
# the access log is complete once the daemon has exited
stop_h2gate
n=$(grep -c 'path="/slow?ms=3000".*status=504\|status=504.*path="/slow?ms=3000"' "$ACCESS")
assert_eq 2 "$n" "access log 504 lines"
pass
