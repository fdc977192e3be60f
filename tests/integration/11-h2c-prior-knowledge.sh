#!/bin/sh
# GET/HEAD/POST over cleartext HTTP/2 with prior knowledge (curl
# --http2-prior-knowledge, nghttp -nv, node http2); access log proto=h2c.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp node

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
C=("${CURL[@]}" --http2-prior-knowledge)

out=$("${C[@]}" -o "$T/get.body" -D "$T/get.hdr" -w '%{http_code} %{http_version}' "$U/size/65536") ||
	fail "curl GET failed"
assert_eq "200 2" "$out" "GET status/version"
assert_eq "$(pattern_sha 65536)" "$(sha256sum <"$T/get.body" | cut -d' ' -f1)" "GET body sha256"
assert_file_match '^x-backend: b1' "$T/get.hdr" "x-backend header"

out=$("${C[@]}" -I -o "$T/head.hdr" -w '%{http_code} %{http_version} %{size_download}' "$U/size/777") ||
	fail "curl HEAD failed"
assert_eq "200 2 0" "$out" "HEAD status/version/size"
assert_file_match '^content-length: 777' "$T/head.hdr" "HEAD content-length"

head -c 300000 /dev/urandom >"$T/post.bin"
want=$(sha256sum <"$T/post.bin" | cut -d' ' -f1)
out=$("${C[@]}" --data-binary @"$T/post.bin" -w '%{http_code}' "$U/sha256") || fail "curl POST failed"
assert_eq "sha256=$want bytes=300000
200" "$out" "POST result"

nghttp -nv "$U/chunked/40000" >"$T/nghttp.out" 2>&1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"
assert_file_match 'recv DATA frame <length=[0-9]+, flags=0x01' "$T/nghttp.out" "nghttp END_STREAM on DATA"

node "$BACKENDS/h2client.js" get "$U/chunked/123457" >"$T/node.json" ||
	fail "node client failed: $(cat "$T/node.json")"
assert_eq 200 "$(json_get 'd["status"]' "$T/node.json")" "node status"
assert_eq 123457 "$(json_get 'd["bytes"]' "$T/node.json")" "node bytes"
assert_eq "$(pattern_sha 123457)" "$(json_get 'd["sha256"]' "$T/node.json")" "node body sha"

line=$(access_line 'method=POST .*path="/sha256"') || exit 1
assert_match 'proto=h2c( |$)' "$line" "access log proto"
assert_match 'status=200' "$line" "access log status"
assert_match 'upstream=127\.0\.0\.1:'"$BPORT"'( |$)' "$line" "access log upstream"
stop_h2gate
pass
