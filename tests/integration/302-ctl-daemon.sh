#!/bin/sh
# h2gatectl against the real daemon: status (pid, config file,
# listeners), sessions and session ID while an h2c and a TLS request are
# in flight, tunnels while a CONNECT tunnel is open, stats, config (every
# key, defaults in bytes and ms), check (diff; errors with
# file:line:col), reload of a bad file (exit 1, the running
# configuration stays) and of a good one (a new listener serves), drain
# --exit (the daemon exits 0), then "cannot connect".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"
SOCK=$T/ctl.sock
run() {
	"$CTL" -s "$SOCK" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

make_certs
start_backend b1
PT=$(free_port)
PC=$(free_port)
PN=$(free_port)
HP=$(free_port)
"$PY" "$BACKENDS/tcpserver.py" --port "$HP" --mode hold --log "$T/hold.log" >"$T/hold.out" 2>&1 &
_PIDS+=("$!")
wait_port "$HP" || fail "tcpserver hold did not start"

# conf_body EXTRA_LIMITS EXTRA_LISTENER EXTRA_ORIGIN
conf_body() {
	cat <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PC"
    protocols: [h2, http/1.1]
$2
origins:
  - hosts: ["a.test", "localhost", "127.0.0.1"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
$3
connect:
  allow: ["127.0.0.1:$HP"]
timeouts:
  shutdown: 5s
  tunnel_idle: 60s
$1
EOF2
}
conf_body "" "" "" | write_config
start_h2gate "$PT" "$PC"
wait_until "$H2G_WAIT" test -S "$SOCK" || fail "control socket $SOCK never appeared"
assert_eq 600 "$(stat -c %a "$SOCK")" "control socket mode"

# --- status
run --json status
assert_eq 0 "$RC" "status exit ($ERR)"
assert_eq "$H2G_PID" "$(json_get 'd["pid"]' "$T/out")" "status pid"
assert_eq "$CONF" "$(json_get 'd["config_file"]' "$T/out")" "status config_file"
assert_eq "$(sha256sum "$CONF" | cut -d' ' -f1)" "$(json_get 'd["config_sha256"]' "$T/out")" "status config_sha256"
assert_eq 1 "$(json_get 'd["workers"]' "$T/out")" "status workers"
assert_eq "[\"127.0.0.1:$PT\", \"127.0.0.1:$PC\"]" "$(json_get '[l["address"] for l in d["listeners"]]' "$T/out")" "status listeners"
assert_eq "[true, false]" "$(json_get '[l["tls"] for l in d["listeners"]]' "$T/out")" "status listeners tls"
assert_eq none "$(json_get 'd["last_reload"]' "$T/out")" "last_reload before any reload"
assert_eq False "$(json_get 'd["draining"]' "$T/out")" "not draining"
run status
assert_eq 0 "$RC" "status (text) exit"
assert_file_match "^pid: +$H2G_PID\$" "$T/out" "status text pid"
assert_file_match "^listeners: +127\.0\.0\.1:$PT  tls  h2,http/1\.1\$" "$T/out" "status text listener"

# --- sessions with requests in flight
nghttp "http://127.0.0.1:$PC/slow?ms=4000" >"$T/nghttp.out" 2>&1 &
n1=$!
"${CURL[@]}" -k --http2 --resolve "a.test:$PT:127.0.0.1" "https://a.test:$PT/slow?ms=4001" >"$T/curl.out" 2>&1 &
n2=$!
wait_until "$H2G_WAIT" grep -q 'REQ GET /slow?ms=4000 ' "$BLOG" || fail "h2c request never reached the upstream"
wait_until "$H2G_WAIT" grep -q 'REQ GET /slow?ms=4001 ' "$BLOG" || fail "TLS request never reached the upstream"
run --json sessions
assert_eq 0 "$RC" "sessions exit ($ERR)"
log "sessions: $(tr -d ' \n' <"$T/out")"
assert_eq 1 "$(json_get 'len([s for s in d if s["alpn"] == "h2c"])' "$T/out")" "one h2c session"
assert_eq 1 "$(json_get 'len([s for s in d if s["alpn"] == "h2"])' "$T/out")" "one TLS h2 session"
assert_eq "TLSv1.3 a.test 1" "$(json_get '" ".join(str(x) for s in d if s["alpn"] == "h2" for x in (s["tls_version"], s["sni"], s["streams_open"]))' "$T/out")" "TLS session fields"
assert_eq "None None" "$(json_get '" ".join(str(x) for s in d if s["alpn"] == "h2c" for x in (s["tls_version"], s["sni"]))' "$T/out")" "h2c session has no TLS"
SID=$(json_get '[s["id"] for s in d if s["alpn"] == "h2c"][0]' "$T/out")
run sessions
assert_eq 0 "$RC" "sessions (text) exit"
assert_match '^ *ID +WORKER +PEER +ALPN' "$(head -n 1 "$T/out")" "sessions header"
assert_file_match "^ *$SID +0 +127\.0\.0\.1:[0-9]+ +h2c +- +- " "$T/out" "h2c session row"
run --json session "$SID"
assert_eq 0 "$RC" "session $SID exit ($ERR)"
assert_eq "GET /slow?ms=4000 127.0.0.1:$BPORT" "$(json_get '" ".join(str(x) for x in (d["streams"][0]["method"], d["streams"][0]["path"], d["streams"][0]["upstream"]))' "$T/out")" "the in-flight stream"
run session "$SID"
assert_file_match "^ +[0-9]+ +GET +127\.0\.0\.1:$PC +/slow\?ms=4000 +[a-z-]+ +127\.0\.0\.1:$BPORT " "$T/out" "stream row in session $SID"
run session 987654
assert_eq 1 "$RC" "unknown session exit"
assert_eq "h2gatectl: session 987654: no such session" "$ERR" "unknown session message"

# --- tunnels (node's http2 client holds a CONNECT tunnel open)
if command -v node >/dev/null 2>&1; then
	node "$BACKENDS/h2tunnel.js" idle "http://127.0.0.1:$PC" "127.0.0.1:$HP" >"$T/tun.out" 2>&1 &
	tpid=$!
	_PIDS+=("$tpid")
	wait_until "$H2G_WAIT" grep -q '^ACCEPT' "$T/hold.log" || fail "the tunnel never reached the target"
	# the target accepts a moment before h2gate marks the tunnel open
	has_tunnel() { run --json tunnels && [ "$(json_get 'len(d)' "$T/out")" -ge 1 ]; }
	wait_until "$H2G_WAIT" has_tunnel
	assert_eq 0 "$RC" "tunnels exit ($ERR)"
	log "tunnels: $(tr -d ' \n' <"$T/out")"
	assert_eq "connect 127.0.0.1:$HP" "$(json_get '" ".join((d[0]["kind"], d[0]["target"]))' "$T/out")" "the tunnel"
	run tunnels
	assert_file_match "^ +[0-9]+ +1 +connect +127\.0\.0\.1:$HP +" "$T/out" "tunnel row"
	kill "$tpid" 2>/dev/null
else
	log "node not installed: tunnels not exercised"
fi
wait $n1 || fail "nghttp failed: $(tail -5 "$T/nghttp.out")"
wait $n2 || fail "curl failed: $(tail -5 "$T/curl.out")"

# --- stats
for i in 1 2 3; do "${CURL[@]}" -o /dev/null "http://127.0.0.1:$PC/size/10" || fail "request $i"; done
"${CURL[@]}" -o /dev/null "http://127.0.0.1:$PC/status/503" || fail "503 request"
run --json stats
assert_eq 0 "$RC" "stats exit ($ERR)"
log "stats: $(tr -d ' \n' <"$T/out")"
c=$(json_get 'd["counters"]["requests_total"]' "$T/out")
[ "$c" -ge 6 ] || fail "requests_total $c < 6"
c=$(json_get 'd["counters"]["responses"]["2xx"]' "$T/out")
[ "$c" -ge 5 ] || fail "responses 2xx $c < 5"
c=$(json_get 'd["counters"]["responses"]["5xx"]' "$T/out")
[ "$c" -ge 1 ] || fail "responses 5xx $c < 1"
assert_eq '+Inf' "$(json_get 'd["histograms"]["request_duration_seconds"]["buckets"][-1][0]' "$T/out")" "last bucket"
run stats
assert_file_match '^  responses +1xx [0-9]+  2xx [0-9]+  3xx [0-9]+  4xx [0-9]+  5xx [0-9]+' "$T/out" "stats responses line"
assert_file_match '^  request_duration_seconds: count [0-9]+' "$T/out" "stats histogram line"

# --- config: every key, defaults filled in
run --json config
assert_eq 0 "$RC" "config exit ($ERR)"
assert_eq '["connect", "control", "limits", "listen", "log", "metrics", "origin_set", "origins", "timeouts", "user", "workers"]' \
	"$(json_get 'sorted(d.keys())' "$T/out")" "config top-level keys"
assert_eq 20 "$(json_get 'len(d["limits"])' "$T/out")" "config limits keys (the contract's 19 and tunnel_pipe_size)"
assert_eq 7 "$(json_get 'len(d["timeouts"])' "$T/out")" "config timeouts keys"
assert_eq "128 1048576 16777216" "$(json_get '" ".join(str(d["limits"][k]) for k in ("max_concurrent_streams", "initial_window_size", "connection_window_size"))' "$T/out")" "limit defaults in bytes"
assert_eq "120000 5000" "$(json_get '" ".join(str(d["timeouts"][k]) for k in ("idle", "shutdown"))' "$T/out")" "timeouts in ms"
run config
assert_eq 0 "$RC" "config (text) exit"
assert_file_match '^  idle: 120000ms$' "$T/out" "config YAML durations"
cp "$T/out" "$T/effective.yaml"
out=$("$H2GATE" -t -c "$T/effective.yaml" 2>&1) || fail "the config output does not load back: $out"

# --- check: a valid file with changes, then an invalid one
conf_body "limits:
  max_concurrent_streams: 256" "  - address: \"127.0.0.1:$PN\"
    protocols: [h2]" "  - hosts: [\"b.test\"]
    routes:
      - path: /b
        upstream: \"http://127.0.0.1:$BPORT\"" >"$T/next.yaml"
run check "$T/next.yaml"
assert_eq 0 "$RC" "check next.yaml exit ($ERR)"
log "check: $OUT"
assert_file_match "^$T/next\.yaml: configuration ok\$" "$T/out" "check ok line"
assert_file_match "^  \+ listener 127\.0\.0\.1:$PN\$" "$T/out" "check: added listener"
assert_file_match '^  \+ origin b\.test$' "$T/out" "check: added origin"
assert_file_match '^  ~ limits\.max_concurrent_streams: 128 -> 256$' "$T/out" "check: changed limit"
{ echo "workers: 1"; echo "workerz: 2"; conf_body "" "" "" | sed 1d; } >"$T/bad.yaml"
run check "$T/bad.yaml"
assert_eq 1 "$RC" "check bad.yaml exit"
assert_match "^h2gatectl: $T/bad\.yaml: " "$(sed -n 1p "$T/err")" "check bad: first line"
assert_file_match "^$T/bad\.yaml:2:1: .*workerz" "$T/err" "check bad: file:line:col"

# --- reload: bad file -> exit 1, still serving on the old configuration
cp "$CONF" "$T/good.yaml"
cp "$T/bad.yaml" "$CONF"
run reload
assert_eq 1 "$RC" "bad reload exit"
log "bad reload: $ERR"
assert_file_match "^$CONF:2:1: .*workerz" "$T/err" "bad reload error line"
"${CURL[@]}" -o /dev/null "http://127.0.0.1:$PC/size/10" || fail "not serving after a failed reload"
run --json status
assert_eq failed "$(json_get 'd["last_reload"]' "$T/out")" "last_reload after a failed reload"
cp "$T/next.yaml" "$CONF"
run reload
assert_eq 0 "$RC" "good reload exit ($ERR)"
assert_eq reloaded "$OUT" "good reload output"
wait_port "$PN" || fail "the listener added by the reload does not accept"
code=$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://b.test:$PN/b" --resolve "b.test:$PN:127.0.0.1") ||
	fail "request on the new listener failed"
assert_eq 200 "$code" "new listener and origin serve"
run --json status
assert_eq ok "$(json_get 'd["last_reload"]' "$T/out")" "last_reload after a good reload"
assert_eq 2 "$(json_get 'd["reloads"]' "$T/out")" "reloads counted"
run --json config
assert_eq 256 "$(json_get 'd["limits"]["max_concurrent_streams"]' "$T/out")" "config after reload"

# --- drain --exit: the daemon exits 0
run drain --exit
assert_eq 0 "$RC" "drain exit ($ERR)"
wait_h2gate_exit
run status
assert_eq 2 "$RC" "status after exit"
assert_match "^h2gatectl: cannot connect to $SOCK: .*\(is h2gate running\? see control\.socket in h2gate\.yaml\)\$" "$ERR" "cannot connect message"
pass
