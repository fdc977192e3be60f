#!/bin/sh
# Zero-window dribble: 8 streams of 1 MiB with a client window of 0, then
# the window of one of them opened 1 byte at a time: the server never sends
# more than granted, the streams nobody reads are ended by stream_idle
# (2s), memory stays bounded, another client is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
timeouts:
  stream_idle: 2s
EOF2
start_h2gate "$P"

atk dribble dr -p streams=8 -p steps=400
assert_eq 0 "$(j 'd["bytes_before_window"]')" "DATA bytes sent into a zero window"
assert_eq 0 "$(j 'd["over_window"]')" "bytes sent beyond the granted window"
assert_eq "$(j 'd["granted"]')" "$(j 'd["received"]')" "bytes received for 1-byte window increments"
[ "$(j 'len(d["zero_window_reset"])')" -ge 1 ] || fail "streams stuck at a zero window were not ended by stream_idle: $(j 'd["rst"]')"
assert_defended "zero-window dribble"
stop_h2gate
pass
