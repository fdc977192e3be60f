#!/bin/sh
# limits.max_connections: 3: with 3 client connections open, a 4th is not
# served (accept paused) until one of them closes; then it is.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_connections: 3
EOF2
start_h2gate "$P"

atk max-connections mc -p n=3 -p hold=1.5
assert_eq 3 "$(j 'd["first_served"]')" "connections within the limit that got SETTINGS"
assert_eq False "$(j 'd["served_before_close"]')" "the 4th connection got bytes while 3 were open"
assert_eq 200 "$(j 'd["status_after_close"]')" "the 4th connection once one closed"
legit_curl
stop_h2gate
pass
