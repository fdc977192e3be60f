#!/bin/sh
# Zero-length header field names: each such request is a stream error
# (RST_STREAM PROTOCOL_ERROR, or the session is cut) and never reaches the
# upstream, even 300 of them; memory stays bounded; another client is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_session_rejected_streams: 1000
  max_session_invalid_frames: 1000
EOF2
start_h2gate "$P"

before=$(backend_count "$BPORT")
atk rejected-streams one -p n=1 -p name=
assert_eq PROTOCOL_ERROR "$(j 'd["rst"].get("1") or d["goaway"]')" "request with a zero-length field name"
atk rejected-streams many -p n=300 -p name=
out=$(j 'd["goaway"] or "rst=%d" % len(d["rst"])')
assert_match '^(rst=300|ENHANCE_YOUR_CALM|PROTOCOL_ERROR)$' "$out" "300 requests with a zero-length field name"
# only the good requests reached the upstream: the follow-up on each
# surviving connection and the legitimate GET made during each attack
n=0
for f in one many; do n=$((n + $(json_get '(d["after"] == 200) + (d["legit"] == 200)' "$T/$f.json"))); done
assert_eq $((before + n)) "$(backend_count "$BPORT")" "requests that reached the upstream"
if grep -q 'REQ GET /echo-headers' "$BLOG"; then fail "a request with a zero-length name reached the upstream"; fi
assert_defended "zero-length names"
stop_h2gate
pass
