#!/bin/sh
# Sleeping TLS connections (conn_sleep; two workers): once its HTTP/2
# session is dormant (242), a TLS connection gives back its TLS filter,
# the socket's bufferevent and its reader, keeping the socket, the SSL
# (its BIO detached) and one read event; the client's next bytes make the
# filter again around the same SSL, with no handshake.  /status lists such
# a session "asleep" and h2gate_connections_asleep counts them.  With the
# python h2 client backends/tlssleep.py:
#  - many: one connection asleep three times, each time woken by ten GETs
#    at once (1 KB to 200 KB bodies, the right bytes);
#  - race: GETs sent 0-50 ms after the SETTINGS ACK, around the moment
#    the session is put away and its connection a loop turn later;
#  - clients that close while asleep (with and without close_notify):
#    connections_open and connections_asleep back to 0;
#  - a reload while connections sleep: each then answers a GET (from the
#    new upstream); a drain while they sleep: each gets its GOAWAY
#    (NO_ERROR) and is closed by h2gate;
#  - TLS resumption: the session of a connection that slept and woke
#    resumes a second connection, which sleeps and answers too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl
"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 missing for $PY"

make_certs
start_backend A
start_backend B
PT=$(free_port)
PC=$(free_port)
PM=$(free_port)
asleep_config() { # UPSTREAM_PORT: lib.sh's TLS listener ($PT, and a cleartext one), two workers, /metrics
	WORKERS=2 tls_and_clear_config "$1"
	printf 'metrics:\n  listen: "127.0.0.1:%s"\n' "$PM"
}
asleep_config "$BPORT_A" | write_config
start_h2gate "$PT" "$PC" "$PM"
STATUS_URL="http://127.0.0.1:$PM/status"
M=$T/metrics.txt
gauge() { # NAME: its value in a fresh /metrics
	curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$M" && awk -v n="$1" '$1 == n { print $2 }' "$M"
}
gauges_are() { # OPEN ASLEEP
	[ "$(gauge h2gate_connections_open)" = "$1" ] && [ "$(gauge h2gate_connections_asleep)" = "$2" ]
}
client() { # NAME ARGS...: runs tlssleep.py, its last line in $T/NAME.json
	local name=$1
	shift
	"$PY" "$BACKENDS/tlssleep.py" --port "$PT" --status "$STATUS_URL" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		fail "tlssleep $name: $(cat "$T/$name.out" "$T/$name.err")"
	tail -n 1 "$T/$name.out" >"$T/$name.json"
	log "$name: $(cut -c 1-400 "$T/$name.json")"
}

# many: the expected [status, length, sha256] of each GET, three rounds
expect=$("$PY" - "$BACKENDS" <<'EOF'
import json, subprocess, sys
sizes = [1000, 2000, 5000, 10000, 20000, 30000, 50000, 70000, 100000, 200000]
sha = {n: subprocess.check_output([sys.executable, sys.argv[1] + "/httpbackend.py", "--sha", str(n)]).decode().strip()
       for n in sizes}
print(json.dumps([[[200, n, sha[n]] for n in sizes]] * 3))
EOF
)
client many many
assert_eq "$expect" "$(json_get 'json.dumps(d["rounds"])' "$T/many.json")" "many: every GET of the three wakes answered whole"

client race race
assert_eq "[[200, 1000], [200, 1000], [200, 1000], [200, 1000], [200, 1000], [200, 1000], [200, 1000]]" \
	"$(json_get 'd["race"]' "$T/race.json")" "race: GETs around the moment of sleep answered"
wait_until "$H2G_WAIT" gauges_are 0 0 || fail "after many and race: connections_open/asleep $(grep -E '^h2gate_connections_(open|asleep) ' "$M")"

# clients that close while asleep: nothing left behind
client close hold 6 close
assert_eq 6 "$(json_get 'd["closed"]' "$T/close.json")" "close: six connections asleep, closed"
wait_until "$H2G_WAIT" gauges_are 0 0 || fail "close while asleep: connections_open/asleep $(grep -E '^h2gate_connections_(open|asleep) ' "$M")"

# hold NAME N CMD: tlssleep.py hold in the background, fed by a fifo;
# returns once its connections are asleep
hold() {
	mkfifo "$T/$1.in"
	"$PY" "$BACKENDS/tlssleep.py" --port "$PT" --status "$STATUS_URL" hold "$2" "$3" <"$T/$1.in" \
		>"$T/$1.out" 2>"$T/$1.err" &
	HOLD_PID=$!
	_PIDS+=("$HOLD_PID")
	exec 3>"$T/$1.in"
	wait_until "$H2G_WAIT" grep -q ASLEEP "$T/$1.out" || fail "$1: not asleep: $(cat "$T/$1.out" "$T/$1.err")"
}
release() { # NAME: lets the held client go on, waits for it
	echo go >&3
	exec 3>&-
	wait "$HOLD_PID" || fail "tlssleep $1: $(cat "$T/$1.out" "$T/$1.err")"
	tail -n 1 "$T/$1.out" >"$T/$1.json"
	log "$1: $(cat "$T/$1.json")"
}

# a reload while four connections sleep: they stay, and answer from B
hold reload 4 reload
assert_eq 4 "$(gauge h2gate_connections_asleep)" "reload: four connections asleep"
asleep_config "$BPORT_B" | write_config
ctl '{"cmd":"reload"}' >/dev/null || fail "reload"
b0=$(backend_count "$BPORT_B")
release reload
assert_eq "[[200, 1000], [200, 1000], [200, 1000], [200, 1000]]" "$(json_get 'd["gets"]' "$T/reload.json")" \
	"reload: each sleeping connection answers after it"
assert_eq $((b0 + 4)) "$(backend_count "$BPORT_B")" "reload: from the new upstream"

# a drain while four connections sleep: GOAWAY to each, closed by h2gate
wait_until "$H2G_WAIT" gauges_are 0 0 || fail "after reload: connections_open/asleep $(grep -E '^h2gate_connections_(open|asleep) ' "$M")"
hold drain 4 drain
ctl '{"cmd":"drain"}' >/dev/null || fail "drain"
release drain
assert_eq "[0, 0, 0, 0]" "$(json_get '[g["code"] for g in d["goaway"]]' "$T/drain.json")" "drain: GOAWAY NO_ERROR on each"
assert_eq "[true, true, true, true]" "$(json_get 'json.dumps(d["eof"])' "$T/drain.json")" "drain: each closed by h2gate"
wait_until "$H2G_WAIT" gauges_are 0 0 || fail "after drain: connections_open/asleep $(grep -E '^h2gate_connections_(open|asleep) ' "$M")"
ctl '{"cmd":"resume"}' >/dev/null || fail "resume"

# TLS resumption across a sleep
client resume resume
assert_eq "[[200, 1000], [200, 1000], [200, 1000]]" "$(json_get 'd["gets"]' "$T/resume.json")" "resume: GETs before and after the sleeps"
assert_eq True "$(json_get 'd["reused"]' "$T/resume.json")" "resume: the second connection resumed the first one's session ($(json_get 'd["version"]' "$T/resume.json"))"
wait_until "$H2G_WAIT" gauges_are 0 0 || fail "at the end: connections_open/asleep $(grep -E '^h2gate_connections_(open|asleep) ' "$M")"
stop_h2gate
pass
