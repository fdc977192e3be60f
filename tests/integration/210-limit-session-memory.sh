#!/bin/sh
# limits.max_session_memory: 1MiB: 32 streams of 1 MiB responses that the
# client does not read pile up in the session; new streams are then refused
# with RST_STREAM while the accounted memory is above the limit; once the
# client reads everything, the streams complete and new streams are served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_session_memory: 1MiB
EOF2
start_h2gate "$P"

atk memory mem -p n=32 -p more=4
refused=$(j 'sum(1 for v in d["refused_new"].values() if v)')
[ "$refused" -ge 1 ] || fail "no new stream was refused while 32 MiB of responses were pending (refused_new: $(j 'd["refused_new"]'), first refused: $(j 'd["first_refused"]'))"
assert_eq None "$(j 'd["goaway"]')" "GOAWAY (refusals are per stream)"
# streams not refused complete with the full body once read
want=$(j 'd["streams"] - len(d["early_rst"])')
assert_eq "$want" "$(j 'd["completed_full"]')" "streams completed with 1 MiB after draining (early resets: $(j 'd["early_rst"]'))"
[ "$(j 'len(d["early_rst"])')" -lt 32 ] || fail "every stream was refused"
assert_eq 200 "$(j 'd["after"]')" "a new stream once the memory was released"
assert_defended "slow-draining streams"
stop_h2gate
pass
