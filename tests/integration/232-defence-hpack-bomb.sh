#!/bin/sh
# HPACK bomb: one 4000-byte header inserted in the dynamic table and then
# referenced 60000 times (240 MB decoded from ~64 KB) gets 431, RST_STREAM or
# GOAWAY, never reaches the upstream; memory stays bounded; another client
# is served.
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
atk hpack-bomb bomb -p refs=60000
out=$(j 'd["status"].get("1") or d["rst"].get("1") or d["goaway"]')
assert_match '^(431|PROTOCOL_ERROR|ENHANCE_YOUR_CALM|COMPRESSION_ERROR|REFUSED_STREAM|INTERNAL_ERROR|CANCEL)$' "$out" "HPACK bomb outcome"
# upstream requests: the follow-up on the same connection (if it survived)
# and the legitimate GET made during the attack; never the bomb
n=$(j '(d["after"] == 200) + (d["legit"] == 200)')
assert_eq $((before + n)) "$(backend_count "$BPORT")" "requests that reached the upstream"
assert_defended "HPACK bomb"
stop_h2gate
pass
