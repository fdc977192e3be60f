#!/bin/sh
# RFC 9113 conformance: 6.5.2 SETTINGS values (ENABLE_PUSH, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, ENABLE_CONNECT_PROTOCOL out of range; limits accepted)
# Each case runs on a fresh connection (h2attack.py conformance --group settings);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
timeouts:
  idle: 30s
EOF2
start_h2gate "$P"

atk conformance c -p group=settings
bad=$(j '"; ".join("%s: expected %s, got %s" % (k, v["expected"], v["got"]) for k, v in sorted(d.items()) if not v["ok"])')
n=$(j 'len(d)')
log "$n cases, failures: ${bad:-none}"
[ -z "$bad" ] || fail "$bad"
legit_curl
stop_h2gate
pass "$n cases"
