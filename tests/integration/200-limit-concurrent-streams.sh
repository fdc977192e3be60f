#!/bin/sh
# limits.max_concurrent_streams: 4 is announced in SETTINGS; with 4 streams
# open, a 5th is refused with RST_STREAM(REFUSED_STREAM) while the 4 complete
# and the connection stays usable.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_concurrent_streams: 4
EOF2
start_h2gate "$P"

atk settings settings
assert_eq 4 "$(j 'd["settings"].get("MAX_CONCURRENT_STREAMS")')" "SETTINGS_MAX_CONCURRENT_STREAMS"

before=$(backend_count "$BPORT")
atk concurrent conc -p n=4 -p ms=1500
assert_eq 4 "$(j 'd["first_ok"]')" "the 4 streams within the limit completed with 200"
assert_eq REFUSED_STREAM "$(j 'd["rst"].get(str(d["extra"]))')" "RST_STREAM on the 5th stream (goaway: $(j 'd["goaway"]'))"
assert_eq None "$(j 'd["goaway"]')" "GOAWAY (the refusal is a stream error)"
assert_eq 200 "$(j 'd["after"]')" "a new stream once the others finished"
# the refused stream never reached the upstream: 4 slow + 1 follow-up
assert_eq $((before + 5)) "$(backend_count "$BPORT")" "requests that reached the upstream"
stop_h2gate
pass
