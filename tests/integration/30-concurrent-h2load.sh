#!/bin/sh
# 100 concurrent streams on one h2c connection: h2load -n 1000 -c 1 -m 100
# completes with 1000 succeeded, 0 failed/errored, all 2xx; the upstream
# served exactly 1000 requests.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need h2load curl

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
EOF2
start_h2gate "$P"
before=$(backend_count "$BPORT")
timeout 120 h2load -n 1000 -c 1 -m 100 "http://127.0.0.1:$P/size/2000" >"$T/h2load.out" 2>&1 ||
	fail "h2load failed: $(tail -20 "$T/h2load.out")"
req=$(grep '^requests:' "$T/h2load.out")
st=$(grep '^status codes:' "$T/h2load.out")
assert_match '^requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout' \
	"$req" "h2load requests line"
assert_match '^status codes: 1000 2xx, 0 3xx, 0 4xx, 0 5xx' "$st" "h2load status codes line"

data=$(sed -n 's/^traffic: .* (\([0-9]*\)) data.*/\1/p' "$T/h2load.out")
assert_eq 2000000 "$data" "h2load data bytes (1000 x 2000)"
after=$(backend_count "$BPORT")
assert_eq 1000 $((after - before)) "requests that reached the upstream"
# the access log is complete once the daemon has exited
stop_h2gate
n=$(grep -c 'path="/size/2000".*status=200' "$ACCESS")
assert_eq 1000 "$n" "access log lines"
pass
