#!/bin/sh
# limits.header_table_size: 8KiB: announced; a client HPACK dynamic table
# size update to 8192 is accepted, to 8193 is a COMPRESSION_ERROR.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  header_table_size: 8KiB
EOF2
start_h2gate "$P"

atk header-table ht -p t=8192
assert_eq 8192 "$(j 'd["settings"].get("HEADER_TABLE_SIZE")')" "SETTINGS_HEADER_TABLE_SIZE"
assert_eq 200 "$(j 'd["at_limit_status"]')" "table size update to exactly header_table_size"
assert_eq COMPRESSION_ERROR "$(j 'd["goaway"]')" "table size update above header_table_size"
stop_h2gate
pass
