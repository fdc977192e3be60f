#!/bin/sh
# Empty-frame flood: zero-length DATA frames without END_STREAM end the
# session with GOAWAY(ENHANCE_YOUR_CALM); memory stays bounded; another
# client is served.  The same when the empty DATA frame that ends the
# session comes in one read with a PRIORITY or RST_STREAM of the wrong
# length behind it (nghttp2 went on reading the session ended from its
# callback, and its assertion aborted the daemon on that frame).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

atk empty-frames flood -p n=100000
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after empty DATA frames (sent $(j 'd["sent"]'), stopped: $(j 'd["stopped"]'))"
assert_defended "empty DATA frame flood"

# n: max_session_invalid_frames (1000 by default); the last empty DATA
# frame, beyond it, shares its write with the bad frame.
for tail in priority rst-stream; do
	atk empty-frames "flood-then-$tail" -p n=1000 -p tail=$tail
	assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after empty DATA frames and a short $tail"
	assert_defended "empty DATA frames, then a short $tail in the same read"
done
stop_h2gate
pass
