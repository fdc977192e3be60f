#!/bin/sh
# limits.max_send_header_block_length: 16KiB: an upstream response whose
# header block would exceed it is not sent: the stream is reset (or 502),
# and the connection stays usable; a response under the limit passes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$RPORT")
limits:
  max_send_header_block_length: 16KiB
EOF2
start_h2gate "$P"

atk stream-status small -p path=/bigheader?n=1000 -p after=/ok
assert_eq 200 "$(j 'd["status"]["1"]')" "response with a 1000-byte header"
atk stream-status big -p path=/bigheader?n=40000 -p after=/ok
out=$(j 'd["rst"].get("1") or d["status"].get("1")')
assert_match '^(INTERNAL_ERROR|REFUSED_STREAM|CANCEL|PROTOCOL_ERROR|ENHANCE_YOUR_CALM|502)$' "$out" "response with a 40000-byte header block (RST_STREAM code or status)"
assert_ne 200 "$out" "oversized header block"
assert_eq None "$(j 'd["goaway"]')" "GOAWAY"
assert_eq 200 "$(j 'd["after"]')" "next request on the same connection"
stop_h2gate
pass
