#!/bin/sh
# Broken upstream responses become 502, never a split or smuggled response:
# two different Content-Length fields, a Content-Length list, both
# Transfer-Encoding and Content-Length, an invalid status line or version,
# a space before the colon.  After a valid response followed by unsolicited
# extra bytes (a second response), the next request gets the real answer,
# never the smuggled one.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$RPORT" "h2, http/1.1")
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P

for path in cl-conflict cl-list te-cl bad-status bad-status-3 bad-version no-status space-name; do
	for proto in --http2-prior-knowledge --http1.1; do
		code=$("${CURL[@]}" --max-time 10 $proto -o "$T/$path.body" -D "$T/$path.hdr" -w '%{http_code}' "$U/$path" 2>"$T/$path.err")
		log "$path $proto: $code $(head -c 80 "$T/$path.body" | tr -d '\r\n')"
		assert_eq 502 "$code" "upstream response /$path ($proto)"
		if grep -qi 'x-smuggled' "$T/$path.hdr"; then fail "/$path: smuggled response served"; fi
		# the next request through the same upstream pool gets its own response
		out=$("${CURL[@]}" --max-time 10 $proto -D "$T/ok.hdr" "$U/ok") || fail "/ok after /$path failed"
		assert_eq ok-ok "$out" "/ok after /$path ($proto)"
		if grep -qi 'x-smuggled' "$T/ok.hdr"; then fail "/ok after /$path got the smuggled response"; fi
	done
done

for proto in --http2-prior-knowledge --http1.1; do
	out=$("${CURL[@]}" --max-time 10 $proto "$U/smuggle") || fail "/smuggle failed"
	assert_eq hello "$out" "/smuggle body (its Content-Length: 5)"
	for i in 1 2 3; do
		out=$("${CURL[@]}" --max-time 10 $proto -D "$T/ok.hdr" "$U/ok") || fail "/ok after /smuggle failed"
		assert_eq ok-ok "$out" "/ok #$i after /smuggle ($proto)"
		if grep -qi 'x-smuggled' "$T/ok.hdr"; then fail "/ok after /smuggle got the smuggled response"; fi
	done
done
stop_h2gate
pass
