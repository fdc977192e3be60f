#!/bin/sh
# A route with two h2c:// upstreams (node http2 backends; two workers) is
# balanced round-robin like http:// ones: six sequential requests on one
# client session go three to each backend, alternating; and an upstream
# that stops listening is skipped after at most one failed request of a
# client session (passive health, per worker), the other one serving the
# rest.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node

start_node_h2 one
P1=$HPORT
L1=$HLOG
start_node_h2 two
P2=$HPORT
L2=$HLOG
TWO_PID=${_PIDS[-1]}
P=$(free_port)
MPORT=$(free_port)
{
	h2c_config "$P" "$P1" | sed "s|upstream: \"h2c://127.0.0.1:$P1\"|upstream: [\"h2c://127.0.0.1:$P1\", \"h2c://127.0.0.1:$P2\"]|"
} | write_config
grep -q "h2c://127.0.0.1:$P2" "$CONF" || fail "config: the second upstream is missing"
start_h2gate "$P" "$MPORT"

# which backend saw PATH (its log of streams)
seen_by() {
	if grep -q "\"path\":\"$1\"" "$L1"; then echo one; elif grep -q "\"path\":\"$1\"" "$L2"; then echo two; else echo none; fi
}

node "$BACKENDS/h2client.js" seq "http://127.0.0.1:$P/" /slow/1 /slow/2 /slow/3 /slow/4 /slow/5 /slow/6 \
	>"$T/seq.json" || fail "node client failed: $(cat "$T/seq.json")"
assert_eq "200 200 200 200 200 200" "$(json_get '" ".join(str(r["status"]) for r in d["results"])' "$T/seq.json")" \
	"six requests answered"
seq=
for i in 1 2 3 4 5 6; do seq="$seq $(seen_by /slow/$i)"; done
seq=${seq# }
log "backend sequence: $seq"
case "$seq" in
"one two one two one two" | "two one two one two one") ;;
*) fail "not round-robin over the h2c:// upstreams: $seq" ;;
esac

# backend two goes away: after at most one failed request it is skipped
# (passive health is per worker: one client session, one worker)
kill "$TWO_PID"
wait "$TWO_PID" 2>/dev/null
node "$BACKENDS/h2client.js" seq "http://127.0.0.1:$P/" /slow/11 /slow/12 /slow/13 /slow/14 /slow/15 /slow/16 \
	>"$T/after.json" || fail "node client failed: $(cat "$T/after.json")"
s=
for i in 1 2 3 4 5 6; do
	code=$(json_get "d['results'][$((i - 1))]['status']" "$T/after.json")
	if [ "$code" = 200 ]; then s="$s $(seen_by /slow/1$i)"; else s="$s $code"; fi
done
s=${s# }
log "after backend two stopped: $s"
case "$s" in
"one one one one one one" | "502 one one one one one" | "one 502 one one one one") ;;
*) fail "the upstream that stopped listening is not skipped: $s" ;;
esac
stop_h2gate
pass
