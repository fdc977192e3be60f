#!/bin/sh
# limits.max_session_invalid_frames: 10: invalid frames (trailer HEADERS
# without END_STREAM, each a stream error PROTOCOL_ERROR) beyond 10 end the
# session with GOAWAY(ENHANCE_YOUR_CALM); 5 of them do not.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_session_invalid_frames: 10
  max_session_rejected_streams: 1000
EOF2
start_h2gate "$P"

atk invalid-frames few -p n=5
assert_eq None "$(j 'd["goaway"]')" "GOAWAY after 5 invalid frames"
assert_eq PROTOCOL_ERROR "$(j 'd["rst"].get("1")')" "trailers without END_STREAM: RST_STREAM code"
assert_eq 200 "$(j 'd["after"]')" "request after 5 invalid frames"
atk invalid-frames many -p n=40
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 40 invalid frames (sent $(j 'd["sent"]'))"
legit_curl
stop_h2gate
pass
