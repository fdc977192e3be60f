#!/bin/sh
# HTTP/1.1 clients on a TLS listener (ALPN http/1.1) and on a cleartext
# listener, both with protocols [h2, http/1.1]: GET/HEAD/POST, keep-alive.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

start_tls_and_clear

printf 'posted over http/1.1\n' >"$T/post.txt"
want=$(sha256sum <"$T/post.txt" | cut -d' ' -f1)
for U in "https://127.0.0.1:$PT" "http://127.0.0.1:$PC"; do
	C=("${CURL[@]}" --http1.1 --cacert "$CERT")
	out=$("${C[@]}" -o "$T/get.body" -D "$T/get.hdr" -w '%{http_code} %{http_version}' "$U/size/200000") ||
		fail "$U: curl GET failed"
	assert_eq "200 1.1" "$out" "$U GET status/version"
	assert_eq "$(pattern_sha 200000)" "$(sha256sum <"$T/get.body" | cut -d' ' -f1)" "$U GET body"
	assert_file_match '^[Xx]-[Bb]ackend: b1' "$T/get.hdr" "$U x-backend"

	out=$("${C[@]}" -I -o "$T/head.hdr" -w '%{http_code} %{http_version} %{size_download}' "$U/size/4321") ||
		fail "$U: curl HEAD failed"
	assert_eq "200 1.1 0" "$out" "$U HEAD"
	assert_file_match '^[Cc]ontent-[Ll]ength: 4321' "$T/head.hdr" "$U HEAD content-length"

	out=$("${C[@]}" --data-binary @"$T/post.txt" -w '%{http_code}' "$U/sha256") || fail "$U: POST failed"
	assert_eq "sha256=$want bytes=21
200" "$out" "$U POST"

	# keep-alive: three requests over one connection (curl reuses it)
	"${C[@]}" -v -o /dev/null -o /dev/null -o "$T/ka.body" "$U/size/10" "$U/chunked/20" "$U/size/30" \
		2>"$T/ka.err" || fail "$U: keep-alive requests failed: $(tail -5 "$T/ka.err")"
	assert_eq "$(pattern_sha 30)" "$(sha256sum <"$T/ka.body" | cut -d' ' -f1)" "$U third keep-alive body"
	n=$(grep -c 'Re-using existing connection' "$T/ka.err")
	assert_eq 2 "$n" "$U: connection reused for requests 2 and 3"
done

# the access log is complete once the daemon has exited
stop_h2gate
line=$(access_line 'method=POST .*path="/sha256"') || exit 1
assert_match 'proto=http/1\.1( |$)' "$line" "access log proto"
n=$(grep -E 'method=GET .*path="/size/200000".*status=200' "$ACCESS" | grep -c 'proto=http/1.1')
assert_eq 2 "$n" "access log lines for the two HTTP/1.1 GETs"
pass
