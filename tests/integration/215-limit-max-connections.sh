#!/bin/sh
# limits.max_connections: 5, with two workers (each its own listening
# socket: the kernel spreads connections over both): with 5 client
# connections open, none of 6 more is served (they wait in the kernel's
# accept queue) until one of the 5 closes; then exactly one is.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT" | sed 's/^workers: 1$/workers: 2/')
limits:
  max_connections: 5
EOF2
grep -q '^workers: 2$' "$CONF" || fail "config: workers: 2 not set"
start_h2gate "$P"

atk max-connections mc -p n=5 -p extra=6 -p hold=1.5 -p after=3
assert_eq 5 "$(j 'd["first_served"]')" "connections within the limit that got SETTINGS"
assert_eq 0 "$(j 'd["n_served_before_close"]')" "extra connections served while 5 were open"
assert_eq 1 "$(j 'd["n_served_after_close"]')" "extra connections served once one of the 5 closed"
assert_eq 200 "$(j 'd["status_after_close"]')" "the connection served after the close"
legit_curl
stop_h2gate
pass
