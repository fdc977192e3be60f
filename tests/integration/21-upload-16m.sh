#!/bin/sh
# 16 MiB uploads to POST /sha256: h2 over TLS, h2c, and a chunked
# HTTP/1.1 upload; the upstream saw exactly the bytes sent.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

start_tls_and_clear
N=16777216
head -c $N /dev/urandom >"$T/up.bin"
want="sha256=$(sha256sum <"$T/up.bin" | cut -d' ' -f1) bytes=$N"

out=$("${CURL[@]}" --http2 --cacert "$CERT" --data-binary @"$T/up.bin" -w '%{http_code} %{http_version}' \
	"https://127.0.0.1:$PT/sha256") || fail "h2 TLS upload failed"
assert_eq "$want
200 2" "$out" "h2 TLS upload"

out=$("${CURL[@]}" --http2-prior-knowledge --data-binary @"$T/up.bin" -w '%{http_code} %{http_version}' \
	"http://127.0.0.1:$PC/sha256") || fail "h2c upload failed"
assert_eq "$want
200 2" "$out" "h2c upload"

out=$("${CURL[@]}" --http1.1 -H 'Transfer-Encoding: chunked' --data-binary @"$T/up.bin" \
	-w '%{http_code} %{http_version}' "http://127.0.0.1:$PC/sha256") || fail "chunked HTTP/1.1 upload failed"
assert_eq "$want
200 1.1" "$out" "chunked HTTP/1.1 upload"

out=$("${CURL[@]}" --http1.1 --cacert "$CERT" -H 'Transfer-Encoding: chunked' --data-binary @"$T/up.bin" \
	-w '%{http_code} %{http_version}' "https://127.0.0.1:$PT/sha256") || fail "chunked HTTP/1.1 TLS upload failed"
assert_eq "$want
200 1.1" "$out" "chunked HTTP/1.1 TLS upload"

line=$(access_line 'method=POST .*proto=h2c|proto=h2c.*method=POST') || exit 1
assert_match "in=$N( |$)" "$line" "access log in= bytes for the h2c upload"
stop_h2gate
pass
