#!/bin/sh
# Rapid reset (CVE-2023-44487) with the default limits: 5000 streams opened
# and cancelled at once end the session with GOAWAY(ENHANCE_YOUR_CALM); the
# upstream sees far fewer requests; memory stays bounded; another client is
# served during and after.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

before=$(backend_count "$BPORT")
atk rapid-reset rr -p n=5000 -p path=/slow?ms=200
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 5000 HEADERS+RST_STREAM (sent $(j 'd["sent"]'), stopped: $(j 'd["stopped"]'), last-stream-id $(j 'd["goaway_last"]'))"
sleep 0.5
seen=$(( $(backend_count "$BPORT") - before ))
log "upstream saw $seen of 5000 cancelled requests"
[ "$seen" -lt 2500 ] || fail "the upstream saw $seen requests of 5000 reset streams"
assert_defended "rapid reset"
stop_h2gate
pass
