#!/bin/sh
# limits.stream_reset_burst: 20 / stream_reset_rate: 5: a client opening and
# cancelling 1000 streams as fast as it can gets GOAWAY(ENHANCE_YOUR_CALM),
# and the upstream sees far fewer than 1000 requests.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  stream_reset_burst: 20
  stream_reset_rate: 5
EOF2
start_h2gate "$P"

before=$(backend_count "$BPORT")
atk rapid-reset rr -p n=1000 -p path=/size/10
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 1000 HEADERS+RST_STREAM (sent $(j 'd["sent"]'), last-stream-id $(j 'd["goaway_last"]'))"
sleep 0.5
seen=$(( $(backend_count "$BPORT") - before ))
log "upstream saw $seen of 1000 cancelled requests"
[ "$seen" -lt 200 ] || fail "the upstream saw $seen requests of 1000 reset streams"
assert_defended "rapid reset"
stop_h2gate
pass
