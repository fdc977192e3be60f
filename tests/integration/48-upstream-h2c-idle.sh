#!/bin/sh
# An HTTP/2 upstream connection (h2c://, node) in the views and idle:
# `h2gatectl upstreams` lists it with its streams in flight (a request the
# upstream holds shows 1 of the upstream's max), then, idle, it stays open
# and h2gate PINGs it (every 10 s) -- the backend sees the PING, the view
# counts the answer -- and the same connection stays open.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node curl

CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
start_node_h2 n1 --max-streams 50
start_h2c_gate "$HPORT"

# A request the upstream answers after 3 s: in flight meanwhile.
"${CURL[@]}" --http2-prior-knowledge "$U/slow/3000" >"$T/slow.out" 2>&1 &
SLOW=$!
wait_until 5 grep -q '"path":"/slow/3000"' "$HLOG" || fail "the slow request did not reach the upstream"
"$CTLBIN" -s "$T/ctl.sock" --json upstreams >"$T/busy.json" 2>&1 || fail "h2gatectl upstreams: $(cat "$T/busy.json")"
assert_eq "1 50 open h2c 127.0.0.1:$HPORT" \
	"$(json_get '" ".join(str(x) for x in [d[0]["streams"], d[0]["max_streams"], d[0]["state"], d[0]["proto"], d[0]["upstream"]])' "$T/busy.json")" \
	"h2gatectl: the connection with one stream in flight of the upstream's 50"
out=$("$CTLBIN" -s "$T/ctl.sock" upstreams 2>&1) || fail "h2gatectl upstreams: $out"
log "$out"
echo "$out" | grep -Eq "h2c +127\.0\.0\.1:$HPORT +127\.0\.0\.1 +open +1/50 " || fail "h2gatectl upstreams table: $out"
wait "$SLOW" || fail "the slow request failed: $(cat "$T/slow.out")"
assert_eq slow "$(cat "$T/slow.out")" "slow response body"

# Idle: PINGed, answered, kept.
wait_until 25 grep -q '"ev":"ping"' "$HLOG" || fail "no PING on the idle upstream connection"
pings() {
	"$CTLBIN" -s "$T/ctl.sock" --json upstreams >"$T/idle.json" 2>&1 &&
		[ "$(json_get 'd[0]["pings_acked"]' "$T/idle.json")" -ge 1 ]
}
wait_until 5 pings || fail "the PING's answer is not counted: $(cat "$T/idle.json")"
assert_eq "0 open" "$(json_get '" ".join(str(x) for x in [d[0]["streams"], d[0]["state"]])' "$T/idle.json")" "idle connection kept open"
assert_eq "$(json_get 'd[0]["connection"]' "$T/busy.json")" "$(json_get 'd[0]["connection"]' "$T/idle.json")" \
	"the same connection, kept across the idle time"
assert_eq 1 "$(json_get 'd[0]["streams_total"]' "$T/idle.json")" "it carried the one request so far"
assert_eq hello "$("${CURL[@]}" --http2-prior-knowledge "$U/hello")" "a request after the idle time"
stop_h2gate
pass
