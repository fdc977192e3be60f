#!/bin/sh
# RFC 9113 3.4: an invalid connection preface (an HTTP/1.1 request on an
# h2-only listener, garbage, a corrupted magic, magic not followed by
# SETTINGS) is a connection error: GOAWAY(PROTOCOL_ERROR), then close.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
EOF2
start_h2gate "$P"

atk preface pf
bad=$(j '"; ".join("%s: %s" % (k, v) for k, v in sorted(d.items()) if not (v["closed"] and v["goaway"] == "PROTOCOL_ERROR"))')
[ -z "$bad" ] || fail "invalid prefaces not answered with GOAWAY(PROTOCOL_ERROR) + close: $bad"
legit_curl
stop_h2gate
pass
