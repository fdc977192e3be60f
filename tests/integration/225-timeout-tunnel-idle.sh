#!/bin/sh
# timeouts.tunnel_idle: 1s: a CONNECT tunnel (to a TCP echo server) carrying
# a byte every 300 ms stays up for 2.5 s; once nothing flows it is ended,
# and so is its connection to the target.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
start_raw echo --echo
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
connect:
  allow: ["127.0.0.1:$RPORT"]
timeouts:
  tunnel_idle: 1s
  stream_idle: 60s
  idle: 60s
EOF2
start_h2gate "$P"

atk tunnel-idle tun -p target=127.0.0.1:$RPORT -p keepalive=2.5 -p secs=8
assert_eq 200 "$(j 'd["status"]')" "CONNECT status"
assert_eq True "$(j 'd["alive_after_keepalive"]')" "tunnel with traffic every 300 ms after 2.5 s"
[ "$(j 'd["echoed"]')" -ge 1 ] || fail "nothing echoed through the tunnel"
assert_eq True "$(j 'd["ended"]')" "idle tunnel ended within 8 s"
raw_all_closed "idle tunnel's target"
stop_h2gate
pass
