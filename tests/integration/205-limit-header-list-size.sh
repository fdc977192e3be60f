#!/bin/sh
# limits.max_header_list_size: 8KiB: a request with a 2000-byte field is
# served; one with a 12000-byte field gets 431 or RST_STREAM, never reaches
# the upstream, and the connection stays usable.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_header_list_size: 8KiB
EOF2
start_h2gate "$P"

atk header-list ok -p size=2000
assert_eq 200 "$(j 'd["status"]["1"]')" "request with a 2000-byte field"
before=$(backend_count "$BPORT")
atk header-list big -p size=12000
out=$(j 'd["status"].get("1") or d["rst"].get("1") or d["goaway"]')
assert_match '^(431|REFUSED_STREAM|PROTOCOL_ERROR|ENHANCE_YOUR_CALM|INTERNAL_ERROR|CANCEL)$' "$out" "12000-byte field: 431 or RST_STREAM"
assert_eq None "$(j 'd["goaway"]')" "GOAWAY (the refusal concerns one stream)"
assert_eq 200 "$(j 'd["after"]')" "next request on the connection"
assert_eq $((before + 1)) "$(backend_count "$BPORT")" "requests that reached the upstream (only the follow-up)"
stop_h2gate
pass
