#!/bin/sh
# Empty-frame flood: zero-length DATA frames without END_STREAM end the
# session with GOAWAY(ENHANCE_YOUR_CALM); memory stays bounded; another
# client is served.
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
stop_h2gate
pass
