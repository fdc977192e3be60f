#!/bin/sh
# Dormant HTTP/2 sessions (core/h2_resume.h; two workers): a session that
# opened no stream (or none for QUIET_MS, 5 s) and owes nothing gives its
# nghttp2 session back until the client speaks again.  A python h2 client sets SETTINGS a replay must
# give back (256 KiB stream window, 1 KiB header table, push off), credits
# the connection 8 MiB and waits until /status lists its session as
# dormant (its cleartext connection also gives back its bufferevent,
# conn_sleep, and takes a new one when the client speaks); then:
#  - h2c and TLS: a 200,000-byte GET without any WINDOW_UPDATE from the
#    client completes (the woken session knows both windows; with the
#    defaults it would stall at 65,535 bytes) with the right bytes, and a
#    second GET on the session;
#  - a PING is answered, then a GET;
#  - h2gatectl drain reaches a dormant session: the shutdown notice
#    (GOAWAY NO_ERROR, last stream 2^31-1);
#  - timeouts.idle reaches a dormant session: GOAWAY, counted as an idle
#    timeout; and one woken by a PING alone (no stream), h2c and TLS: the
#    socket's wake does not lose the deadline (the connection's timer
#    watches the socket while it sleeps).
# h2gate_sessions_dormant counts them, and is back to 0 when they are gone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
"$PY" -c 'import h2' 2>/dev/null || skip "python3-h2 missing for $PY"
need curl

start_backend A
make_certs
PC=$(free_port)
PT=$(free_port)
PM=$(free_port)
dormant_config() { # IDLE_TIMEOUT
	WORKERS=2 config_common
	cat <<EOF
metrics:
  listen: "127.0.0.1:$PM"
listen:
  - address: "127.0.0.1:$PC"
    protocols: [h2]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2]
timeouts:
  idle: $1
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
EOF
}
dormant_config 60s | write_config
start_h2gate "$PC" "$PT" "$PM"
STATUS_URL="http://127.0.0.1:$PM/status"
client() { # NAME ARGS...: runs h2dormant.py, its last line in $T/NAME.json
	local name=$1
	shift
	"$PY" "$BACKENDS/h2dormant.py" --status "$STATUS_URL" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		fail "h2dormant $name: $(cat "$T/$name.out" "$T/$name.err")"
	tail -n 1 "$T/$name.out" >"$T/$name.json"
	log "$name: $(cat "$T/$name.json")"
}
SHA=$(pattern_sha 200000)

for mode in h2c tls; do
	if [ $mode = tls ]; then client get-$mode --port "$PT" --tls get; else client get-$mode --port "$PC" get; fi
	assert_eq True "$(json_get 'd["dormant"]' "$T/get-$mode.json")" "$mode: the session went dormant"
	assert_eq "[200, 200]" "$(json_get 'd["status"]' "$T/get-$mode.json")" "$mode: both GETs answered"
	assert_eq "[200000, 10]" "$(json_get 'd["bytes"]' "$T/get-$mode.json")" "$mode: bytes of the GETs (no window given back)"
	assert_eq "$SHA" "$(json_get 'd["sha256"]' "$T/get-$mode.json")" "$mode: the body"
done

# After streams (QUIET_MS without one): the client was asked to empty its
# HPACK table (its encoder is at 0 while the session sleeps) and may grow
# it again once a stream comes; and the woken session answers every
# frame as one never put away does (--live, the same scenario without
# waiting).
for mode in h2c tls; do
	if [ $mode = tls ]; then port=$PT; tls=--tls; else port=$PC; tls=; fi
	client used-$mode --port "$port" $tls used
	client used-live-$mode --port "$port" $tls --live used
	J=$T/used-$mode.json
	L=$T/used-live-$mode.json
	assert_eq True "$(json_get 'd["dormant"]' "$J")" "$mode used: the session went dormant after its streams"
	assert_eq 0 "$(json_get 'd["table_size_dormant"]' "$J")" "$mode used: the client's HPACK table emptied while dormant"
	assert_eq "[200, 200, 200, 200, 200]" "$(json_get 'd["status"]' "$J")" "$mode used: every GET answered"
	assert_eq "[1000, 200000]" "$(json_get 'd["bytes"]' "$J")" "$mode used: bytes (the window short by the first body)"
	assert_eq "$SHA" "$(json_get 'd["sha256"]' "$J")" "$mode used: the body after waking"
	assert_eq '["an indexed field value", "an indexed field value", "an indexed field value"]' \
		"$(json_get 'd["echo"]' "$J")" "$mode used: the indexed field reached the upstream, before and after"
	assert_eq 4096 "$(json_get 'd["table_sizes"][-1]' "$J")" "$mode used: the client's table is back to 4 KiB"
	for k in status bytes sha256 echo goaway; do
		assert_eq "$(json_get "d[\"$k\"]" "$L")" "$(json_get "d[\"$k\"]" "$J")" "$mode used: $k as on a session never put away"
	done
	[ "$(json_get 'd["goaway"]["code"]' "$J")" != 0 ] || fail "$mode used: HEADERS on a used stream id must end the session with an error"
done

client ping --port "$PC" ping
assert_eq True "$(json_get 'd["dormant"]' "$T/ping.json")" "ping: the session went dormant"
assert_eq True "$(json_get 'd["ping_ack"]' "$T/ping.json")" "ping: answered"
assert_eq "[10]" "$(json_get 'd["bytes"]' "$T/ping.json")" "ping: a GET after it"

# drain: the dormant session gets its GOAWAY
"$PY" "$BACKENDS/h2dormant.py" --status "$STATUS_URL" --port "$PC" wait >"$T/drain.out" 2>"$T/drain.err" &
dpid=$!
_PIDS+=("$dpid")
wait_until "$H2G_WAIT" grep -q DORMANT "$T/drain.out" || fail "drain: the session did not go dormant: $(cat "$T/drain.out" "$T/drain.err")"
M=$T/metrics.txt
curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$M"
assert_eq 1 "$(awk '$1 == "h2gate_sessions_dormant" { print $2 }' "$M")" "h2gate_sessions_dormant with one dormant session"
ctl '{"cmd":"drain"}' >/dev/null || fail "drain"
wait "$dpid"
tail -n 1 "$T/drain.out" >"$T/drain.json"
log "drain: $(cat "$T/drain.json")"
# (the shutdown notice first: RFC 9113 6.8, last stream 2^31-1)
assert_eq "0 2147483647" "$(json_get '"%s %s" % (d["goaway"]["code"], d["goaway"]["last_stream_id"])' "$T/drain.json")" "drain: the shutdown notice reaches the dormant session"
ctl '{"cmd":"resume"}' >/dev/null || fail "resume"
stop_h2gate

# the idle timeout reaches a dormant session
dormant_config 2s | write_config
start_h2gate "$PC" "$PT" "$PM"
client idle --port "$PC" wait
assert_eq True "$(json_get 'd["dormant"]' "$T/idle.json")" "idle: the session went dormant"
assert_eq 0 "$(json_get 'd["goaway"]["code"]' "$T/idle.json")" "idle: GOAWAY NO_ERROR"
settled() {
	curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$M" &&
		[ "$(awk '$1 == "h2gate_timeouts_total{phase=\"idle\"}" { print $2 }' "$M")" = 1 ] &&
		[ "$(awk '$1 == "h2gate_sessions_dormant" { print $2 }' "$M")" = 0 ]
}
wait_until "$H2G_WAIT" settled || fail "idle timeout / dormant gauge: $(grep -E 'phase="idle"|sessions_dormant ' "$M")"
client pingc --port "$PC" pingwait
client pingt --port "$PT" --tls pingwait
for n in pingc pingt; do
	assert_eq True "$(json_get 'd["dormant"]' "$T/$n.json")" "$n: the session went dormant"
	assert_eq True "$(json_get 'd["ping_ack"]' "$T/$n.json")" "$n: the PING that woke it answered"
	assert_eq 0 "$(json_get 'd["goaway"]["code"] if d["goaway"] else None' "$T/$n.json")" "$n: the idle timeout still came (GOAWAY NO_ERROR)"
done
stop_h2gate
pass
