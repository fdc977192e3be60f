#!/bin/sh
# Classic CONNECT (RFC 9113 8.5) from a node http2 client to a raw TCP echo
# target: 200, bytes both ways (a short line and 1 MiB), then half-close in
# both directions:
#  - client END_STREAM -> the target sees EOF (it answers "BYE n sha" with
#    what it received) -> its EOF -> END_STREAM to the client;
#  - a target that half-closes first -> END_STREAM to the client, whose own
#    direction stays open: bytes sent after that still reach the target.
# The access log has method=CONNECT status=200 upstream=host:port.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node

start_tcp echo echo
start_tcp first first
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:$TPORT_echo", "127.0.0.1:$TPORT_first"]
EOF2
start_h2gate "$P"
J=$T/echo.json
node "$BACKENDS/h2tunnel.js" echo "http://127.0.0.1:$P" "127.0.0.1:$TPORT_echo" >"$J" ||
	fail "node CONNECT echo failed: $(cat "$J")"
log "echo: $(head -c 600 "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status"
assert_eq None "$(json_get 'd.get("error")' "$J")" "client error"
assert_eq "hello" "$(json_get 'd["hello_echo"].strip()' "$J")" "short echo"
assert_eq True "$(json_get 'd["bulk_echo_ok"]' "$J")" "1 MiB echo"
sent=$(json_get 'd["sent_bytes"]' "$J")
sha=$(json_get 'd["sent_sha256"]' "$J")
# the target saw EOF (our END_STREAM) after exactly what we sent ...
# (connection 1 of each target is wait_port's probe: the tunnel is number 2)
wait_until 5 grep -q "^EOF 2 " "$T/tcp-echo.log" || fail "echo target never saw EOF after END_STREAM"
assert_eq "EOF 2 $sent $sha" "$(grep '^EOF 2 ' "$T/tcp-echo.log")" "target's view of the upload"
# ... and its bytes sent after that EOF, then its EOF, reached us
assert_eq "BYE $sent $sha" "$(json_get 'd["after_end"].strip()' "$J")" "bytes the target sent after our half-close"
assert_eq True "$(json_get 'd["ended"]' "$J")" "END_STREAM after the target's EOF"
assert_eq 0 "$(json_get 'd["rstCode"]' "$J")" "stream closed without RST_STREAM error"
line=$(access_line "method=CONNECT .*upstream=127.0.0.1:$TPORT_echo") || exit 1
log "access: $line"
assert_match 'status=200' "$line" "access log status"
assert_match "authority=127.0.0.1:$TPORT_echo" "$line" "access log authority"
assert_match 'proto=h2c ' "$line" "access log proto"
assert_match "in=$sent " "$line" "access log bytes in"

# the target half-closes first
J=$T/first.json
node "$BACKENDS/h2tunnel.js" first "http://127.0.0.1:$P" "127.0.0.1:$TPORT_first" --size 300000 >"$J" ||
	fail "node CONNECT first failed: $(cat "$J")"
log "first: $(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status (target half-closes first)"
assert_eq True "$(json_get 'd["ended"]' "$J")" "END_STREAM after the target's SHUT_WR"
assert_eq "HELLO 2" "$(json_get 'd["greeting"].strip()' "$J")" "bytes before the target's EOF"
sent=$(json_get 'd["sent_bytes"]' "$J")
sha=$(json_get 'd["sent_sha256"]' "$J")
wait_until 5 grep -q "^EOF 2 " "$T/tcp-first.log" || fail "target never got our bytes + EOF after its own half-close: $(cat "$T/tcp-first.log")"
assert_eq "EOF 2 $sent $sha" "$(grep '^EOF 2 ' "$T/tcp-first.log")" "bytes sent after the target's half-close"
assert_eq None "$(json_get 'd.get("error")' "$J")" "client error (target half-closes first)"

stop_h2gate
line=$(access_line "method=CONNECT .*upstream=127.0.0.1:$TPORT_echo") || exit 1
log "access: $line"
assert_match 'status=200' "$line" "access log status"
assert_match "authority=127.0.0.1:$TPORT_echo" "$line" "access log authority"
assert_match 'proto=h2c ' "$line" "access log proto"
line=$(access_line "method=CONNECT .*upstream=127.0.0.1:$TPORT_first") || exit 1
assert_match 'status=200' "$line" "access log status (target half-closes first)"
pass
