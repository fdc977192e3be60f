#!/bin/sh
# Request header translation seen by the upstream (/echo-headers):
# X-Forwarded-For / X-Forwarded-Proto / Forwarded added and client-sent
# ones replaced; Host = :authority; h2 cookies joined with "; "; te:
# trailers passed; no pseudo-headers; HTTP/1.1 hop-by-hop headers (and
# those named in Connection) dropped.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

start_tls_and_clear

# hdr FILE NAME: all values of header NAME (case-insensitive), joined by " | "
hdr() {
	json_get '" | ".join(v for n, v in d["headers"] if n.lower() == "'"$2"'")' "$1"
}
hcount() {
	json_get 'sum(1 for n, v in d["headers"] if n.lower() == "'"$2"'")' "$1"
}

# --- TLS h2 via nghttp: two separate cookie fields, spoofed forwarding headers
nghttp -H 'cookie: a=1' -H 'cookie: b=2' -H 'x-forwarded-for: 6.6.6.6' -H 'x-forwarded-proto: gopher' \
	-H 'forwarded: for=6.6.6.6;proto=gopher' -H 'te: trailers' -H 'x-custom: hello' \
	-H ':authority: a.test:'"$PT" "https://127.0.0.1:$PT/echo-headers?q=1" >"$T/h2.json" 2>"$T/nghttp.err" ||
	fail "nghttp failed: $(cat "$T/nghttp.err")"
J=$T/h2.json
assert_eq "GET /echo-headers?q=1 HTTP/1.1" "$(json_get 'd["method"]+" "+d["target"]+" "+d["version"]' "$J")" "request line"
assert_eq "a.test:$PT" "$(hdr "$J" host)" "Host = :authority"
assert_eq 1 "$(hcount "$J" host)" "one Host header"
assert_eq "127.0.0.1" "$(hdr "$J" x-forwarded-for)" "X-Forwarded-For (spoofed value replaced)"
assert_eq "https" "$(hdr "$J" x-forwarded-proto)" "X-Forwarded-Proto over TLS"
fwd=$(hdr "$J" forwarded)
assert_match '(^|[;, ])for="?127\.0\.0\.1' "$fwd" "Forwarded for="
assert_match '(^|[;, ])proto=https' "$fwd" "Forwarded proto="
assert_no_match '6\.6\.6\.6|gopher' "$fwd" "client-sent Forwarded replaced"
assert_eq "a=1; b=2" "$(hdr "$J" cookie)" "cookies joined"
assert_eq "trailers" "$(hdr "$J" te)" "te: trailers passed"
assert_eq "hello" "$(hdr "$J" x-custom)" "custom header passed"
assert_eq 0 "$(json_get 'sum(1 for n, v in d["headers"] if n.startswith(":"))' "$J")" "no pseudo-headers upstream"

# --- h2c via curl: proto http
"${CURL[@]}" --http2-prior-knowledge -H 'X-Forwarded-For: 10.9.9.9, 10.8.8.8' -H 'X-Forwarded-Proto: https' \
	--resolve b.test:$PC:127.0.0.1 "http://b.test:$PC/echo-headers" >"$T/h2c.json" || fail "h2c curl failed"
J=$T/h2c.json
assert_eq "b.test:$PC" "$(hdr "$J" host)" "h2c Host"
assert_eq "127.0.0.1" "$(hdr "$J" x-forwarded-for)" "h2c X-Forwarded-For replaced"
assert_eq "http" "$(hdr "$J" x-forwarded-proto)" "X-Forwarded-Proto over cleartext"
assert_match '(^|[;, ])proto=http($|[;, ])' "$(hdr "$J" forwarded)" "h2c Forwarded proto"

# --- HTTP/1.1 client: hop-by-hop headers dropped, Host kept
"${CURL[@]}" --http1.1 --resolve c.test:$PC:127.0.0.1 -H 'Connection: keep-alive, X-Hop-Secret' \
	-H 'X-Hop-Secret: s3cr3t' -H 'Keep-Alive: timeout=5' -H 'Proxy-Connection: keep-alive' \
	-H 'Upgrade: foo/1' -H 'TE: trailers' -H 'Cookie: c=3' -H 'X-Forwarded-For: 1.2.3.4' \
	"http://c.test:$PC/echo-headers" >"$T/h1.json" || fail "HTTP/1.1 curl failed"
J=$T/h1.json
assert_eq "c.test:$PC" "$(hdr "$J" host)" "HTTP/1.1 Host"
assert_eq "" "$(hdr "$J" x-hop-secret)" "header named in Connection dropped"
assert_eq "" "$(hdr "$J" keep-alive)" "Keep-Alive dropped"
assert_eq "" "$(hdr "$J" proxy-connection)" "Proxy-Connection dropped"
assert_eq "" "$(hdr "$J" upgrade)" "Upgrade dropped"
assert_no_match 'x-hop-secret' "$(hdr "$J" connection | tr A-Z a-z)" "Connection tokens not forwarded"
assert_eq "trailers" "$(hdr "$J" te)" "HTTP/1.1 TE: trailers passed"
assert_eq "c=3" "$(hdr "$J" cookie)" "HTTP/1.1 cookie"
assert_eq "127.0.0.1" "$(hdr "$J" x-forwarded-for)" "HTTP/1.1 X-Forwarded-For replaced"
assert_eq "http" "$(hdr "$J" x-forwarded-proto)" "HTTP/1.1 X-Forwarded-Proto"
stop_h2gate
pass
