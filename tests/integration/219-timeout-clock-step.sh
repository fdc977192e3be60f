#!/bin/sh
# Timeouts are measured on the monotonic clock: a step of the wall clock
# (NTP, a resumed VM) neither cuts what is open nor keeps it longer.  The
# daemon runs under libfaketime, whose wall clock the test steps a day
# forward, then a day back, while a 3 s response is under way
# (stream_idle: 5s); both responses arrive whole.  (With timeouts on the
# wall clock, a step forward made every stream look idle for a day, and a
# step back made the difference wrap around: both were cut at once.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
need faketime

start_backend b1
P=$(free_port)
write_config <<EOF2
$(h2_config "$P" "$BPORT" "h2, http/1.1")
timeouts:
  stream_idle: 5s
  idle: 30s
EOF2
# the library the faketime wrapper preloads (multi-threaded flavour; the
# path may hold the loader's $LIB token); the access log shows it worked
LIB=$(faketime -m -f +0 /usr/bin/env | sed -n 's/^LD_PRELOAD=//p')
[ -n "$LIB" ] || fail "faketime sets no LD_PRELOAD"
echo "+0" >"$T/faketime"
FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$LIB \
	ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	"$H2GATE" -c "$CONF" >"$T/h2gate.stdout" 2>"$T/h2gate.err" &
H2G_PID=$!
wait_port "$P" "$H2G_PID" || fail "h2gate did not start under libfaketime: $(tail -5 "$T/h2gate.err")"

step() { # OFFSET: the daemon's wall clock moves by OFFSET (faketime syntax)
	echo "$1" >"$T/faketime"
}
for offset in +1d -1d; do
	curl -sS --max-time 20 --http2-prior-knowledge -o "$T/slow.out" -w '%{http_code}' \
		"http://127.0.0.1:$P/slow?ms=3000" >"$T/slow.code" 2>"$T/slow.err" &
	cpid=$!
	sleep 1
	step "$offset"
	wait "$cpid" || fail "curl failed across a $offset clock step: $(cat "$T/slow.err")"
	assert_eq 200 "$(cat "$T/slow.code")" "a 3 s response across a $offset step of the wall clock"
	assert_eq "slow 3000" "$(cat "$T/slow.out")" "its body"
done
# the daemon did see the steps: its access log's timestamps are wall clock
for d in '+1 day' '-1 day'; do
	assert_file_match "^ts=$(date -u -d "$d" +%Y-%m-%d)" "$T/access.log" "an access log line dated $d"
done
stop_h2gate
pass
