#!/bin/sh
# CONNECT failures after the ACL: an allowed port nobody listens on -> 502
# (no tunnel); a target that resets the TCP connection mid-tunnel ->
# RST_STREAM with CONNECT_ERROR (0xa) to the client, never a clean
# END_STREAM; the session stays usable afterwards.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node

start_tcp rst reset
start_tcp echo echo
DEAD=$(free_port)
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:$DEAD", "127.0.0.1:$TPORT_rst", "127.0.0.1:$TPORT_echo"]
EOF2
start_h2gate "$P"

J=$T/dead.json
h2tun status "http://127.0.0.1:$P" "127.0.0.1:$DEAD" >"$J" || fail "node failed: $(cat "$J")"
log "refused: $(cat "$J")"
assert_eq 502 "$(json_get 'd["status"]' "$J")" "CONNECT to an allowed port nobody listens on"

J=$T/rst.json
h2tun reset "http://127.0.0.1:$P" "127.0.0.1:$TPORT_rst" >"$J" || fail "node failed: $(cat "$J")"
log "reset: $(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status before the reset"
wait_until 5 grep -q '^RESET 2 ' "$T/tcp-rst.log" || fail "the target never got the tunnelled bytes"
assert_eq 10 "$(json_get 'd["rstCode"]' "$J")" "RST_STREAM code after the target's TCP reset (CONNECT_ERROR)"
assert_eq False "$(json_get 'd.get("ended", False)' "$J")" "clean END_STREAM after a target reset"

# the same daemon still tunnels
J=$T/echo.json
h2tun echo "http://127.0.0.1:$P" "127.0.0.1:$TPORT_echo" --size 10000 >"$J" || fail "node failed: $(cat "$J")"
assert_eq True "$(json_get 'd["bulk_echo_ok"]' "$J")" "tunnel after the failures"
line=$(access_line "authority=127.0.0.1:$DEAD method=CONNECT ") || exit 1
assert_match 'status=502' "$line" "access log of the unreachable target"
stop_h2gate
pass
