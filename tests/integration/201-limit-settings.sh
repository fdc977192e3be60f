#!/bin/sh
# limits.initial_window_size / connection_window_size / max_frame_size /
# header_table_size / max_header_list_size are what the server's SETTINGS
# (and its connection WINDOW_UPDATE at start) announce; peer_max_concurrent_streams
# is accepted (a server-only daemon opens no streams: nothing to observe).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  initial_window_size: 100000
  connection_window_size: 1MiB
  max_frame_size: 20KiB
  header_table_size: 8KiB
  max_header_list_size: 16KiB
  max_concurrent_streams: 77
  peer_max_concurrent_streams: 50
EOF2
start_h2gate "$P"

atk settings s
assert_eq 100000 "$(j 'd["settings"].get("INITIAL_WINDOW_SIZE")')" "SETTINGS_INITIAL_WINDOW_SIZE"
assert_eq 20480 "$(j 'd["settings"].get("MAX_FRAME_SIZE")')" "SETTINGS_MAX_FRAME_SIZE"
assert_eq 8192 "$(j 'd["settings"].get("HEADER_TABLE_SIZE")')" "SETTINGS_HEADER_TABLE_SIZE"
assert_eq 16384 "$(j 'd["settings"].get("MAX_HEADER_LIST_SIZE")')" "SETTINGS_MAX_HEADER_LIST_SIZE"
assert_eq 77 "$(j 'd["settings"].get("MAX_CONCURRENT_STREAMS")')" "SETTINGS_MAX_CONCURRENT_STREAMS"
# connection window 1 MiB = the default 65535 + one WINDOW_UPDATE on stream 0
assert_eq $((1048576 - 65535)) "$(j 'd["conn_wu"]')" "connection WINDOW_UPDATE increment at start"
assert_eq 200 "$(j 'd["status"]["1"]')" "GET on that session"

# the defaults (no limits: section)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
stop_h2gate
start_h2gate "$P"
atk settings d
assert_eq 1048576 "$(j 'd["settings"].get("INITIAL_WINDOW_SIZE")')" "default SETTINGS_INITIAL_WINDOW_SIZE (1MiB)"
assert_eq 16384 "$(j 'd["settings"].get("MAX_FRAME_SIZE")')" "default SETTINGS_MAX_FRAME_SIZE"
assert_eq 4096 "$(j 'd["settings"].get("HEADER_TABLE_SIZE", 4096)')" "default SETTINGS_HEADER_TABLE_SIZE"
assert_eq 65536 "$(j 'd["settings"].get("MAX_HEADER_LIST_SIZE")')" "default SETTINGS_MAX_HEADER_LIST_SIZE"
assert_eq 128 "$(j 'd["settings"].get("MAX_CONCURRENT_STREAMS")')" "default SETTINGS_MAX_CONCURRENT_STREAMS"
assert_eq $((16777216 - 65535)) "$(j 'd["conn_wu"]')" "default connection window (16MiB)"
stop_h2gate
pass
