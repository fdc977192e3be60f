#!/bin/sh
# h2gatectl against a fake control socket (backends/ctl_fake.py): every
# command's request line, table rendering and --json output; ok:false ->
# stderr + exit 1; a missing socket, a refused socket, permission denied,
# garbage, a closed connection and a silent daemon -> exit 2 with a
# message; usage errors -> exit 2; H2GATE_CONTROL.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"

# start_fake NAME ARGS...: fake control server on $T/NAME.sock
start_fake() {
	local name=$1 pid
	shift
	"$PY" "$BACKENDS/ctl_fake.py" --socket "$T/$name.sock" --log "$T/$name.req" "$@" \
		>"$T/fake-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_until "$H2G_WAIT" test -S "$T/$name.sock" || fail "fake control server $name did not start"
}

# run ARGS...: runs h2gatectl; sets RC, OUT (stdout), ERR (stderr)
run() {
	"$CTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

start_fake f
S=(-s "$T/f.sock")

# --- status
run "${S[@]}" status
assert_eq 0 "$RC" "status exit ($ERR)"
assert_match '^version: +0\.1\.0$' "$(grep '^version:' "$T/out")" "status version line"
assert_file_match '^pid: +4242$' "$T/out" "status pid"
assert_file_match '^uptime: +1h02m \(3725 s\)$' "$T/out" "status uptime"
assert_file_match '^listeners: +127\.0\.0\.1:8443  tls  h2,http/1\.1$' "$T/out" "first listener"
assert_file_match '^ +127\.0\.0\.1:8080  cleartext  h2$' "$T/out" "second listener"
assert_file_match '^sessions: +h2 2, h2c 1, http/1\.1 0$' "$T/out" "sessions by protocol"
assert_file_match '^upstream: +7 open, 3 idle$' "$T/out" "upstream connections"
assert_file_match '^reloads: +2 \(last: ok\)$' "$T/out" "reloads"
assert_file_match '^draining: +no$' "$T/out" "draining"
assert_eq '{"cmd":"status"}' "$(tail -n 1 "$T/f.req")" "status request line"

# --- sessions: a header and one aligned row per session
run "${S[@]}" sessions
assert_eq 0 "$RC" "sessions exit ($ERR)"
assert_eq 3 "$(wc -l <"$T/out")" "sessions lines (header + 2)"
assert_match '^ID +WORKER +PEER +ALPN +TLS +SNI +AGE +STREAMS +LWIN +RWIN +IN +OUT +FRAMES +RTT$' \
	"$(head -n 1 "$T/out")" "sessions header"
assert_match '^ 7 +0 +127\.0\.0\.1:50010 +h2 +TLSv1\.3 +a\.test +1\.5s +2/40 +16MiB +64KiB +1\.2KiB +5\.0MiB +50/420 +0\.12ms$' \
	"$(sed -n 2p "$T/out")" "session 7 row"
assert_match '^12 +1 +\[::1\]:50022 +h2c +- +- +1h06m +0/1 .* +- *$' "$(sed -n 3p "$T/out")" "session 12 row"
# columns are aligned: the PEER column starts at the same offset on every line
offs=$(awk '{ print index($0, ($1 == "ID") ? "PEER" : $3) }' "$T/out" | sort -u | wc -l)
assert_eq 1 "$offs" "PEER column aligned"

run "${S[@]}" --json sessions
assert_eq 0 "$RC" "sessions --json exit"
assert_eq "[7, 12]" "$(json_get '[s["id"] for s in d]' "$T/out")" "--json sessions ids"
assert_eq "0.12" "$(json_get 'd[0]["ping_rtt_ms"]' "$T/out")" "--json keeps reals"
assert_eq "None" "$(json_get 'd[1]["sni"]' "$T/out")" "--json keeps null"

# --- session ID: fields then a streams table; the id is sent as a JSON integer
run "${S[@]}" session 7
assert_eq 0 "$RC" "session 7 exit ($ERR)"
assert_eq '{"cmd":"session","id":7}' "$(tail -n 1 "$T/f.req")" "session request line"
assert_file_match '^peer: +127\.0\.0\.1:50010$' "$T/out" "session peer"
assert_file_match '^streams: +2 open, 40 total$' "$T/out" "session streams"
assert_file_match '^STREAM +METHOD +AUTHORITY +PATH +STATE +UPSTREAM +IN +OUT +AGE$' "$T/out" "streams header"
assert_file_match '^ +1 +GET +a\.test +/size/8388608 +half-closed +127\.0\.0\.1:9000 +0B +3\.0MiB +0\.3s$' "$T/out" "stream 1 row"
assert_file_match '^ +3 +CONNECT +echo\.test:7 +- +tunnel +- +10B +10B +12s$' "$T/out" "stream 3 row"

run "${S[@]}" session 99
assert_eq 1 "$RC" "unknown session exit"
assert_eq "" "$OUT" "nothing on stdout for an unknown session"
assert_eq "h2gatectl: session 99: no such session" "$ERR" "unknown session message"
run "${S[@]}" session abc
assert_eq 2 "$RC" "non-numeric session id exit"
assert_match 'not a session id' "$ERR" "non-numeric session id message"

# --- tunnels
run "${S[@]}" tunnels
assert_eq 0 "$RC" "tunnels exit"
assert_match '^SESSION +STREAM +KIND +TARGET +UP +DOWN +AGE +IDLE$' "$(head -n 1 "$T/out")" "tunnels header"
assert_file_match '^ +7 +3 +connect +echo\.test:7 +10B +2\.0KiB +1m15s +2\.0s$' "$T/out" "connect tunnel row"
assert_file_match '^ +7 +5 +websocket +127\.0\.0\.1:9001 +5B +6B +3\.5s +0\.0s$' "$T/out" "websocket tunnel row"

# --- stats: counters then histogram lines
run "${S[@]}" stats
assert_eq 0 "$RC" "stats exit"
assert_file_match '^counters:$' "$T/out" "counters heading"
assert_file_match '^  requests_total +1200$' "$T/out" "requests_total"
assert_file_match '^  responses +1xx 0  2xx 1100  3xx 0  4xx 90  5xx 10$' "$T/out" "responses by class"
assert_file_match '^  request_duration_seconds: count 1200, sum 6\.5, mean 0\.00541667$' "$T/out" "histogram summary"
assert_file_match '^ +0\.005 +800$' "$T/out" "histogram bucket"
assert_file_match '^ +\+Inf +1200$' "$T/out" "histogram +Inf bucket"
run "${S[@]}" --json stats
assert_eq 1100 "$(json_get 'd["counters"]["responses"]["2xx"]' "$T/out")" "--json stats"

# --- reload, drain
run "${S[@]}" reload
assert_eq 0 "$RC" "reload exit"
assert_eq "reloaded" "$OUT" "reload output"
run "${S[@]}" --json drain
assert_eq 0 "$RC" "drain exit"
assert_eq True "$(json_get 'd["draining"]' "$T/out")" "drain --json"

# --- check: absolute path sent; diff lines; errors -> exit 1
mkdir -p "$T/sub"
(cd "$T/sub" && "$CTL" -s "$T/f.sock" check new.yaml) >"$T/out" 2>"$T/err"
assert_eq 0 "$?" "check exit ($(cat "$T/err"))"
tail -n 1 "$T/f.req" >"$T/req.json"
assert_eq "check" "$(json_get 'd["cmd"]' "$T/req.json")" "check request cmd"
assert_eq "$T/sub/new.yaml" "$(json_get 'd["file"]' "$T/req.json")" "check sends an absolute path"
assert_file_match '^new\.yaml: configuration ok$' "$T/out" "check ok line"
assert_file_match '^  \+ listener 127\.0\.0\.1:9443$' "$T/out" "added listener"
assert_file_match '^  - origin old\.test$' "$T/out" "removed origin"
assert_file_match '^  ~ origin a\.test$' "$T/out" "changed origin"
assert_file_match '^  \+ route b\.test /$' "$T/out" "added route"
assert_file_match '^  ~ limits\.max_concurrent_streams: 128 -> 256$' "$T/out" "changed limit"
assert_file_match '^  ~ timeouts\.idle: 120000 -> 60000$' "$T/out" "changed timeout"
assert_file_match '^7 changes against the running configuration$' "$T/out" "change count"
run "${S[@]}" check "$T/same.yaml"
assert_eq 0 "$RC" "check same exit"
assert_file_match '^no changes against the running configuration$' "$T/out" "no changes"
run "${S[@]}" check "$T/bad.yaml"
assert_eq 1 "$RC" "check bad exit"
assert_match "^h2gatectl: $T/bad.yaml: invalid configuration" "$ERR" "check bad message"
assert_match "$T/bad.yaml:2:1: unknown key 'workerz'" "$ERR" "check bad error line"
run "${S[@]}" --json check "$T/bad.yaml"
assert_eq 1 "$RC" "check --json bad exit"
assert_eq False "$(json_get 'd["valid"]' "$T/out")" "check --json bad: result on stdout"

# --- config as YAML (durations get ms)
run "${S[@]}" config
assert_eq 0 "$RC" "config exit"
assert_file_match '^  idle: 120000ms$' "$T/out" "config timeouts in ms"
assert_file_match '^  - address: "127\.0\.0\.1:8443"$' "$T/out" "config listener"
assert_file_match '^    protocols: \["h2", "http/1\.1"\]$' "$T/out" "config flow list"
"$PY" -c 'import yaml' 2>/dev/null && {
	"$PY" -c 'import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); assert d["limits"]["max_concurrent_streams"]==128 and d["listen"][0]["tls"]["key"]=="/etc/h2gate/key.pem", d' "$T/out" ||
		fail "config output is not the YAML it should be"
}

# --- failing daemon answers
"$PY" "$BACKENDS/ctl_fake.py" --socket "$T/r.sock" --reload-fail >/dev/null 2>&1 &
_PIDS+=("$!")
wait_until "$H2G_WAIT" test -S "$T/r.sock" || fail "fake r did not start"
run -s "$T/r.sock" reload
assert_eq 1 "$RC" "failed reload exit"
assert_eq "" "$OUT" "failed reload stdout"
assert_eq "h2gatectl: reload: reload failed: the running configuration stays" "$(sed -n 1p "$T/err")" "failed reload message"
assert_match "^/etc/h2gate/h2gate.yaml:2:1: unknown key" "$(sed -n 2p "$T/err")" "first error line"
assert_match "^/etc/h2gate/h2gate.yaml:9:5: " "$(sed -n 3p "$T/err")" "second error line"

start_fake g --mode garbage
run -s "$T/g.sock" status
assert_eq 2 "$RC" "garbage answer exit"
assert_match "bad JSON from h2gate" "$ERR" "garbage answer message"
start_fake c --mode close
run -s "$T/c.sock" status
assert_eq 2 "$RC" "closed connection exit"
assert_match "connection closed by h2gate" "$ERR" "closed connection message"
start_fake q --mode silent
t0=$(date +%s%N)
run -T 0.5 -s "$T/q.sock" status
t1=$(date +%s%N)
assert_eq 2 "$RC" "silent daemon exit"
assert_match "no answer from h2gate within 500 ms" "$ERR" "timeout message"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "timeout took $(((t1 - t0) / 1000000)) ms"
start_fake w --mode shape
run -s "$T/w.sock" sessions
assert_eq 2 "$RC" "wrong shape exit"
assert_match "unexpected answer to sessions" "$ERR" "wrong shape message"
start_fake p --mode split
run -s "$T/p.sock" stats
assert_eq 0 "$RC" "answer in pieces exit ($ERR)"
assert_file_match '^  requests_total +1200$' "$T/out" "answer in pieces"
start_fake e --empty
run -s "$T/e.sock" sessions
assert_eq "no sessions" "$OUT" "empty sessions"
run -s "$T/e.sock" tunnels
assert_eq "no tunnels" "$OUT" "empty tunnels"

# --- cannot connect
run -s "$T/missing.sock" status
assert_eq 2 "$RC" "missing socket exit"
assert_eq "h2gatectl: cannot connect to $T/missing.sock: No such file or directory (is h2gate running? see control.socket in h2gate.yaml)" \
	"$ERR" "missing socket message"
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/dead.sock"
run -s "$T/dead.sock" status
assert_eq 2 "$RC" "refused socket exit"
assert_match "cannot connect to $T/dead.sock: Connection refused \(is h2gate running" "$ERR" "refused socket message"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$T/f.sock" status >"$T/out" 2>"$T/err"
	RC=$?
	chmod 700 "$T"
	if [ $RC -eq 126 ] || [ $RC -eq 127 ]; then
		log "cannot run h2gatectl as nobody (rc $RC): permission test skipped"
	else
		assert_eq 2 "$RC" "permission denied exit"
		assert_match "cannot connect to $T/f.sock: Permission denied \(the socket is mode 0600" "$(cat "$T/err")" "permission denied message"
		log "permission denied: $(cat "$T/err")"
	fi
elif [ "$(id -u)" != 0 ]; then
	"$PY" -c 'import socket,sys,os; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); os.chmod(sys.argv[1], 0)' "$T/perm.sock"
	run -s "$T/perm.sock" status
	assert_eq 2 "$RC" "permission denied exit"
	assert_match "Permission denied \(the socket is mode 0600" "$ERR" "permission denied message"
fi

# --- H2GATE_CONTROL, usage errors
H2GATE_CONTROL=$T/f.sock "$CTL" status >/dev/null 2>&1 || fail "H2GATE_CONTROL not used"
H2GATE_CONTROL=$T/missing.sock "$CTL" -s "$T/f.sock" status >/dev/null 2>&1 || fail "-s does not override H2GATE_CONTROL"
run -s "$T/f.sock" frobnicate
assert_eq 2 "$RC" "unknown command exit"
assert_match "unknown command 'frobnicate'" "$ERR" "unknown command message"
run -s "$T/f.sock" session
assert_eq 2 "$RC" "missing argument exit"
assert_match "usage: h2gatectl session ID" "$ERR" "missing argument message"
run -s "$T/f.sock" status extra
assert_eq 2 "$RC" "extra argument exit"
run -s "$T/f.sock" status --h2c
assert_eq 2 "$RC" "probe option on status exit"
run
assert_eq 2 "$RC" "no command exit"
run --help
assert_eq 0 "$RC" "--help exit"
assert_match "probe URL" "$OUT" "--help lists probe"
run -V
assert_eq 0 "$RC" "-V exit"
assert_match '^h2gatectl [0-9]+\.[0-9]+' "$OUT" "-V output"
pass
