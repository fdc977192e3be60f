#!/bin/sh
# A kept-alive upstream connection the upstream has given up on: the
# next request on it is met with a close and no answer.  Nothing of the
# request was answered or consumed, so h2gate sends it once more on a
# fresh connection and the client gets 200 (never a 502), for h2 and
# HTTP/1.1 clients.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
need curl

BP=$(free_port)
"$PY" "$BACKENDS/dropsecond.py" --port "$BP" --log "$T/drop.log" >"$T/drop.out" 2>&1 &
_PIDS+=("$!")
wait_port "$BP" "$!" || fail "dropsecond backend did not start"
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BP" "h2, http/1.1")
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P
# (wait_port's probe was the backend's first connection: numbers vary.)
get() { # CURL-ARGS... -> "conn=N STATUS"
	"${CURL[@]}" "$@" -w ' %{http_code}' | tr -d '\n' | sed 's/^ok //'
}
first=$(get --http2-prior-knowledge "$U/a") || fail "first request failed"
assert_match '^conn=[0-9]+ 200$' "$first" "first request"
# The same upstream connection (pooled) is dropped by the backend now.
second=$(get --http2-prior-knowledge "$U/b") || fail "second request failed"
assert_match '^conn=[0-9]+ 200$' "$second" "second request: answered after the retry"
[ "${second%% *}" != "${first%% *}" ] || fail "second answer came from the first connection: $second"
third=$(get --http1.1 "$U/c") || fail "HTTP/1.1 request failed"
assert_match '^conn=[0-9]+ 200$' "$third" "HTTP/1.1 client, same retry"
assert_eq 2 "$(grep -c ' req=2 dropped$' "$T/drop.log")" "requests dropped on reused connections"
assert_eq 3 "$(grep -c ' req=1 answered$' "$T/drop.log")" "requests answered on fresh connections"
grep -q ' status=502' "$T/access.log" 2>/dev/null && fail "a 502 in the access log"
stop_h2gate
pass
