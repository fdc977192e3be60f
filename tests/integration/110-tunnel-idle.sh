#!/bin/sh
# timeouts.tunnel_idle: 1s: a CONNECT tunnel with no bytes either way is
# reset by h2gate (RST_STREAM CANCEL) and the target connection closed.
# Only "it happened" (within a generous 10 s) is asserted, no timing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node

start_tcp echo echo
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:$TPORT_echo"]
timeouts:
  tunnel_idle: 1s
EOF2
start_h2gate "$P"
J=$T/idle.json
h2tun idle "http://127.0.0.1:$P" "127.0.0.1:$TPORT_echo" --timeout 12000 >"$J" || fail "idle tunnel not closed within 10 s: $(cat "$J")"
log "$(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status"
assert_eq 8 "$(json_get 'd["rstCode"]' "$J")" "RST_STREAM code of the idle tunnel (CANCEL)"
# (connection 1 of the target is wait_port's probe)
wait_until 5 grep -q '^EOF 2 0 ' "$T/tcp-echo.log" || fail "the idle tunnel's target connection was not closed: $(cat "$T/tcp-echo.log")"
stop_h2gate
pass
