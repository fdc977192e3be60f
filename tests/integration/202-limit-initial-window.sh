#!/bin/sh
# Flow control windows.  Sending: with the client's
# SETTINGS_INITIAL_WINDOW_SIZE=1000 the server sends exactly 1000 bytes of a
# 100000-byte response until a WINDOW_UPDATE, then the rest.  Receiving:
# limits.initial_window_size: 4KiB is enforced: a 4096-byte body is served,
# a 5096-byte DATA frame on a new stream is a FLOW_CONTROL_ERROR (that
# stream goes to an upstream whose connect hangs: nothing consumes the body,
# so no WINDOW_UPDATE can legitimately have reopened the window).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
start_raw bh --blackhole
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
      - path: /bh
        upstream: "http://127.0.0.1:$RPORT"
limits:
  initial_window_size: 4KiB
EOF2
start_h2gate "$P"

atk window-send ws -p w=1000 -p size=100000
assert_eq 1000 "$(j 'd["stalled_bytes"]')" "DATA bytes sent within the client's 1000-byte stream window"
assert_eq 100000 "$(j 'd["final_bytes"]')" "bytes once the window was opened"
assert_eq 200 "$(j 'd["status"]["1"]')" "status"

atk settings s
assert_eq 4096 "$(j 'd["settings"].get("INITIAL_WINDOW_SIZE")')" "SETTINGS_INITIAL_WINDOW_SIZE"
atk window-recv wr -p w=4096 -p over=1000 -p path=/bh/x
assert_eq 200 "$(j 'd["at_limit_status"]')" "POST with a body of exactly the window"
assert_eq FLOW_CONTROL_ERROR "$(j 'd["rst"].get("3") or d["goaway"]')" "DATA beyond the stream window (RST_STREAM or GOAWAY code)"
stop_h2gate
pass
