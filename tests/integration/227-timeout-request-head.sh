#!/bin/sh
# A request head that never completes.  HTTP/2 (timeouts.stream_idle: 1s):
# a HEADERS frame without END_HEADERS, then nothing -- the connection can
# carry nothing but the rest of that block, so it gets GOAWAY and is
# closed.  HTTP/1.1: part of a first request head (timeouts.handshake:
# 1s), or of a later one on a kept-alive connection (timeouts.idle: 1s):
# 408 with Connection: close, and the connection closed.  No upstream is
# involved: the request was never routed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT" "h2, http/1.1")
timeouts:
  handshake: 1s
  idle: 1s
  stream_idle: 1s
EOF2
start_h2gate "$P"

atk stall h2 -p phase=head -p secs=8
assert_eq NO_ERROR "$(j 'd["goaway"]')" "h2: GOAWAY for a header block left unfinished"
assert_eq True "$(j 'd["closed"]')" "h2: connection closed"
assert_eq '{}' "$(j 'd["status"]')" "h2: no response to half a request"

atk stall h1 -p proto=h1 -p phase=head -p secs=8
assert_match '^http/1.1 408' "$(j 'd["status_line"]')" "HTTP/1.1: first request head left unfinished"
assert_eq True "$(j 'd["connection_close"]')" "HTTP/1.1: 408 says Connection: close"
assert_eq True "$(j 'd["closed"]')" "HTTP/1.1: connection closed"

atk stall h1ka -p proto=h1 -p phase=head -p keepalive=1 -p secs=8
assert_eq None "$(j 'd.get("error")')" "HTTP/1.1: first request on the kept-alive connection"
assert_match '^http/1.1 408' "$(j 'd["status_line"]')" "HTTP/1.1: second request head left unfinished"
assert_eq True "$(j 'd["closed"]')" "HTTP/1.1: kept-alive connection closed"
legit_curl
stop_h2gate
pass
