#!/bin/sh
# Paths are normalized before routing and the upstream receives the
# normalized path (RFC 3986 6.2.2 and 5.2.4; Envoy CVE-2019-9901), over
# TLS h2, h2c, HTTP/1.1 (cleartext and TLS, origin- and absolute-form)
# and extended CONNECT.  With a route for /public only:
#  - "/public/../admin" in every spelling (%2e%2e, .%2E, %2E., /./..) is
#    404 and never reaches the upstream;
#  - "/public/./x", "/public/%7Euser", ... reach it normalized, %2F stays
#    encoded (hex upper-cased), the query is passed untouched;
#  - %00, %0a, %7f, a bad escape, a raw control byte or '#': 400 (a raw
#    control byte in an HTTP/2 :path is reset by nghttp2 instead), never
#    forwarded.
# Each request carries a unique x-case field, so the upstream's request
# log says which request arrived with which target.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl h2 node

start_tls_and_clear "*" '      - path: /public
        upstream: "http://127.0.0.1:$BPORT"
      - path: /ws
        upstream: "http://127.0.0.1:$BPORT"
        websocket: true'

FORWARDED=0 # requests that must have reached the upstream
N=0

# The target the upstream received for the request marked ID (empty if
# none did).
target_of() {
	awk -v id="[\"x-case\", \"$1\"]" '$1 == "REQ" && index($0, id) { print $3 }' "$BLOG"
}

# get TRANSPORT PATH: curl with --path-as-is (curl would remove the dot
# segments itself); sets OUT ("STATUS VERSION") and ID.
get() {
	local args
	N=$((N + 1))
	ID=$1-$N
	case $1 in
	h2tls) args=(--http2 "https://127.0.0.1:$PT$2");;
	h2c) args=(--http2-prior-knowledge "http://127.0.0.1:$PC$2");;
	h1) args=(--http1.1 "http://127.0.0.1:$PC$2");;
	h1tls) args=(--http1.1 "https://127.0.0.1:$PT$2");;
	h1abs) args=(--http1.1 -x "http://127.0.0.1:$PC" "http://pub.test$2");; # absolute-form
	esac
	OUT=$("${CURL[@]}" --path-as-is --cacert "$CERT" -H "x-case: $ID" -o /dev/null \
		-w '%{http_code} %{http_version}' "${args[@]}") || fail "$1 $2: curl failed"
}

version_of() {
	case $1 in h2*) echo 2;; *) echo 1.1;; esac
}

expect_forwarded() { # TRANSPORT PATH TARGET
	get "$1" "$2"
	assert_eq "200 $(version_of "$1")" "$OUT" "$1 $2"
	FORWARDED=$((FORWARDED + 1))
	assert_eq "$3" "$(target_of "$ID")" "$1 $2: the target the upstream received"
}

expect_refused() { # TRANSPORT PATH STATUS
	get "$1" "$2"
	assert_eq "$3 $(version_of "$1")" "$OUT" "$1 $2"
	assert_eq "" "$(target_of "$ID")" "$1 $2 reached the upstream"
}

for t in h2tls h2c h1 h1tls h1abs; do
	expect_forwarded $t /public/x /public/x
	expect_forwarded $t /public/./x /public/x
	expect_forwarded $t /./public/a/b/../c /public/a/c
	expect_forwarded $t /admin/../public/y /public/y
	expect_forwarded $t /public/%7Euser /public/~user
	expect_forwarded $t /public/%7euser /public/~user
	expect_forwarded $t /public/%41%42 /public/AB
	expect_forwarded $t /public/a%2Fb /public/a%2Fb
	expect_forwarded $t /public/a%2f..%2fb /public/a%2F..%2Fb
	expect_forwarded $t /public/%2e%2e%2fadmin /public/..%2Fadmin # one segment: %2F is no separator
	expect_forwarded $t '/public/x/..?q=../y&z=%2e' '/public/?q=../y&z=%2e'
	expect_forwarded $t /public/%c3%a9 /public/%C3%A9

	expect_refused $t /public/../admin 404
	expect_refused $t /public/%2e%2e/admin 404
	expect_refused $t /public/%2E%2E/admin 404
	expect_refused $t /public/.%2E/admin 404
	expect_refused $t /public/%2E./admin 404
	expect_refused $t /public/./../admin 404
	expect_refused $t /public/x/../../admin 404
	expect_refused $t /public/.. 404
	expect_refused $t /public/%2e%2e 404

	expect_refused $t /public/%00 400
	expect_refused $t /public/a%0a 400
	expect_refused $t /public/a%0D%0Ab 400
	expect_refused $t /public/%7f 400
	expect_refused $t /public/%zz 400
	expect_refused $t /public/%4 400
done

# HTTP/1.1 requests curl cannot make: the status of the answer.
h1raw() { # REQUEST (python escapes: \r \n \x01)
	"$PY" - "$PC" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
d = b""
while b"\r\n" not in d:
    x = s.recv(4096)
    if not x:
        break
    d += x
print(d.split(b" ")[1].decode() if d.startswith(b"HTTP/1.1 ") else "none: %r" % d[:80])
EOF
}
assert_eq 400 "$(h1raw 'GET /public/\x01 HTTP/1.1\r\nHost: pub.test\r\n\r\n')" "h1 raw control byte"
assert_eq 400 "$(h1raw 'GET /public/a\x7f HTTP/1.1\r\nHost: pub.test\r\n\r\n')" "h1 raw DEL"
assert_eq 400 "$(h1raw 'GET /public/x#/../../admin HTTP/1.1\r\nHost: pub.test\r\n\r\n')" "h1 fragment"
# absolute-form: its authority is the request's, a Host that disagrees is refused
assert_eq 400 "$(h1raw 'GET http://pub.test/public/x HTTP/1.1\r\nHost: other.test\r\n\r\n')" \
	"h1 absolute-form, Host disagreeing"
assert_eq 400 "$(h1raw 'GET http://u@pub.test/public/x HTTP/1.1\r\nHost: pub.test\r\n\r\n')" \
	"h1 absolute-form with userinfo"
assert_eq 404 "$(h1raw 'GET http://pub.test?q=abs HTTP/1.1\r\nHost: pub.test\r\n\r\n')" \
	"h1 absolute-form without a path (\"/\", under no route)"
assert_eq 200 "$(h1raw 'GET HTTP://pub.test/public/%7eabs HTTP/1.1\r\nHost: pub.test\r\n\r\n')" \
	"h1 absolute-form, scheme in capitals"
FORWARDED=$((FORWARDED + 1))
grep -q '^REQ GET /public/~abs \[\["Host", "pub.test"\]' "$BLOG" ||
	fail "absolute-form not forwarded in origin-form with its Host: $(grep abs "$BLOG")"

# HTTP/2 requests curl cannot make (raw HPACK, no client-side checks)
for p in $'/public/\x01' $'/public/a\x7f' '/public/x#/../../admin'; do
	J=$T/raw.json
	"$PY" "$BACKENDS/h2attack.py" stream-status --port "$PC" -p "path=$p" >"$J" 2>"$T/raw.err" ||
		fail "h2attack failed: $(tail -n 5 "$T/raw.err")"
	got=$(json_get 'd["status"].get("1") or d["rst"].get("1")' "$J")
	case $p in
	*'#'*) assert_eq 400 "$got" "h2 :path with a fragment";;
	*) assert_match '^(400|PROTOCOL_ERROR)$' "$got" "h2 :path with a control byte";;
	esac
done

# extended CONNECT (RFC 8441) is routed on its normalized :path too
J=$T/ws.json
node "$BACKENDS/h2tunnel.js" ws "http://127.0.0.1:$PC" /public/../ws/a --read-body >"$J" ||
	fail "node failed: $(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "extended CONNECT /public/../ws/a"
assert_eq "backend=b1 path=/ws/a" "$(json_get 'd["body"].strip()' "$J")" "the path the upstream got"
FORWARDED=$((FORWARDED + 1))
grep -q '^REQ GET /ws/a .*"websocket"' "$BLOG" || fail "websocket upgrade not sent as /ws/a: $(grep ws "$BLOG")"
node "$BACKENDS/h2tunnel.js" ws "http://127.0.0.1:$PC" /ws/%2e%2e/admin --read-body >"$J" ||
	fail "node failed: $(cat "$J")"
assert_eq 404 "$(json_get 'd["status"]' "$J")" "extended CONNECT /ws/%2e%2e/admin"

# Nothing else got through, and no dot-segment, control byte or path
# outside the routes was ever forwarded.
assert_eq "$FORWARDED" "$(grep -c '^REQ ' "$BLOG")" "requests that reached the upstream"
bad=$(awk '$1 == "REQ" { print $3 }' "$BLOG" | grep -Ev '^/(public|ws)(/|$)' || true)
assert_eq "" "$bad" "targets outside the routes"
bad=$(awk '$1 == "REQ" { print $3 }' "$BLOG" | grep -E '/\.\.?(/|\?|$)|%(0|1|7F)' || true)
assert_eq "" "$bad" "targets the upstream should never see"

stop_h2gate
# the access log shows the path as it was routed
access_line 'path="/\?q=abs"' >/dev/null || exit 1
access_line 'path="/public/~user" status=200' >/dev/null || exit 1
pass
