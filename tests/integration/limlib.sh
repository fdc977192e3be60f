# Helpers for the limit / timeout / defence / conformance tests (2NN-*.sh).
# Sourced after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/limlib.sh"

need h2 curl

ATTACK=$BACKENDS/h2attack.py

# ASan keeps freed memory in a quarantine (256 MiB by default), which would
# show up as VmRSS growth under alloc/free churn: keep it small so the
# "memory stays bounded" checks measure the daemon, not the sanitizer.
if case "$H2GATE" in *asan*|*ASAN*) true;; *) ldd "$H2GATE" 2>/dev/null | grep -q libasan;; esac; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4"
	RSS_MAX_KB=$((3 * 16384))
fi
RSS_MAX_KB=${RSS_MAX_KB:-16384}

# h2_config PORT UPSTREAM_PORT [PROTOCOLS]: config_common + one cleartext
# listener + every path to the upstream; append limits:/timeouts: after it.
h2_config() {
	config_common
	cat <<EOF
listen:
  - address: "127.0.0.1:$1"
    protocols: [${3:-h2}]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$2"
EOF
}

# start_raw NAME [ARGS...]: the raw (broken) upstream; sets RPORT, RLOG.
start_raw() {
	local name=$1 port pid rc
	shift
	port=$(free_port)
	"$PY" "$BACKENDS/rawbackend.py" --port "$port" --log "$T/raw-$name.log" "$@" >"$T/raw-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	if [ "${1:-}" = --blackhole ]; then
		wait_until 5 grep -q READY "$T/raw-$name.out" || fail "blackhole $name did not start"
	else
		wait_port "$port" "$pid"
		rc=$?
		[ $rc -eq 0 ] || fail "raw backend $name did not start (rc=$rc): $(cat "$T/raw-$name.out")"
	fi
	RPORT=$port
	RLOG=$T/raw-$name.log
}

# raw_all_closed: every connection the raw upstream ($RLOG) accepted has
# ended (waits up to 10 s): h2gate kept no upstream connection of a
# request it gave up.
raw_all_closed() {
	local opened closed
	wait_until 10 eval '[ "$(grep -c "^OPEN " "$RLOG")" -gt 0 ] && [ "$(grep -c "^OPEN " "$RLOG")" = "$(grep -c "^CLOSE " "$RLOG")" ]'
	opened=$(grep -c '^OPEN ' "$RLOG")
	closed=$(grep -c '^CLOSE ' "$RLOG")
	[ "$opened" -gt 0 ] || fail "${1:-}: the request never reached the upstream"
	assert_eq "$opened" "$closed" "${1:-}: upstream connections closed (of $opened opened)"
}

# atk SCENARIO OUT [ARGS...]: run h2attack.py against $P (and $H2G_PID);
# the JSON result goes to $T/OUT.json (also logged); J is that path.
atk() {
	local sc=$1 out=$2
	shift 2
	J=$T/$out.json
	"$PY" "$ATTACK" "$sc" --port "${ATK_PORT:-$P}" --pid "${H2G_PID:-0}" "$@" >"$J" 2>"$T/$out.err" ||
		fail "h2attack $sc crashed: $(tail -n 5 "$T/$out.err")"
	log "$out: $(head -c 1500 "$J")"
}

# j EXPR: json_get on the last atk result.
j() { json_get "$1" "$J"; }

# legit_curl [PATH]: a well-formed h2 GET on a new connection must get 200.
legit_curl() {
	local code
	code=$("${CURL[@]}" --max-time 15 --http2-prior-knowledge -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$P${1:-/size/10}" 2>"$T/legit.err")
	assert_eq 200 "$code" "legitimate client on another connection (curl: $(cat "$T/legit.err"))"
}

# assert_defended WHAT: after a defence scenario: the legitimate request
# made during the attack got 200, VmRSS grew < 16 MiB, the daemon is alive
# and serves curl afterwards.
assert_defended() {
	assert_eq 200 "$(j 'd["legit"]')" "$1: legitimate request during the attack ($(j 'd.get("legit_error")'))"
	local g
	g=$(j 'd["rss_growth_kb"]')
	[ "$g" -lt "$RSS_MAX_KB" ] || fail "$1: daemon VmRSS grew by $g KiB (limit $RSS_MAX_KB KiB)"
	kill -0 "$H2G_PID" 2>/dev/null || fail "$1: the daemon died"
	legit_curl
}

# conformance GROUP: the whole RFC 9113 conformance test for one group of
# h2attack.py cases (fresh backend and daemon, every case on its own
# connection, then a legitimate request); passes with the case count.
conformance() {
	local bad n
	start_backend b1
	P=$(free_port)
	write_config <<EOF2
$(h2_config "$P" "$BPORT")
timeouts:
  idle: 30s
EOF2
	start_h2gate "$P"
	atk conformance c -p "group=$1"
	bad=$(j '"; ".join("%s: expected %s, got %s" % (k, v["expected"], v["got"]) for k, v in sorted(d.items()) if not v["ok"])')
	n=$(j 'len(d)')
	log "$n cases, failures: ${bad:-none}"
	[ -z "$bad" ] || fail "$bad"
	legit_curl
	stop_h2gate
	pass "$n cases"
}

# wait_gone PID SECS: true once PID has exited.
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
