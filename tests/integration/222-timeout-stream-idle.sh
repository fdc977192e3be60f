#!/bin/sh
# timeouts.stream_idle: 1s: a stream with no bytes either way for that long
# ends: an upstream that does not answer (408/504 or RST_STREAM), a request
# body that never comes, a client that never opens its window.  (A
# response that stalls after its head, or trickles a byte a second: rows
# mid-body-silent, mid-chunk-silent and drip-body of 66-faults-upstream.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
timeouts:
  stream_idle: 1s
  upstream_response: 30s
  idle: 30s
EOF2
start_h2gate "$P"

check_ended() { # what
	assert_eq True "$(j 'd["stream_ended"]')" "$1: stream ended within 8 s ($(j 'd["rst"]') $(j 'd["status"]'))"
	out=$(j 'd["status"].get("1") or d["rst"].get("1")')
	assert_match '^(408|504|CANCEL|NO_ERROR|INTERNAL_ERROR|REFUSED_STREAM)$' "$out" "$1: how it ended"
}
atk stream-idle slowup -p case=slow-upstream -p path=/slow?ms=8000 -p secs=8
check_ended "upstream silent"
atk stream-idle nobody -p case=no-body -p secs=8
check_ended "request body never sent"
atk stream-idle zw -p case=zero-window -p secs=8
assert_eq True "$(j 'd["stream_ended"]')" "zero client window: stream ended within 8 s"
stop_h2gate
pass
