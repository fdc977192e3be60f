#!/bin/sh
# limits.max_session_rejected_streams: 5: streams the server refuses
# (beyond max_concurrent_streams: 1) or resets (malformed requests) beyond 5
# end the session with GOAWAY(ENHANCE_YOUR_CALM); 3 of them do not; none
# reaches the upstream.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT")
limits:
  max_session_rejected_streams: 5
  max_session_invalid_frames: 1000
  max_concurrent_streams: 1
EOF2
start_h2gate "$P"

before=$(backend_count "$BPORT")
atk rejected-streams few -p n=3
assert_eq None "$(j 'd["goaway"]')" "GOAWAY after 3 rejected streams"
assert_eq 3 "$(j 'len(d["rst"])')" "RST_STREAMs for 3 malformed requests"
assert_eq 200 "$(j 'd["after"]')" "request after 3 rejected streams"
atk rejected-streams refused -p kind=concurrency -p n=40
assert_eq REFUSED_STREAM "$(j 'd["rst"].get("3")')" "stream beyond max_concurrent_streams"
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 40 refused streams (sent $(j 'd["sent"]'), RST: $(j 'len(d["rst"])'))"
atk rejected-streams many -p n=40
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 40 rejected streams (sent $(j 'd["sent"]'), RST: $(j 'len(d["rst"])'))"
# upstream requests: the slow stream of the refused run, the good follow-up
# on each surviving connection and the legitimate GET made during each run
n=1
for f in few refused many; do n=$((n + $(json_get '(d["after"] == 200) + (d["legit"] == 200)' "$T/$f.json"))); done
assert_eq $((before + n)) "$(backend_count "$BPORT")" "requests that reached the upstream"
if grep -q 'REQ GET /echo-headers' "$BLOG"; then fail "a malformed request reached the upstream"; fi
legit_curl
stop_h2gate
pass
