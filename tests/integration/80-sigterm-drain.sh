#!/bin/sh
# SIGTERM with requests in flight (/slow?ms=1500 over h2c and HTTP/1.1):
# the h2 client gets GOAWAY (NO_ERROR), both requests complete with 200,
# the daemon exits 0, and new connections are then refused.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

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
  shutdown: 20s
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P

nghttp -v "$U/slow?ms=1500" >"$T/nghttp.out" 2>&1 &
n1=$!
"${CURL[@]}" --http1.1 -w ' %{http_code}' "$U/slow?ms=1501" >"$T/h1.out" 2>&1 &
c1=$!
# both requests reached the upstream: they are in flight
wait_until "$H2G_WAIT" grep -q 'REQ GET /slow?ms=1501 ' "$BLOG" || fail "HTTP/1.1 request never reached the upstream"
wait_until "$H2G_WAIT" grep -q 'REQ GET /slow?ms=1500 ' "$BLOG" || fail "h2 request never reached the upstream"
kill -TERM "$H2G_PID"

wait $n1 || fail "nghttp failed: $(tail -20 "$T/nghttp.out")"
wait $c1 || fail "HTTP/1.1 curl failed: $(cat "$T/h1.out")"
assert_eq "slow 1501
 200" "$(cat "$T/h1.out")" "HTTP/1.1 in-flight request"
assert_file_match 'recv \(stream_id=[0-9]+\) :status: 200' "$T/nghttp.out" "h2 in-flight request status"
assert_file_match '^slow 1500$' "$T/nghttp.out" "h2 in-flight request body"
assert_file_match 'recv GOAWAY frame' "$T/nghttp.out" "h2 client got GOAWAY"
assert_file_match 'error_code=NO_ERROR' "$T/nghttp.out" "GOAWAY NO_ERROR"

wait_h2gate_exit   # already signalled: waits (bounded) for exit 0
if port_open "$P"; then fail "port $P still accepts connections after shutdown"; fi
out=$("${CURL[@]}" --http2-prior-knowledge "$U/size/1" 2>&1)
rc=$?
assert_eq 7 "$rc" "curl exit code after shutdown (7 = connection refused; output: $out)"
n=$(grep -c 'path="/slow?ms=150[01]".*status=200\|status=200.*path="/slow?ms=150[01]"' "$ACCESS")
assert_eq 2 "$n" "access log lines of the drained requests"
pass
