#!/bin/sh
# timeouts.idle: 1s: an h2 session with no open stream gets GOAWAY(NO_ERROR)
# and is closed; an HTTP/1.1 keep-alive connection is closed; a stream
# open longer than the idle timeout is not cut by it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT" "h2, http/1.1")
timeouts:
  idle: 1s
  stream_idle: 10s
EOF2
start_h2gate "$P"

atk idle h2 -p secs=8
assert_eq 200 "$(j 'd["status"]["1"]')" "request before idling"
assert_eq NO_ERROR "$(j 'd["goaway"]')" "GOAWAY code on an idle session"
assert_eq True "$(j 'd["closed"]')" "idle h2 connection closed"
atk idle slow -p slow=2500 -p secs=8
assert_eq 200 "$(j 'd["status"].get("1")')" "a 2.5 s response on a session with idle: 1s"
assert_eq True "$(j 'd["closed"]')" "connection closed once idle after that stream"
atk h1-idle h1 -p secs=8
assert_match '^HTTP/1.1 200' "$(j 'd["response"]')" "HTTP/1.1 response"
assert_eq True "$(j 'd["closed"]')" "idle HTTP/1.1 keep-alive connection closed"
stop_h2gate
pass
