#!/bin/sh
# limits.max_header_list_pairs: 20: a request with 14 fields is served, one
# with 44 fields gets 431 and never reaches the upstream.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_header_list_pairs: 20
EOF2
start_h2gate "$P"

atk header-list ok -p pairs=10
assert_eq 200 "$(j 'd["status"]["1"]')" "request with $(j 'd["field_count"]') fields"
before=$(backend_count "$BPORT")
atk header-list many -p pairs=40
assert_eq 431 "$(j 'd["status"].get("1") or d["rst"].get("1") or d["goaway"]')" "request with $(j 'd["field_count"]') fields"
assert_eq 200 "$(j 'd["after"]')" "next request on the connection"
assert_eq $((before + 1)) "$(backend_count "$BPORT")" "requests that reached the upstream (only the follow-up)"
stop_h2gate
pass
