#!/bin/sh
# Classic CONNECT (node http2 client): an allowed target gets 200 and a
# working byte tunnel (an HTTP/1.1 exchange with the backend through it);
# a target not in connect.allow, or matching connect.deny, gets 403 and is
# never contacted; an allowed target that refuses connections gets 502.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need node

start_backend allowed
start_backend other
DEAD=$(refused_port)
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:$BPORT_allowed", "127.0.0.1:$DEAD", "localhost:*"]
  deny: ["localhost:$BPORT_other"]
EOF2
start_h2gate "$P"
C=(node "$BACKENDS/h2client.js" connect "http://127.0.0.1:$P/")

"${C[@]}" "127.0.0.1:$BPORT_allowed" --send 'GET /size/1000 HTTP/1.1\r\nHost: tunnel.test\r\nConnection: close\r\n\r\n' \
	>"$T/ok.json" || fail "node CONNECT failed: $(cat "$T/ok.json")"
assert_eq 200 "$(json_get 'd["status"]' "$T/ok.json")" "CONNECT to an allowed target"
assert_match '^HTTP/1.1 200 OK' "$(json_get 'd["received"]' "$T/ok.json")" "response through the tunnel"
assert_match 'X-Backend: allowed' "$(json_get 'd["received"]' "$T/ok.json")" "backend behind the tunnel"
# the raw bytes are exactly the backend's response: headers + the 1000-byte pattern body
body_sha=$(json_get '__import__("hashlib").sha256(d["received"].split("\r\n\r\n", 1)[1].encode()).hexdigest()' "$T/ok.json")
assert_eq "$(pattern_sha 1000)" "$body_sha" "body through the tunnel"
grep -q 'REQ GET /size/1000 .*tunnel.test' "$T/backend-allowed.log" || fail "backend did not see the tunnelled request verbatim"

before=$(backend_count "$BPORT_other")
"${C[@]}" "127.0.0.1:$BPORT_other" --send 'GET / HTTP/1.1\r\n\r\n' >"$T/no.json" || fail "node failed: $(cat "$T/no.json")"
assert_eq 403 "$(json_get 'd["status"]' "$T/no.json")" "CONNECT to a target not allowed"
"${C[@]}" "localhost:$BPORT_other" --send 'GET / HTTP/1.1\r\n\r\n' >"$T/deny.json" || fail "node failed: $(cat "$T/deny.json")"
assert_eq 403 "$(json_get 'd["status"]' "$T/deny.json")" "CONNECT to a denied target (deny before allow)"
"${C[@]}" "10.255.255.1:80" >"$T/no2.json" || fail "node failed: $(cat "$T/no2.json")"
assert_eq 403 "$(json_get 'd["status"]' "$T/no2.json")" "CONNECT to an unlisted address"
assert_eq "$before" "$(backend_count "$BPORT_other")" "requests that reached the refused backend"

"${C[@]}" "127.0.0.1:$DEAD" >"$T/dead.json" || fail "node failed: $(cat "$T/dead.json")"
assert_eq 502 "$(json_get 'd["status"]' "$T/dead.json")" "CONNECT to an allowed target refusing connections"
stop_h2gate
pass
