#!/bin/sh
# A node http2 session with 100 parallel GETs of different sizes: every
# body is verified; the access log shows them on one connection.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need node

make_certs
start_backend b1
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    tls:
      certificate: $CERT
      key: $KEY
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
start_h2gate "$P"
node "$BACKENDS/h2client.js" parallel "https://127.0.0.1:$P/" 100 --ca "$CERT" >"$T/node.json" ||
	fail "node client failed: $(cat "$T/node.json")"
assert_eq 100 "$(json_get 'd["ok"]' "$T/node.json")" "verified bodies ($(cat "$T/node.json"))"
assert_eq 0 "$(json_get 'd["bad"]' "$T/node.json")" "bad responses"
logged_100() { [ "$(grep -c 'path="/size/' "$ACCESS" 2>/dev/null)" -ge 100 ]; }
wait_until 5 logged_100 || fail "access log has $(grep -c 'path="/size/' "$ACCESS") of the 100 lines"
n=$(grep 'path="/size/' "$ACCESS" | grep -c 'status=200')
assert_eq 100 "$n" "access log lines with status 200"
conns=$(grep 'path="/size/' "$ACCESS" | sed -n 's/.* conn=\([^ ]*\) .*/\1/p' | sort -u | wc -l)
assert_eq 1 "$conns" "distinct conn= values (one session)"
streams=$(grep 'path="/size/' "$ACCESS" | sed -n 's/.* stream=\([^ ]*\) .*/\1/p' | sort -u | wc -l)
assert_eq 100 "$streams" "distinct stream= values"
stop_h2gate
pass
