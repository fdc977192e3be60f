#!/bin/sh
# Reloads under load: two chains of h2load runs (HTTP/1.1 and h2c, fresh
# connections each run, full speed) while four SIGHUPs switch the route's
# upstream between two live backends: A -> [A, B] -> B -> B (another
# file) -> B.
#  - h2gate survives (no crash) and every response is a 2xx;
#  - once A was removed from the file and the reload applied, A's request
#    count only grows by the requests already in flight (at most one per
#    HTTP/1.1 connection plus clients x streams), then stops: it is the same
#    two reloads later and at the end of the load;
#  - every h2load run, HTTP/1.1 and h2c, across the reloads: 0 failed,
#    0 errored, every response a 2xx (a reload sends no GOAWAY and closes
#    no keep-alive connection: open sessions take the new file for their
#    next request, nothing a client sent is refused).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl h2load

start_backend A
start_backend B
P=$(free_port)
conf() { # UPSTREAM (YAML scalar or flow list) [EXTRA PATH ROUTE]
	cat <<EOF
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: $1
EOF
	if [ -n "${2:-}" ]; then
		printf '      - path: %s\n        upstream: %s\n' "$2" "$1"
	fi
}
UA="\"http://127.0.0.1:$BPORT_A\""
UB="\"http://127.0.0.1:$BPORT_B\""
conf "$UA" | write_config
# access log off: the load would only fill the disk
sed -i 's|^  access: .*|  access: "off"|' "$CONF"
start_h2gate "$P"

CLIENTS=2
STREAMS=4
# Two chains of short h2load runs (each a fresh set of connections, at full
# speed), until $T/stop exists: HTTP/1.1 (h2load reconnects when a
# response says "Connection: close") and h2c.  h2load does not reconnect
# after an h2 GOAWAY: it abandons the requests it had not sent yet, so
# an h2c run cut by a reload reports those as failed; every request it
# did send must still succeed.
chain() { # NAME H2LOAD-ARGS...
	local name=$1 i=0
	shift
	while [ ! -e "$T/stop" ] && [ $i -lt 200 ] && kill -0 "$H2G_PID" 2>/dev/null; do
		i=$((i + 1))
		h2load "$@" >"$T/$name-$(printf %03d $i).load" 2>&1
		echo "run $i rc=$?" >>"$T/$name-runs.log"
	done
}
chain h1 --h1 -n 300 -c "$CLIENTS" "http://127.0.0.1:$P/h1load" &
LOOP1=$!
_PIDS+=("$LOOP1")
chain h2c -n 600 -c "$CLIENTS" -m "$STREAMS" "http://127.0.0.1:$P/h2load" &
LOOP2=$!
_PIDS+=("$LOOP2")

count() { backend_count "$1"; }
# alive: fail at once (with its stderr) if h2gate died.
alive() {
	kill -0 "$H2G_PID" 2>/dev/null && return 0
	wait "$H2G_PID"
	local rc=$?
	H2G_PID=
	fail "h2gate died (exit status $rc) under load after $n_reloaded reload(s): $(grep -E 'AddressSanitizer|SUMMARY|#[0-9] ' "$T/h2gate.err" | head -n 12)"
}
n_reloaded=0
reload_to() { # UPSTREAM EXPECTED-NEW-BACKEND-REGEX [EXTRA]
	local f
	conf "$1" "${3:-}" | write_config
	sed -i 's|^  access: .*|  access: "off"|' "$CONF"
	alive
	kill -HUP "$H2G_PID"
	n_reloaded=$((n_reloaded + 1))
	wait_err 'configuration reloaded' "$n_reloaded" || fail "reload $n_reloaded not logged as done: $(grep -E 'reload' "$T/h2gate.err" | tail -n 3)"
	# applied in the workers: a fresh connection gets the new upstream
	EXPECT=$2
	wait_until "$H2G_WAIT" eval 'alive && [[ "$(backend_of http://127.0.0.1:$P/probe)" =~ ^($EXPECT)$ ]]' ||
		fail "reload $n_reloaded: a new connection does not reach /$2/ ($(backend_of "http://127.0.0.1:$P/probe"))"
	kill -0 "$LOOP1" 2>/dev/null && kill -0 "$LOOP2" 2>/dev/null || fail "a load chain ended before reload $n_reloaded was applied"
}
# let the load run on A first
wait_until "$H2G_WAIT" eval '[ "$(count "$BPORT_A")" -gt 200 ]' || fail "the load does not reach backend A"
reload_to "[$UA, $UB]" 'A|B'
# both get load now (round-robin)
b0=$(count "$BPORT_B")
wait_until "$H2G_WAIT" eval 'alive && [ "$(count "$BPORT_B")" -gt $((b0 + 100)) ]' || fail "the load does not reach B after A -> [A, B]"
reload_to "$UB" B              # A removed
a1=$(count "$BPORT_A")
b1=$(count "$BPORT_B")
wait_until "$H2G_WAIT" eval 'alive && [ "$(count "$BPORT_B")" -gt $((b1 + 200)) ]' || fail "the load does not reach B after [A, B] -> B"
reload_to "$UB" B /other       # another valid file, A still absent
a2=$(count "$BPORT_A")
b2=$(count "$BPORT_B")
wait_until "$H2G_WAIT" eval 'alive && [ "$(count "$BPORT_B")" -gt $((b2 + 200)) ]' || fail "the load does not reach B after the 4th file"
reload_to "$UB" B
a3=$(count "$BPORT_A")

# the loads end (bounded: 60 s at most even under ASan)
touch "$T/stop"
for i in $(seq 1 1200); do kill -0 "$LOOP1" 2>/dev/null || kill -0 "$LOOP2" 2>/dev/null || break; sleep 0.05; done
kill -0 "$LOOP1" 2>/dev/null && fail "h1 load chain still running after 60 s"
kill -0 "$LOOP2" 2>/dev/null && fail "h2c load chain still running after 60 s"
wait "$LOOP1" "$LOOP2"
a4=$(count "$BPORT_A")
b4=$(count "$BPORT_B")
log "A: at removal $a1, one reload later $a2, two later $a3, end $a4; B at the end $b4"

[ "$a1" -gt 200 ] || fail "backend A served only $a1 requests before its removal"
[ "$b4" -gt 500 ] || fail "backend B served only $b4 requests"
# In flight when the removal was applied: at most one per HTTP/1.1
# connection plus CLIENTS x STREAMS (h2c).
inflight=$((CLIENTS + CLIENTS * STREAMS))
[ $((a2 - a1)) -le $inflight ] ||
	fail "backend A got $((a2 - a1)) requests after its removal was applied (more than the $inflight that can be in flight)"
assert_eq "$a2" "$a3" "backend A's count two reloads after its removal (requests routed to a removed backend)"
assert_eq "$a2" "$a4" "backend A's count at the end of the load (requests routed to a removed backend)"

# summary FILE: "total started done succeeded failed errored timeout 2xx 3xx 4xx 5xx"
summary() {
	local r c
	r=$(grep '^requests:' "$1") || return 1
	c=$(grep '^status codes:' "$1") || return 1
	printf '%s %s\n' \
		"$(printf '%s' "$r" | sed -E 's/^requests: ([0-9]+) total, ([0-9]+) started, ([0-9]+) done, ([0-9]+) succeeded, ([0-9]+) failed, ([0-9]+) errored, ([0-9]+) timeout.*/\1 \2 \3 \4 \5 \6 \7/')" \
		"$(printf '%s' "$c" | sed -E 's/^status codes: ([0-9]+) 2xx, ([0-9]+) 3xx, ([0-9]+) 4xx, ([0-9]+) 5xx.*/\1 \2 \3 \4/')"
}
# Every run, whatever reload it crossed: 0 failed, 0 errored, 0 timeout,
# every request answered with a 2xx.
check_runs() { # KIND GLOB
	local f s line runs=0 reqs=0
	for f in $2; do
		s=$(summary "$f") || fail "$1 run $(basename "$f"): no summary: $(tail -n 5 "$f")"
		read -r total started done ok failed errored timeout s2 s3 s4 s5 <<<"$s"
		runs=$((runs + 1)) reqs=$((reqs + ok))
		line="$(grep -E '^(requests|status codes):' "$f" | tr '\n' ' ')"
		[ "$failed $errored $timeout" = "0 0 0" ] && [ "$ok" = "$total" ] && [ "$s2 $s3 $s4 $s5" = "$ok 0 0 0" ] ||
			fail "$1 h2load run $(basename "$f") across a reload: $line"
	done
	[ "$runs" -ge 1 ] || fail "no $1 h2load run"
	log "$1: $runs h2load runs across $n_reloaded reloads, $reqs requests, 0 failed, 0 errored, all 2xx"
}
check_runs HTTP/1.1 "$T/h1-*.load"
check_runs h2c "$T/h2c-*.load"

stop_h2gate
pass
