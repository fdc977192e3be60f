#!/bin/sh
# The upstream announces Content-Length N+100000 (or no length: the body
# ends with the close), sends N bytes and resets the connection: the
# client sees the stream reset (curl exits non-zero,
# nghttp shows RST_STREAM), never a clean truncated 200; the access log
# records the request; the daemon keeps serving.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

# (A TLS listener's default protocols are [h2, http/1.1], as the helper
# writes them.)
start_tls_and_clear

"${CURL[@]}" --http2 --cacert "$CERT" -o "$T/tls.body" "https://127.0.0.1:$PT/die?after=50000" 2>"$T/curl1.err"
rc=$?
[ $rc -ne 0 ] || fail "TLS h2: curl exited 0 on a cut upstream body"
log "TLS h2 curl rc=$rc: $(cat "$T/curl1.err")"
"${CURL[@]}" --http2-prior-knowledge -o "$T/h2c.body" "http://127.0.0.1:$PC/die?after=200000" 2>"$T/curl2.err"
rc=$?
[ $rc -ne 0 ] || fail "h2c: curl exited 0 on a cut upstream body"
"${CURL[@]}" --http1.1 -o "$T/h1.body" "http://127.0.0.1:$PC/die?after=20000" 2>"$T/curl3.err"
rc=$?
[ $rc -ne 0 ] || fail "HTTP/1.1: curl exited 0 on a cut upstream body"

nghttp -nv "http://127.0.0.1:$PC/die?after=30000" >"$T/nghttp.out" 2>&1
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp got the response head"
assert_file_match 'recv RST_STREAM frame <length=4, flags=0x00, stream_id=' "$T/nghttp.out" "nghttp RST_STREAM"
assert_file_match 'error_code=INTERNAL_ERROR' "$T/nghttp.out" "RST_STREAM INTERNAL_ERROR"
if grep -q 'recv DATA frame .*flags=0x01' "$T/nghttp.out"; then fail "stream ended cleanly with END_STREAM"; fi

# A body delimited by the close: a reset is not its end.
nghttp -nv "http://127.0.0.1:$PC/die?after=30000&framing=close" >"$T/nghttp2.out" 2>&1
assert_file_match ':status: 200' "$T/nghttp2.out" "close-delimited: response head"
assert_file_match 'recv RST_STREAM frame <length=4, flags=0x00, stream_id=' "$T/nghttp2.out" "close-delimited: RST_STREAM"
if grep -q 'recv DATA frame .*flags=0x01' "$T/nghttp2.out"; then fail "close-delimited: stream ended cleanly"; fi

line=$(access_line 'path="/die\?after=30000"') || exit 1
out=$(logfmt_get out "$line")
case "$out" in ''|*[!0-9]*) fail "access log out= not a number: $line";; esac
[ "$out" -lt 130000 ] || fail "access log out=$out claims the whole body was sent: $line"

# still serving
out=$("${CURL[@]}" --http2 --cacert "$CERT" -o "$T/ok.body" -w '%{http_code}' "https://127.0.0.1:$PT/size/100000") ||
	fail "request after the failures failed"
assert_eq 200 "$out" "request after the failures"
assert_eq "$(pattern_sha 100000)" "$(sha256sum <"$T/ok.body" | cut -d' ' -f1)" "body after the failures"
stop_h2gate
pass
