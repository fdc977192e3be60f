#!/bin/sh
# limits.max_deflate_dynamic_table_size: 512: although the client allows a
# 64 KiB HPACK table, the server's encoder announces (table size update) and
# keeps a dynamic table of at most 512 bytes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_deflate_dynamic_table_size: 512
EOF2
start_h2gate "$P"

atk deflate-table dt
assert_eq '{"1": 200, "3": 200, "5": 200, "7": 200}' "$(j 'd["status"]')" "statuses"
assert_ne '[]' "$(j 'd["table_updates"]')" "dynamic table size update from the server's encoder"
mx=$(j 'd["decoder_table_max"]')
[ "$mx" -le 512 ] || fail "the server's HPACK dynamic table is $mx bytes (limit 512)"
stop_h2gate
pass
