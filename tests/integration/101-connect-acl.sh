#!/bin/sh
# CONNECT refused with 403 by connect.allow / connect.deny, and the target
# never sees a connection:
#  A. allow lists another port only -> 403 (the listed port gets 200);
#  B. deny 127.0.0.0/8:* (even with 127.0.0.1:* and localhost:* allowed):
#     the address, a name resolving into the range (localhost, LOCALHOST,
#     localhost.) and alternative spellings of 127.0.0.1 (2130706433,
#     0x7f.1, 127.1, 0177.0.0.1, [::ffff:127.0.0.1], [::ffff:7f00:1]) -> 403,
#     while [::1] (allowed, not denied) gets 200;
#  C. an empty allow list refuses every CONNECT.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node

start_tcp echo echo
start_tcp other echo
start_tcp six echo --host ::1
E=$TPORT_echo
P=$(free_port)
check() { # JSON TARGET EXPECTED WHAT
	assert_eq "$3" "$(json_get "d['results']['$2']" "$1")" "$4: CONNECT $2"
}

# --- A: by port
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:$TPORT_other"]
EOF2
start_h2gate "$P"
J=$T/a.json
h2tun statuses "http://127.0.0.1:$P" "127.0.0.1:$E" "127.0.0.1:$TPORT_other" "localhost:$E" >"$J" ||
	fail "node failed: $(cat "$J")"
log "A: $(cat "$J")"
check "$J" "127.0.0.1:$E" 403 "port not allowed"
check "$J" "localhost:$E" 403 "name not allowed"
check "$J" "127.0.0.1:$TPORT_other" 200 "allowed port (control)"
stop_h2gate

# --- B: CIDR deny, names and spellings resolving into it
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
connect:
  allow: ["127.0.0.1:*", "localhost:*", "[::1]:*"]
  deny: ["127.0.0.0/8:*"]
EOF2
start_h2gate "$P"
J=$T/b.json
B_DENIED=("127.0.0.1:$E" "localhost:$E" "LOCALHOST:$E" "localhost.:$E" "2130706433:$E" "0x7f.1:$E"
	"127.1:$E" "0177.0.0.1:$E" "[::ffff:127.0.0.1]:$E" "[::ffff:7f00:1]:$E")
h2tun statuses "http://127.0.0.1:$P" "${B_DENIED[@]}" "[::1]:$TPORT_six" >"$J" || fail "node failed: $(cat "$J")"
log "B: $(cat "$J")"
for t in "${B_DENIED[@]}"; do
	check "$J" "$t" 403 "deny 127.0.0.0/8"
done
check "$J" "[::1]:$TPORT_six" 200 "allowed IPv6 target outside the denied range (control)"
stop_h2gate

# --- C: empty allow list
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$TPORT_other"
connect:
  allow: []
EOF2
start_h2gate "$P"
J=$T/c.json
h2tun statuses "http://127.0.0.1:$P" "127.0.0.1:$E" "localhost:$E" "[::1]:$TPORT_six" >"$J" || fail "node failed: $(cat "$J")"
log "C: $(cat "$J")"
check "$J" "127.0.0.1:$E" 403 "empty allow list"
check "$J" "localhost:$E" 403 "empty allow list"
check "$J" "[::1]:$TPORT_six" 403 "empty allow list"
stop_h2gate

# the refused target was never contacted (its only connection: the readiness probe)
assert_eq 1 "$(tcp_accepts echo)" "connections the refused target accepted"
line=$(access_line "method=CONNECT .*status=403") || exit 1
assert_match "authority=127.0.0.1:$E" "$(grep -E 'method=CONNECT .*status=403' "$ACCESS" | head -n 1)" "access log of a refused CONNECT"
pass
