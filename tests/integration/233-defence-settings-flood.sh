#!/bin/sh
# SETTINGS flood: SETTINGS frames sent without reading the ACKs end the
# session (GOAWAY ENHANCE_YOUR_CALM); memory stays bounded; another client
# is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

atk control-flood flood -p kind=settings -p n=400000
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after a SETTINGS flood (sent $(j 'd["sent"]'), $(j 'd["acks"]') ACKs read, stopped: $(j 'd["stopped"]'), closed: $(j 'd["closed"]'))"
assert_defended "SETTINGS flood"
stop_h2gate
pass
