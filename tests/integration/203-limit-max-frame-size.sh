#!/bin/sh
# limits.max_frame_size: 20KiB: announced; a 20480-byte DATA frame is
# accepted, a 20481-byte one is a connection error FRAME_SIZE_ERROR.  The
# server never sends frames above the client's (default 16384) limit.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_frame_size: 20KiB
EOF2
start_h2gate "$P"

atk frame-size fs -p m=20480
assert_eq 20480 "$(j 'd["settings"].get("MAX_FRAME_SIZE")')" "SETTINGS_MAX_FRAME_SIZE"
assert_eq 200 "$(j 'd["at_limit_status"]')" "a DATA frame of exactly max_frame_size"
assert_eq FRAME_SIZE_ERROR "$(j 'd["goaway"]')" "GOAWAY after a DATA frame of max_frame_size+1"
assert_eq True "$(j 'd["closed"]')" "connection closed after the GOAWAY"

atk stream-status big -p path=/size/300000
assert_eq 200 "$(j 'd["status"]["1"]')" "status"
assert_eq 300000 "$(j 'd["data"]["1"]')" "body bytes"
mf=$(j 'd["max_data_frame"]')
[ "$mf" -le 16384 ] || fail "server sent a $mf-byte DATA frame (client's SETTINGS_MAX_FRAME_SIZE is 16384)"
stop_h2gate
pass
