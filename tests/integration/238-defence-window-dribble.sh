#!/bin/sh
# Zero-window dribble: 8 streams of 1 MiB with a client window of 0, then
# the window of one of them opened 1 byte at a time: the server never sends
# more than granted (it may hold tiny frames back), the streams nobody reads are ended by stream_idle
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
# (the server may hold tiny frames until the window is worth one: fewer
# bytes than granted is fine, more never)
[ "$(j 'd["received"]')" -le "$(j 'd["granted"]')" ] || fail "received $(j 'd["received"]') bytes for $(j 'd["granted"]') granted"
assert_eq 7 "$(j 'len(d["zero_window_reset"])')" "streams stuck at a zero window ended by stream_idle (RST_STREAM: $(j 'd["rst"]'))"
assert_defended "zero-window dribble"
stop_h2gate
pass
