#!/bin/sh
# An upstream that answers before it has read the request body (a 413, a
# redirect, nginx's `return`): the response reaches the client whole and
# the rest of the body never waits for window nobody opens.  An
# undeclared or large rest is stopped with RST_STREAM(NO_ERROR) (RFC 9113
# 8.1) once more than a stream window of it has come, a declared rest up
# to 16 MiB is taken and dropped (clients such as
# Debian 12's curl fail an upload that is reset), and the connection's
# window is not lost: ten such uploads on one session, then an upload that
# must arrive in full.  HTTP/1.1 clients get the 413 too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
need node nghttp curl

start_backend b1
P=$(free_port)
# Small windows: a stream that kept its unread bytes would hold 64 KiB of
# the connection's 256 KiB, and the fifth upload would stall.
write_config <<EOF2
$(h2_config "$P" "$BPORT" "h2, http/1.1")
limits:
  initial_window_size: 64KiB
  connection_window_size: 256KiB
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P
SIZE=1048576

node "$BACKENDS/h2client.js" early "$U/" /early 10 "$SIZE" >"$T/early.json" ||
	fail "node client failed: $(cat "$T/early.json")"
for i in 0 9; do
	assert_eq 413 "$(json_get "d['results'][$i]['status']" "$T/early.json")" "upload $i: status"
	assert_eq 0 "$(json_get "d['results'][$i]['rstCode']" "$T/early.json")" "upload $i: stream ended with NO_ERROR"
	assert_eq 10 "$(json_get "d['results'][$i]['bytes']" "$T/early.json")" "upload $i: body of the 413"
done
want=$(head -c "$SIZE" /dev/zero | tr '\0' a | sha256sum | cut -d' ' -f1)
assert_eq "sha256=$want bytes=$SIZE" "$(json_get "d['after']['text']" "$T/early.json")" \
	"a full upload on the same session after ten early answers"

# On the wire, a declared rest of 1 MiB is taken and dropped: the upload
# ends cleanly; one of 32 MiB is stopped with RST_STREAM(NO_ERROR) after
# the response's END_STREAM.
head -c "$SIZE" /dev/zero | tr '\0' a >"$T/body"
timeout 20 nghttp -nv -d "$T/body" "$U/early" >"$T/nghttp.out" 2>&1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
assert_file_match 'recv DATA frame <length=10, flags=0x01, stream_id=13>' "$T/nghttp.out" "413 body with END_STREAM"
grep -q 'recv RST_STREAM' "$T/nghttp.out" && fail "a 1 MiB rest was reset, not drained"
assert_file_match 'send DATA frame <length=[0-9]+, flags=0x01, stream_id=13>' "$T/nghttp.out" "the client finished its upload"
head -c 33554432 /dev/zero >"$T/big"
timeout 20 nghttp -nv -d "$T/big" "$U/early" >"$T/nghttp2.out" 2>&1 || fail "nghttp (32 MiB) failed: $(tail -5 "$T/nghttp2.out")"
assert_file_match 'recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>' "$T/nghttp2.out" "RST_STREAM after the answer"
assert_file_match 'error_code=NO_ERROR' "$T/nghttp2.out" "its code"
rst=$(grep -n 'recv RST_STREAM' "$T/nghttp2.out" | head -1 | cut -d: -f1)
end=$(grep -n 'recv DATA frame <length=10, flags=0x01' "$T/nghttp2.out" | head -1 | cut -d: -f1)
[ -n "$end" ] && [ "$end" -lt "$rst" ] || fail "RST_STREAM came before the complete answer"

# HTTP/1.1: the answer arrives; the connection is not reused for a body
# nobody reads.
code=$(timeout 20 curl -s --http1.1 -o "$T/h1.body" -w '%{http_code}' --data-binary @"$T/body" "$U/early") ||
	fail "HTTP/1.1 upload did not finish"
assert_eq 413 "$code" "HTTP/1.1 status"
assert_eq "too large" "$(cat "$T/h1.body")" "HTTP/1.1 body"
stop_h2gate
pass
