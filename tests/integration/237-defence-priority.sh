#!/bin/sh
# PRIORITY abuse: a stream depending on itself (PRIORITY frame, or the
# priority of its HEADERS) is a PROTOCOL_ERROR (stream or connection
# error); 100000 PRIORITY frames building dependency loops among idle
# streams neither kill the daemon nor grow its memory, and the session
# stays usable; another client is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

atk priority self -p case=self
assert_eq PROTOCOL_ERROR "$(j 'd["rst"].get("1") or d["goaway"]')" "PRIORITY: stream 1 depends on itself"
atk priority hself -p case=headers-self
assert_eq PROTOCOL_ERROR "$(j 'd["rst"].get("3") or d["goaway"]')" "HEADERS priority: stream 3 depends on itself"
atk priority loops -p case=loops -p n=100000
assert_eq None "$(j 'd["goaway"]')" "GOAWAY after PRIORITY reshuffles (legal frames)"
assert_eq 200 "$(j 'd["after"]')" "request on the session after 100000 PRIORITY frames"
assert_defended "PRIORITY loops"
stop_h2gate
pass
