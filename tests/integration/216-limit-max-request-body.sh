#!/bin/sh
# limits.max_request_body: 32KiB over raw h2: a declared content-length
# above it gets 413 without reaching the upstream; a body without
# content-length that grows past it gets 413 or RST_STREAM (never a 2xx);
# a body at the limit passes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_request_body: 32KiB
EOF2
start_h2gate "$P"

atk post ok -p size=32768 -p cl=1
assert_eq 200 "$(j 'd["status"]["1"]')" "body of exactly max_request_body"
before=$(backend_count "$BPORT")
atk post cl -p size=40000 -p cl=1
assert_eq 413 "$(j 'd["status"].get("1")')" "content-length above max_request_body"
assert_eq 200 "$(j 'd["after"]')" "next request on the connection"
assert_eq $((before + 1)) "$(backend_count "$BPORT")" "requests that reached the upstream (only the follow-up)"
atk post nocl -p size=200000
out=$(j 'd["status"].get("1") or d["rst"].get("1")')
assert_match '^(413|CANCEL|REFUSED_STREAM|INTERNAL_ERROR|PROTOCOL_ERROR|ENHANCE_YOUR_CALM|NO_ERROR)$' "$out" "200000-byte body without content-length"
assert_eq 200 "$(j 'd["after"]')" "next request on the connection"
stop_h2gate
pass
