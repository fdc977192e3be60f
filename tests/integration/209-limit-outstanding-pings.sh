#!/bin/sh
# limits.max_outstanding_pings: 10: a client that reads its PING ACKs may
# ping freely; one that floods PINGs without reading the ACKs has its
# session ended with GOAWAY(ENHANCE_YOUR_CALM); memory stays bounded and
# another connection is served meanwhile.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_outstanding_pings: 10
EOF2
start_h2gate "$P"

atk stream-status polite -p path=/size/10
assert_eq 200 "$(j 'd["status"]["1"]')" "baseline request"
atk control-flood flood -p kind=ping -p n=400000
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after a PING flood (sent $(j 'd["sent"]'), $(j 'd["acks"]') ACKs read, stopped: $(j 'd["stopped"]'))"
assert_defended "PING flood"
stop_h2gate
pass
