#!/bin/sh
# GET/HEAD/POST over TLS with ALPN h2: curl (--http2, %{http_version} = 2),
# nghttp -nv, and the node http2 client; access log says proto=h2.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp node

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
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
start_h2gate "$P"
U=https://127.0.0.1:$P

# GET
out=$("${CURL[@]}" --http2 --cacert "$CERT" -o "$T/get.body" -D "$T/get.hdr" \
	-w '%{http_code} %{http_version}' "$U/size/100000") || fail "curl GET failed"
assert_eq "200 2" "$out" "GET status/version"
assert_eq "$(pattern_sha 100000)" "$(sha256sum <"$T/get.body" | cut -d' ' -f1)" "GET body sha256"
assert_file_match '^x-backend: b1' "$T/get.hdr" "x-backend header"

# HEAD
out=$("${CURL[@]}" --http2 --cacert "$CERT" -I -w '%{http_code} %{http_version} %{size_download}' \
	-o "$T/head.hdr" "$U/size/12345") || fail "curl HEAD failed"
assert_eq "200 2 0" "$out" "HEAD status/version/size"
assert_file_match '^content-length: 12345' "$T/head.hdr" "HEAD content-length"

# POST
printf 'hello h2gate over tls\n' >"$T/post.txt"
want=$(sha256sum <"$T/post.txt" | cut -d' ' -f1)
out=$("${CURL[@]}" --http2 --cacert "$CERT" --data-binary @"$T/post.txt" \
	-w ' %{http_code} %{http_version}' "$U/sha256") || fail "curl POST failed"
assert_eq "sha256=$want bytes=22
 200 2" "$out" "POST result"

# nghttp (verbose frames)
nghttp -nv "$U/size/5000" >"$T/nghttp.out" 2>&1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
assert_file_match 'negotiated protocol: h2$' "$T/nghttp.out" "nghttp negotiated h2"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"
assert_file_match 'recv DATA frame <length=[0-9]+, flags=0x01' "$T/nghttp.out" "nghttp END_STREAM on DATA"

# node http2, certificate verified against our self-signed cert
node "$BACKENDS/h2client.js" get "$U/size/70000" --ca "$CERT" >"$T/node.json" ||
	fail "node client failed: $(cat "$T/node.json")"
assert_eq 200 "$(json_get 'd["status"]' "$T/node.json")" "node status"
assert_eq h2 "$(json_get 'd["alpn"]' "$T/node.json")" "node alpn"
assert_eq "$(pattern_sha 70000)" "$(json_get 'd["sha256"]' "$T/node.json")" "node body sha"
assert_eq b1 "$(json_get 'd["headers"]["x-backend"]' "$T/node.json")" "node x-backend"

line=$(access_line 'method=POST .*path="/sha256"') || exit 1
assert_match 'proto=h2( |$)' "$line" "access log proto"
assert_match 'status=200' "$line" "access log status"
stop_h2gate
pass
