#!/bin/sh
# limits.max_settings: 8: a SETTINGS frame with 8 entries is fine, one with
# 9 entries ends the session with GOAWAY(ENHANCE_YOUR_CALM).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_settings: 8
EOF2
start_h2gate "$P"

atk max-settings ok -p n=8
assert_eq None "$(j 'd["goaway"]')" "GOAWAY after 8 entries"
assert_eq 200 "$(j 'd["status"].get("1")')" "request after an 8-entry SETTINGS"
atk max-settings many -p n=9
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 9 entries"
legit_curl
stop_h2gate
pass
