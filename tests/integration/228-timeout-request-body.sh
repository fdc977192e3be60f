#!/bin/sh
# timeouts.stream_idle: 1s, a request body that stops coming (3 bytes of a
# declared 100, then silence): the client gets 408, then the request is
# ended on both sides -- HTTP/2 RST_STREAM(NO_ERROR) after the 408, the
# session going on; HTTP/1.1 Connection: close and the connection closed
# -- and the upstream connection that had the first bytes is closed.  An
# upstream that stops taking a body is h2gate's wait, not the client's:
# 504.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_backend b1
start_raw r2 --rcvbuf 4096
RPORT2=$RPORT RLOG2=$RLOG
start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT" "h2, http/1.1")
      - path: /raw
        upstream: "http://127.0.0.1:$RPORT"
      - path: /slow-upstream
        upstream: "http://127.0.0.1:$RPORT2"
timeouts:
  stream_idle: 1s
  upstream_response: 30s
  idle: 30s
EOF2
start_h2gate "$P"

atk stall h2 -p phase=body -p path=/raw/ok -p after=/size/10 -p secs=8
assert_eq 408 "$(j 'd["status"].get("1")')" "h2: stalled request body answered"
assert_eq NO_ERROR "$(j 'd["rst"].get("1")')" "h2: the stream is then reset"
assert_eq True "$(j '1 in d["ended"]')" "h2: the 408 ended with END_STREAM before the reset"
assert_eq None "$(j 'd["goaway"]')" "h2: the session is not closed for one stalled stream"
assert_eq 200 "$(j 'd.get("after_status")')" "h2: a request on the same session afterwards"
raw_all_closed "h2 stalled body"

atk stall h1 -p proto=h1 -p phase=body -p path=/raw/ok -p secs=8
assert_match '^http/1.1 408' "$(j 'd["status_line"]')" "HTTP/1.1: stalled request body answered"
assert_eq True "$(j 'd["connection_close"]')" "HTTP/1.1: 408 says Connection: close"
assert_eq True "$(j 'd["closed"]')" "HTTP/1.1: connection closed after the 408"
raw_all_closed "HTTP/1.1 stalled body"

RLOG=$RLOG2
atk stall h2up -p phase=upload -p path=/slow-upstream/no-read?ms=5000 -p secs=8
assert_eq 504 "$(j 'd["status"].get("1")')" "h2: an upstream that stops taking the body"
assert_eq NO_ERROR "$(j 'd["rst"].get("1")')" "h2: the upload is then reset"
atk stall h1up -p proto=h1 -p phase=upload -p path=/slow-upstream/no-read?ms=5000 -p secs=8
assert_match '^http/1.1 504' "$(j 'd["status_line"]')" "HTTP/1.1: an upstream that stops taking the body"
assert_eq True "$(j 'd["closed"]')" "HTTP/1.1: connection closed after the 504"
raw_all_closed "upstream that stops taking the body"
stop_h2gate
pass
