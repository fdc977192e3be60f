#!/bin/sh
# An upstream that answers before it has read the request body (a 413, a
# redirect, nginx's `return`): the response reaches the client whole,
# then the stream is ended on both sides.  HTTP/2: RST_STREAM(NO_ERROR)
# (RFC 9113 8.1) after the response's END_STREAM, one PING round trip
# later, whatever is left of the upload, and the connection's window is
# not lost: ten such uploads on one session, then an upload that must
# arrive in full.
# HTTP/1.1: the response says Connection: close and the connection closes
# (the rest of the body is never read).
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

# On the wire, a declared rest of 1 MiB and one of 32 MiB alike: the
# answer, then RST_STREAM(NO_ERROR), never a stream left half-open.  A
# client that sent its whole body before the answer came (1 MiB can go
# in the time a loaded machine takes to answer: the upstream's socket
# takes it and h2gate gives the window back) ended its side already:
# the stream is closed both ways, and nothing is to be reset.
head -c "$SIZE" /dev/zero | tr '\0' a >"$T/body"
head -c 33554432 /dev/zero >"$T/big"
for f in body big; do
	timeout 20 nghttp -nv -d "$T/$f" "$U/early" >"$T/nghttp-$f.out" 2>&1
	assert_file_match 'recv DATA frame <length=10, flags=0x01, stream_id=13>' "$T/nghttp-$f.out" "$f: 413 body with END_STREAM"
	sent_end=$(grep -n 'send DATA frame <length=[0-9]*, flags=0x01, stream_id=13>' "$T/nghttp-$f.out" | head -1 | cut -d: -f1)
	answer=$(grep -n 'recv (stream_id=13) :status: 413' "$T/nghttp-$f.out" | head -1 | cut -d: -f1)
	if [ "$f" = body ] && [ -n "$sent_end" ] && [ -n "$answer" ] && [ "$sent_end" -lt "$answer" ]; then
		echo "# $f: the whole body was sent before the answer: the stream ended both ways"
		grep -q 'recv RST_STREAM' "$T/nghttp-$f.out" && fail "$f: RST_STREAM on a stream the client had ended"
		continue
	fi
	assert_file_match 'recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>' "$T/nghttp-$f.out" "$f: RST_STREAM after the answer"
	assert_file_match 'error_code=NO_ERROR' "$T/nghttp-$f.out" "$f: its code"
	rst=$(grep -n 'recv RST_STREAM' "$T/nghttp-$f.out" | head -1 | cut -d: -f1)
	end=$(grep -n 'recv DATA frame <length=10, flags=0x01' "$T/nghttp-$f.out" | head -1 | cut -d: -f1)
	[ -n "$end" ] && [ "$end" -lt "$rst" ] || fail "$f: RST_STREAM came before the complete answer"
done

# HTTP/1.1: the answer arrives; the connection is not reused for a body
# nobody reads.
code=$(timeout 20 curl -s --http1.1 -o "$T/h1.body" -w '%{http_code}' --data-binary @"$T/body" "$U/early") ||
	fail "HTTP/1.1 upload did not finish"
assert_eq 413 "$code" "HTTP/1.1 status"
assert_eq "too large" "$(cat "$T/h1.body")" "HTTP/1.1 body"
# A body that is still coming when the answer is sent: the answer says
# Connection: close and the connection closes, unread body and all.
"$PY" - "$P" >"$T/h1early.out" 2>&1 <<'PYEOF' || fail "HTTP/1.1 early answer: $(cat "$T/h1early.out")"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
got = b""
while True:
    d = s.recv(65536)  # the socket timeout fails the test if the connection stays
    if not d:
        break
    got += d
head = got.split(b"\r\n\r\n", 1)[0].decode().lower()
assert head.startswith("http/1.1 413"), head
assert "\r\nconnection: close" in head, head
print("closed after: " + head.splitlines()[0])
PYEOF
stop_h2gate
pass
