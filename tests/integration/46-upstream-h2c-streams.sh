#!/bin/sh
# One stream of an HTTP/2 upstream (h2c://, a node http2 backend), end to
# end: response trailers reach the client after the body (nghttp, and an
# HTTP/1.1 client as chunked trailers); request trailers and body reach
# the upstream (from an HTTP/1.1 client too: chunked trailers), with
# te: trailers and the forwarding fields, no
# connection-specific field; RST_STREAM both ways: an upstream reset
# before the response is a 502 (REFUSED_STREAM: retried, then passed on
# to an HTTP/2 client), after it the client's stream is reset with the
# same code; a client's reset reaches the upstream as CANCEL; an upstream
# GOAWAY: the streams above its last-stream-id are retried on another
# connection and succeed, the ones below complete on the first.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node nghttp curl h2load h2

start_node_h2 n1
start_h2rst
start_h2c_gate "$HPORT" "      - path: /rst/
        upstream: \"h2c://127.0.0.1:$RPORT\""
body_sha=$("$PY" -c 'import hashlib; print(hashlib.sha256(b"trailers body line\n"*100).hexdigest())')

# --- response trailers
nghttp -v "$U/trailers" >"$T/nghttp.out" 2>&1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"
assert_file_match "x-checksum: $body_sha" "$T/nghttp.out" "trailer x-checksum"
assert_file_match 'grpc-status: 0' "$T/nghttp.out" "trailer grpc-status"
trailers_are_last "$T/nghttp.out" x-checksum || fail "trailers are not a final HEADERS frame after the DATA"
# An HTTP/1.1 client gets them as chunked trailers.
printf 'GET /trailers HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n' | h1_raw "$P" >"$T/h1trailers.out" ||
	fail "HTTP/1.1 request failed"
assert_file_match '^[Tt]ransfer-[Ee]ncoding: chunked' "$T/h1trailers.out" "HTTP/1.1: chunked"
# the last chunk (0), then the trailers
assert_eq "0 grpc-status: 0" "$(tr -d '\r' <"$T/h1trailers.out" | grep -A3 '^0$' | grep -v x-checksum | head -2 | tr '\n' ' ' | sed 's/ $//')" \
	"HTTP/1.1: trailers after the last chunk"

# --- request trailers and body, and the fields the upstream sees
node - "$U" >"$T/echo.json" <<'JSEOF' || fail "node echo: $(cat "$T/echo.json")"
const http2 = require('http2');
const s = http2.connect(process.argv[2]);
const req = s.request({ ':method': 'POST', ':path': '/echo', te: 'trailers', 'x-forwarded-for': '6.6.6.6' },
                      { waitForTrailers: true });
req.on('wantTrailers', () => req.sendTrailers({ 'x-req-trailer': 'abc123' }));
let body = '';
req.on('data', (d) => { body += d; });
req.on('end', () => { process.stdout.write(body + '\n'); s.close(); });
req.end(Buffer.alloc(100000, 'z'));
JSEOF
want=$("$PY" -c 'import hashlib; print(hashlib.sha256(b"z"*100000).hexdigest())')
assert_eq "$want" "$(json_get 'd["sha256"]' "$T/echo.json")" "request body seen upstream"
assert_eq abc123 "$(json_get '(d["trailers"] or {}).get("x-req-trailer")' "$T/echo.json")" "request trailer seen upstream"
assert_eq trailers "$(json_get 'd["te"]' "$T/echo.json")" "te: trailers passed"
assert_eq 127.0.0.1 "$(json_get 'd["xff"]' "$T/echo.json")" "x-forwarded-for is h2gate's, not the client's"
assert_eq "for=127.0.0.1;proto=http;host=\"127.0.0.1:$P\"" "$(json_get 'd["forwarded"]' "$T/echo.json")" "forwarded"
# An HTTP/1.1 client: Host becomes :authority, Connection is dropped.
"${CURL[@]}" --http1.1 -H 'Connection: keep-alive' -H 'Host: app.test' --data-binary 'abc' "$U/echo" >"$T/echo1.json"
assert_eq app.test "$(json_get 'd["authority"]' "$T/echo1.json")" "HTTP/1.1 Host -> :authority"
assert_eq None "$(json_get 'd["connection"]' "$T/echo1.json")" "no connection field upstream"
assert_eq 3 "$(json_get 'd["bytes"]' "$T/echo1.json")" "HTTP/1.1 body upstream"
# An HTTP/1.1 client's chunked body and trailers: DATA and a trailing HEADERS.
printf 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-H1-Trailer: t1\r\n\r\n' |
	h1_raw "$P" | tr -d '\r' | grep '^{' >"$T/echo-h1t.json" || fail "HTTP/1.1 chunked trailers: no JSON answer"
assert_eq "11 t1" "$(json_get '" ".join([str(d["bytes"]), (d["trailers"] or {}).get("x-h1-trailer", "")])' "$T/echo-h1t.json")" \
	"HTTP/1.1 chunked body and trailer reach the HTTP/2 upstream"

# --- upstream resets
# before a response: 502 (CANCEL), and REFUSED_STREAM retried twice on
# another connection, then passed on to an HTTP/2 client
assert_eq 502 "$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/rst-before/8")" "reset (CANCEL) before the head: 502"
nghttp -v "$U/rst-before/7" >"$T/refused.out" 2>&1
assert_file_match 'recv RST_STREAM frame .*' "$T/refused.out" "refused stream: client reset"
assert_file_match 'error_code=REFUSED_STREAM' "$T/refused.out" "refused stream: its code passed on"
assert_eq 3 "$(grep -c '"ev":"stream".*"path":"/rst-before/7"' "$HLOG")" "a refused request is tried three times"
code=$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$U/rst-before/7")
assert_eq 502 "$code" "refused stream, HTTP/1.1 client: 502"
# after the head: the client's stream is reset with the upstream's code
# (a python h2 upstream on /rst: node's streams always end cleanly first)
for c in 2:INTERNAL_ERROR 8:CANCEL 11:ENHANCE_YOUR_CALM; do
	nghttp -v "$U/rst/rst-after/${c%%:*}" >"$T/rst-after.out" 2>&1
	assert_file_match 'recv \(stream_id=[0-9]+\) :status: 200' "$T/rst-after.out" "reset after the head ($c): the head came"
	assert_file_match "recv RST_STREAM frame .*" "$T/rst-after.out" "reset after the head ($c): client reset"
	assert_file_match "error_code=${c#*:}" "$T/rst-after.out" "reset after the head: code ${c#*:} passed through"
done
# A reset without error once content-length's bytes all came ends a whole
# response (node's server does so when its last bytes close the window);
# with bytes missing it is a cut one.
nghttp -v "$U/rst/rst-done/3000" >"$T/rst-done.out" 2>&1 || fail "rst-done: nghttp failed: $(tail -5 "$T/rst-done.out")"
assert_file_match 'recv DATA frame <length=[0-9]+, flags=0x01' "$T/rst-done.out" "content-length complete, then RST_STREAM(NO_ERROR): the client's stream ends"
if grep -q 'recv RST_STREAM' "$T/rst-done.out"; then fail "content-length complete: the client's stream was reset"; fi
printf 'GET /rst/rst-done/3000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' | h1_raw "$P" >"$T/rst-done-h1.out" ||
	fail "rst-done over HTTP/1.1 failed"
assert_eq 3000 "$(sed '1,/^\r$/d' "$T/rst-done-h1.out" | tr -d '\n' | wc -c)" "HTTP/1.1 client: the whole 3000-byte body"
nghttp -v "$U/rst/rst-short/3000" >"$T/rst-short.out" 2>&1
assert_file_match 'recv RST_STREAM frame .*' "$T/rst-short.out" "content-length short, then RST_STREAM(NO_ERROR): the client's stream is reset"
assert_file_match 'error_code=INTERNAL_ERROR' "$T/rst-short.out" "a cut response: INTERNAL_ERROR"

# --- a client's reset reaches the upstream as CANCEL
node - "$U" >"$T/cancel.out" 2>&1 <<'JSEOF' || fail "node cancel: $(cat "$T/cancel.out")"
const http2 = require('http2');
const s = http2.connect(process.argv[2]);
const req = s.request({ ':path': '/hang' });
req.on('error', () => {});
req.on('close', () => { console.log('closed ' + req.rstCode); setTimeout(() => s.close(), 100); });
setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 300);
JSEOF
wait_until 5 grep -q '"ev":"close".*"path":"/hang","rstCode":8' "$HLOG" ||
	fail "the upstream did not see the client's reset as CANCEL: $(grep /hang "$HLOG")"

# --- GOAWAY: six concurrent requests on one upstream connection; the
# backend answers the three up to its last-stream-id; the three above are
# retried on a new connection and succeed.
timeout 30 h2load -n 6 -c 1 -m 6 "$U/goaway" >"$T/goaway.out" 2>&1 || fail "h2load: $(tail -5 "$T/goaway.out")"
assert_match '6 succeeded' "$(grep '^requests:' "$T/goaway.out")" "GOAWAY: every request succeeded"
assert_match '6 2xx' "$(grep '^status codes:' "$T/goaway.out")" "GOAWAY: every status 200"
first=$(grep '"ev":"stream".*"path":"/goaway"' "$HLOG" | head -1 | sed 's/.*"session":\([0-9]*\).*/\1/')
on_first=$(grep -c "\"ev\":\"close\",\"session\":$first,.*\"path\":\"/goaway\",.*\"answered\":true" "$HLOG")
retried=$(grep '"ev":"close".*"path":"/goaway".*"answered":true' "$HLOG" | grep -vc "\"session\":$first,")
log "GOAWAY: $on_first answered on the first connection, $retried on another"
assert_eq 3 "$on_first" "GOAWAY: answered up to its last-stream-id"
assert_eq 3 "$retried" "GOAWAY: the streams above it retried on another connection"

stop_h2gate
pass
