#!/bin/sh
# Bodiless responses and interim responses through the proxy: HEAD keeps
# content-length without a body; 204 and 304 end cleanly; a close-delimited
# upstream body arrives complete; Expect: 100-continue uploads work (h2 and
# HTTP/1.1), and the connection stays usable afterwards.
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
H2=("${CURL[@]}" --http2-prior-knowledge)
H1=("${CURL[@]}" --http1.1)

# HEAD then GET on one connection, both protocols
for C in H2 H1; do
	eval 'CC=("${'$C'[@]}")'
	if [ $C = H1 ]; then
		# same connection: the HEAD response must not leave a body behind
		out=$("${CC[@]}" -I -o "$T/head.hdr" -w '%{http_code} %{size_download}\n' "$U/size/100000" \
			--next "${CC[@]:1}" -o "$T/after.body" -w '%{http_code} %{size_download}\n' "$U/size/10" \
			2>"$T/err") || fail "$C: HEAD+GET failed: $(cat "$T/err")"
	else
		# (curl 7.88.1 fails to reuse a prior-knowledge h2c connection: two runs)
		out=$("${CC[@]}" -I -o "$T/head.hdr" -w '%{http_code} %{size_download}\n' "$U/size/100000") ||
			fail "$C: HEAD failed"
		out=$out$'\n'$("${CC[@]}" -o "$T/after.body" -w '%{http_code} %{size_download}' "$U/size/10") ||
			fail "$C: GET failed"
		nghttp -nv -H ':method: HEAD' "$U/size/100000" >"$T/nghttp-head.out" 2>&1 ||
			fail "nghttp HEAD failed: $(tail -5 "$T/nghttp-head.out")"
		assert_file_match 'content-length: 100000' "$T/nghttp-head.out" "h2 HEAD content-length"
		assert_file_match 'recv HEADERS frame <length=[0-9]+, flags=0x05' "$T/nghttp-head.out" \
			"h2 HEAD response HEADERS carries END_STREAM"
		if grep -q 'recv DATA frame' "$T/nghttp-head.out"; then fail "h2 HEAD response has DATA frames"; fi
	fi
	assert_eq "200 0
200 10" "$out" "$C: HEAD then GET"
	assert_file_match '^[Cc]ontent-[Ll]ength: 100000' "$T/head.hdr" "$C: HEAD content-length"
	assert_eq "$(pattern_sha 10)" "$(sha256sum <"$T/after.body" | cut -d' ' -f1)" "$C: body after HEAD"

	for st in 204 304; do
		if [ $C = H1 ]; then
			out=$("${CC[@]}" -o "$T/st.body" -o "$T/st2.body" -w '%{http_code} %{size_download}\n' "$U/status/$st" "$U/size/7") ||
				fail "$C: GET /status/$st failed"
		else
			out=$("${CC[@]}" -o "$T/st.body" -w '%{http_code} %{size_download}' "$U/status/$st") ||
				fail "$C: GET /status/$st failed"
			out=$out$'\n'$("${CC[@]}" -o "$T/st.body" -w '%{http_code} %{size_download}' "$U/size/7") ||
				fail "$C: GET /size/7 failed"
		fi
		assert_eq "$st 0
200 7" "$out" "$C: /status/$st then GET"
	done
	out=$("${CC[@]}" -o "$T/st.body" -w '%{http_code}' "$U/status/418") || fail "$C: /status/418"
	assert_eq 418 "$out" "$C: 418 passed through"
	assert_eq "status 418" "$(cat "$T/st.body")" "$C: 418 body"

	# close-delimited upstream body
	out=$("${CC[@]}" -o "$T/close.body" -w '%{http_code}' "$U/close?n=300000") || fail "$C: /close failed"
	assert_eq 200 "$out" "$C: /close status"
	assert_eq "$(pattern_sha 300000)" "$(sha256sum <"$T/close.body" | cut -d' ' -f1)" "$C: /close body"
done

# 100-continue
head -c 2000000 /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
out=$("${H1[@]}" -v -H 'Expect: 100-continue' --data-binary @"$T/up.bin" "$U/sha256" 2>"$T/h1.err") ||
	fail "HTTP/1.1 100-continue upload failed: $(tail -5 "$T/h1.err")"
assert_eq "sha256=$want bytes=2000000" "$out" "HTTP/1.1 100-continue upload"
assert_file_match '^< HTTP/1.1 100' "$T/h1.err" "HTTP/1.1 client got 100 Continue"
assert_file_match '^< HTTP/1.1 200' "$T/h1.err" "then 200"
out=$("${H2[@]}" -H 'Expect: 100-continue' --data-binary @"$T/up.bin" "$U/sha256") ||
	fail "h2 100-continue upload failed"
assert_eq "sha256=$want bytes=2000000" "$out" "h2 100-continue upload"
nghttp -nv -H 'expect: 100-continue' -d "$T/up.bin" "$U/sha256" >"$T/nghttp.out" 2>&1 ||
	fail "nghttp expect upload failed: $(tail -5 "$T/nghttp.out")"
assert_file_match ':status: 100' "$T/nghttp.out" "h2 client got :status 100"
assert_file_match ':status: 200' "$T/nghttp.out" "then :status 200"
stop_h2gate
pass
