#!/bin/sh
# Cleartext "Upgrade: h2c" (curl --http2 on http://, nghttp -u) on a
# listener with protocols [h2, http/1.1]: the response comes over HTTP/2.
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
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P

out=$("${CURL[@]}" --http2 -v -o "$T/get.body" -w '%{http_code} %{http_version}' "$U/size/5000" 2>"$T/curl.err") ||
	fail "curl upgrade GET failed: $(tail -5 "$T/curl.err")"
assert_file_match '^> Upgrade: h2c' "$T/curl.err" "curl sent Upgrade: h2c"
assert_file_match '^< HTTP/1.1 101' "$T/curl.err" "101 Switching Protocols"
assert_eq "200 2" "$out" "GET status/version after upgrade"
assert_eq "$(pattern_sha 5000)" "$(sha256sum <"$T/get.body" | cut -d' ' -f1)" "GET body sha256"

# a second request on the same (upgraded) connection is plain h2
out=$("${CURL[@]}" --http2 -o /dev/null -o "$T/two.body" -w '%{http_code} %{http_version}\n' \
	"$U/size/10" "$U/chunked/99999") || fail "two requests after upgrade failed"
assert_eq "200 2
200 2" "$out" "two requests after upgrade"
assert_eq "$(pattern_sha 99999)" "$(sha256sum <"$T/two.body" | cut -d' ' -f1)" "second body"

nghttp -nvu "$U/size/3000" >"$T/nghttp.out" 2>&1 || fail "nghttp -u failed: $(tail -5 "$T/nghttp.out")"
assert_file_match 'HTTP Upgrade success' "$T/nghttp.out" "nghttp upgrade"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"

line=$(access_line 'path="/size/5000"') || exit 1
assert_match 'proto=h2c( |$)' "$line" "access log proto for the upgraded request"
assert_match 'status=200' "$line" "access log status"
stop_h2gate
pass
