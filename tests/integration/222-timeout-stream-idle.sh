#!/bin/sh
# timeouts.stream_idle: 1s: a stream with no bytes either way for that long
# ends: an upstream that does not answer (408/504 or RST_STREAM), a request
# body that never comes, a response that stalls after its head
# (RST_STREAM), a client that never opens its window.  A response that
# trickles a byte every 300 ms is not cut.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
      - path: /raw
        upstream: "http://127.0.0.1:$RPORT"
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
atk stream-idle stall -p case=slow-upstream -p path=/raw/stall-body -p secs=8
assert_eq 200 "$(j 'd["status"].get("1")')" "stalled body: response head"
assert_eq True "$(j 'd["stream_ended"]')" "stalled body: stream ended within 8 s"
# RST_STREAM(CANCEL) for the idle stream, or INTERNAL_ERROR as for any
# response cut after its head (config.md); never a clean END_STREAM
assert_match '^(CANCEL|INTERNAL_ERROR)$' "$(j 'd["rst"].get("1")')" "stalled body: RST_STREAM code"
assert_eq False "$(j '1 in d["ended"]')" "stalled body: ended with END_STREAM (a truncated body passed as complete)"
atk stream-idle trickle -p case=slow-upstream -p path=/raw/trickle?n=8\&ms=300 -p secs=10
assert_eq 200 "$(j 'd["status"].get("1")')" "trickling response"
assert_eq 8 "$(j 'd["data"].get("1")')" "trickling response: every byte"
assert_eq '{}' "$(j 'd["rst"]')" "trickling response: no RST_STREAM"
stop_h2gate
pass
