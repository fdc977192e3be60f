#!/bin/sh
# CONTINUATION flood: HEADERS without END_HEADERS followed by endless
# CONTINUATION frames (full of header fields, then empty ones) end the
# session with a GOAWAY; memory stays bounded; another client is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

atk continuation-flood full -p size=16384 -p secs=6
assert_ne None "$(j 'd["goaway"]')" "GOAWAY during a CONTINUATION flood ($(j 'd["bytes_sent"]') bytes sent, stopped: $(j 'd["stopped"]'), closed: $(j 'd["closed"]'))"
assert_ne NO_ERROR "$(j 'd["goaway"]')" "GOAWAY code"
assert_defended "CONTINUATION flood"
atk continuation-flood empty -p size=0 -p secs=6
assert_ne None "$(j 'd["goaway"]')" "GOAWAY during an empty-CONTINUATION flood ($(j 'd["frames_sent"]') frames sent, stopped: $(j 'd["stopped"]'), closed: $(j 'd["closed"]'))"
assert_ne NO_ERROR "$(j 'd["goaway"]')" "GOAWAY code"
assert_defended "empty CONTINUATION flood"
stop_h2gate
pass
