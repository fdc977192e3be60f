#!/bin/sh
# Trailers both ways: chunked upstream trailers become HTTP/2 trailers
# (nghttp and node 'trailers' event, x-checksum matches the body); HTTP/2
# request trailers (node waitForTrailers) reach the upstream as chunked
# trailers (echo-headers), with the body intact; TE: trailers passes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need nghttp node

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
U=http://127.0.0.1:$P
body_sha=$("$PY" -c 'import hashlib; print(hashlib.sha256(b"trailers body line\n"*100).hexdigest())')

# nghttp: body, then a HEADERS frame with END_STREAM carrying the trailers
nghttp -v -H 'te: trailers' "$U/trailers" >"$T/nghttp.out" 2>&1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"
assert_file_match "x-checksum: $body_sha" "$T/nghttp.out" "nghttp trailer x-checksum"
assert_file_match 'x-trailer-two: yes' "$T/nghttp.out" "nghttp trailer x-trailer-two"
# the trailer fields arrive after the last DATA frame, in a HEADERS frame with END_STREAM
trailers_are_last "$T/nghttp.out" x-checksum || fail "trailers are not a final HEADERS frame after DATA"
if grep -Eq 'recv .*\) (transfer-encoding|connection|keep-alive):' "$T/nghttp.out"; then
	fail "hop-by-hop header forwarded to the h2 client"
fi

node "$BACKENDS/h2client.js" trailers "$U/" >"$T/node.json" || fail "node client failed: $(cat "$T/node.json")"
assert_eq 200 "$(json_get 'd["status"]' "$T/node.json")" "node /trailers status"
assert_eq "$body_sha" "$(json_get 'd["sha256"]' "$T/node.json")" "node /trailers body"
assert_eq "$body_sha" "$(json_get '(d["trailers"] or {}).get("x-checksum")' "$T/node.json")" "node trailers event x-checksum"
assert_eq yes "$(json_get '(d["trailers"] or {}).get("x-trailer-two")' "$T/node.json")" "node trailers event x-trailer-two"

# request trailers
assert_eq 200 "$(json_get 'd["echo_status"]' "$T/node.json")" "echo-headers status"
assert_eq "[[\"x-req-trailer\", \"abc123\"], [\"x-req-two\", \"two\"]]" \
	"$(json_get 'sorted([[n.lower(), v] for n, v in d["echo"]["trailers"]])' "$T/node.json")" \
	"request trailers seen upstream"
assert_eq "$(json_get 'd["sent_sha256"]' "$T/node.json")" "$(json_get 'd["echo"]["body_sha256"]' "$T/node.json")" \
	"request body with trailers"
assert_eq "trailers" "$(json_get '",".join(v for n, v in d["echo"]["headers"] if n.lower() == "te")' "$T/node.json")" \
	"te: trailers forwarded"
assert_eq "chunked" "$(json_get '",".join(v for n, v in d["echo"]["headers"] if n.lower() == "transfer-encoding")' "$T/node.json")" \
	"request with trailers sent chunked upstream"
stop_h2gate
pass
