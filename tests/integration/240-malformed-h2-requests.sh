#!/bin/sh
# Malformed h2 requests (RFC 9113 8.2/8.3) never reach the upstream: CR, LF
# or NUL in a value, uppercase / empty / space / colon in a name,
# connection-specific fields, te other than trailers, host disagreeing with
# :authority (400), pseudo-header after a regular field, empty / relative /
# absolute-form / duplicate :path, unknown or response pseudo-headers, no
# :method, content-length disagreeing with the DATA.  Each gets RST_STREAM
# (PROTOCOL_ERROR), a GOAWAY(PROTOCOL_ERROR) or 400; the upstream's request
# count does not move.
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

# control: the well-formed request the cases are built from does reach it
before=$(backend_count "$BPORT")
atk stream-status good -p path=/echo-headers
assert_eq 200 "$(j 'd["status"]["1"]')" "well-formed request"
assert_eq $((before + 2)) "$(backend_count "$BPORT")" "well-formed request + follow-up upstream"

before=$(backend_count "$BPORT")
atk malformed mal
bad=$(j '" ".join("%s=%s" % (k, v["status"] or v["rst"] or v["goaway"] or v["outcome"]) for k, v in sorted(d.items()) if not ((v["outcome"] == "reset" and v["rst"] == "PROTOCOL_ERROR") or (v["outcome"] == "goaway" and v["goaway"] == "PROTOCOL_ERROR") or v["status"] == 400))')
[ -z "$bad" ] || fail "malformed requests not refused with RST_STREAM(PROTOCOL_ERROR) / GOAWAY(PROTOCOL_ERROR) / 400: $bad"
assert_eq 400 "$(j 'd["host-mismatch"]["status"]')" "host disagreeing with :authority"
sleep 0.3
assert_eq "$before" "$(backend_count "$BPORT")" "malformed requests that reached the upstream ($(grep -c REQ "$BLOG") REQ lines in the backend log)"
legit_curl
stop_h2gate
pass
