#!/bin/sh
# An HTTP/2 upstream (h2c://) that fails: nothing listening is a 502 for
# both client protocols (counted as a connect error); an upstream that
# does not answer within timeouts.upstream_response is a 504 and its
# stream is reset (CANCEL, which the upstream sees); a reload that
# removes the upstream closes its idle connection (GOAWAY), and requests
# go to the new upstream.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node curl

start_node_h2 n1
N1=$HPORT
N1LOG=$HLOG
start_node_h2 n2
N2=$HPORT
N2LOG=$HLOG
DOWN=$(refused_port)
P=$(free_port)
MPORT=$(free_port)
conf() { # UPSTREAM_PORT
	h2c_config "$P" "$1"
	cat <<EOF2
      - path: /down/
        upstream: "h2c://127.0.0.1:$DOWN"
timeouts:
  upstream_response: 1s
EOF2
}
conf "$N1" | write_config
start_h2gate "$P" "$MPORT"
U=http://127.0.0.1:$P

assert_eq 502 "$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/down/x")" "refused upstream, h2 client: 502"
assert_eq 502 "$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$U/down/x")" "refused upstream, HTTP/1.1 client: 502"
errs=$(curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "h2gate_upstream_errors_total{kind=\"connect\"}" {print $2}')
assert_eq 2 "$errs" "connect errors counted"

assert_eq 504 "$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/hang")" "no response head within upstream_response: 504"
wait_until 5 grep -q '"ev":"close".*"path":"/hang","rstCode":8' "$N1LOG" ||
	fail "the upstream did not see its stream reset (CANCEL): $(grep /hang "$N1LOG")"

# Both workers may hold a connection to n1: requests until each worker's
# pool has one is not knowable from outside; what is: after the reload,
# every connection to n1 closes, none stays.
assert_eq hello "$("${CURL[@]}" --http2-prior-knowledge "$U/hello")" "n1 answers before the reload"
conf "$N2" | write_config
kill -HUP "$H2G_PID"
all_closed() {
	local opened closed
	opened=$(grep -c '"ev":"session"' "$N1LOG")
	closed=$(grep -c '"ev":"session-close"' "$N1LOG")
	[ "$opened" -ge 1 ] && [ "$opened" = "$closed" ]
}
wait_until 10 all_closed || fail "n1's connections stay open after the reload removed it: $(grep session "$N1LOG")"
assert_match '"ev":"goaway"' "$(cat "$N1LOG")" "n1's connection was closed with a GOAWAY"
wait_until 5 sh -c "curl -s --max-time 5 --http2-prior-knowledge '$U/hello' -o /dev/null && grep -q '\"path\":\"/hello\"' '$N2LOG'" ||
	fail "requests do not reach n2 after the reload"
stop_h2gate
pass
