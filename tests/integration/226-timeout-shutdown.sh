#!/bin/sh
# timeouts.shutdown: 1s: SIGTERM while a request is stuck (upstream never
# answers): the client gets GOAWAY, the daemon exits within a few seconds
# (not after upstream_response: 60s), with status 0, and the stuck request
# does not end as a success.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

start_raw r1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$RPORT")
timeouts:
  shutdown: 1s
  upstream_response: 60s
  stream_idle: 60s
EOF2
start_h2gate "$P"

"${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/stall-head" >"$T/stuck.code" 2>"$T/stuck.err" &
cpid=$!
wait_until 5 grep -q 'REQ GET /stall-head' "$RLOG" || fail "the stuck request did not reach the upstream"
kill -TERM "$H2G_PID"
if ! wait_until 8 pid_gone "$H2G_PID"; then
	fail "daemon still running 8 s after SIGTERM (shutdown: 1s)"
fi
wait_h2gate_exit
wait $cpid
code=$(cat "$T/stuck.code")
log "stuck request: code=$code $(cat "$T/stuck.err")"
assert_no_match '^2' "$code" "stuck request status"
pass
