#!/bin/sh
# timeouts.stream_idle: 1s, a client that stops taking a response (16 MiB
# from the upstream).  HTTP/2, window never opened: RST_STREAM(CANCEL),
# the session going on.  Socket no longer read (HTTP/2 and HTTP/1.1): the
# connection is closed, by its write timeout (stream_idle without a byte
# taken; an abortive close, what the client did not take cannot be
# delivered) or, for HTTP/2 once its stream was reset, by timeouts.idle
# (2s here).  Every time the upstream connection is closed too (never
# pooled half-read), and a response under way never ends as if complete.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw r1
P=$(free_port)
run_with_idle() { # IDLE
	write_config <<EOF2
$(h2_config "$P" "$RPORT" "h2, http/1.1")
timeouts:
  stream_idle: 1s
  idle: $1
EOF2
	start_h2gate "$P"
}

run_with_idle 30s
atk stall win -p phase=response -p mode=window -p path=/big -p secs=8
assert_eq 200 "$(j 'd["status"].get("1")')" "h2, window closed: response head"
assert_eq CANCEL "$(j 'd["rst"].get("1")')" "h2, window closed: the stream is reset"
assert_eq False "$(j '1 in d["ended"]')" "h2, window closed: never ended as complete"
assert_eq False "$(j 'd["closed"]')" "h2, window closed: the session stays"
raw_all_closed "h2, window closed"
stop_h2gate

run_with_idle 2s
atk stall sock -p phase=response -p mode=socket -p unread=5 -p path=/big -p secs=10
assert_eq True "$(j 'd["closed"]')" "h2, socket not read: connection closed"
assert_eq False "$(j '1 in d["ended"]')" "h2, socket not read: never ended as complete"
raw_all_closed "h2, socket not read"

atk stall h1 -p proto=h1 -p phase=response -p unread=5 -p path=/big -p secs=10
assert_eq True "$(j 'd["closed"]')" "HTTP/1.1, socket not read: connection closed"
assert_ne 16777216 "$(j 'd["bytes"]')" "HTTP/1.1, socket not read: the whole body"
raw_all_closed "HTTP/1.1, socket not read"
stop_h2gate
pass
