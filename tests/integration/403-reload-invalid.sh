#!/bin/sh
# Reload with an invalid file keeps the running configuration: a YAML
# syntax error, an unknown key and a bad value (each pointing the route at
# another backend, B), by SIGHUP and by {"cmd":"reload"}:
#  - requests are still served by backend A, on the same listener;
#  - h2gate stderr has "reload failed" with FILE:LINE:COL;
#  - the control reply is {"ok":false,"errors":["FILE:LINE:COL: ..."]}
#    with the exact line and column of the fault (h2gatectl reload, when
#    built, exits non-zero and prints it);
#  - a session open across the failed reloads gets no GOAWAY (nor across
#    the valid one: its next request takes the new configuration);
#  - status says last_reload=failed; a valid file afterwards reloads fine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl h2

start_backend A
start_backend B
P=$(free_port)
P2=$(free_port)
good() { # UPSTREAM_PORT
	cat <<EOF
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$1"
EOF
}
good "$BPORT_A" | write_config
start_h2gate "$P"
assert_eq A "$(backend_of "http://127.0.0.1:$P/0")" "backend before any reload"
CONF_REAL=$(readlink -f "$CONF")

# An idle h2 session kept open over the failed reloads.
start_h2hold idle --port "$P" --hold-until "$T/release" --later /after-idle --later-when "$T/later-idle" --max 60 "get:/idle"
wait_until "$H2G_WAIT" grep -q '"ev": "end"' "$T/hold-idle.out" || fail "idle session: no response: $(cat "$T/hold-idle.out")"

# Broken files; the expected LINE:COL is computed from the file written.
bad_syntax() {
	good "$BPORT_B" | sed 's/  - hosts: \["\*"\]/  - hosts: ["*"/'
}
bad_key() {
	good "$BPORT_B"
	printf 'limits:\n  max_concurrent_streamz: 5\n'
}
bad_value() {
	good "$BPORT_B"
	printf 'timeouts:\n  idle: soon\n'
}
n_fail=0
lineof() { grep -n -- "$1" "$CONF" | head -n 1 | cut -d: -f1; }
try_bad() { # NAME LINE-PATTERN LINE-OFFSET COL REGEX
	local name=$1 pos re=$5 before rep errs e
	"bad_$name" | write_config
	pos=$(( $(lineof "$2") + $3 )):$4
	log "--- $name: $(sed -n "${pos%%:*}p" "$CONF")"
	# SIGHUP
	before=$(err_count 'reload failed: the running configuration stays')
	kill -HUP "$H2G_PID"
	wait_err 'reload failed: the running configuration stays' $((before + 1)) ||
		fail "$name: SIGHUP: no 'reload failed' in stderr: $(tail -n 5 "$T/h2gate.err")"
	grep -Eq "reload failed: .*$CONF_REAL:$pos: .*($re)" "$T/h2gate.err" ||
		fail "$name: SIGHUP: stderr has no 'reload failed: $CONF_REAL:$pos: ...$re': $(grep 'reload failed' "$T/h2gate.err" | tail -n 3)"
	assert_eq A "$(backend_of "http://127.0.0.1:$P/$name-hup")" "$name: backend after the failed SIGHUP reload"
	# control socket
	rep=$(ctl reload)
	[ $? -eq 1 ] || fail "$name: control reload: expected ok:false, got: $rep"
	log "$name: control reply: $rep"
	assert_eq false "$(jget 'd["ok"]' "$rep")" "$name: control reply ok"
	errs=$(jget 'd.get("errors")' "$rep")
	assert_match '^\[".+' "$errs" "$name: control reply errors (a non-empty list)"
	e=$(jget 'd["errors"][0]' "$rep")
	assert_match "^$CONF_REAL:$pos: .*($re)" "$e" "$name: first error (FILE:LINE:COL: message)"
	assert_eq A "$(backend_of "http://127.0.0.1:$P/$name-ctl")" "$name: backend after the failed control reload"
	assert_eq A "$(backend_of "http://127.0.0.1:$P/$name-h2" --http2-prior-knowledge)" "$name: h2c backend after the failed reloads"
	n_fail=$((n_fail + 2))
	if [ -x "$CTLBIN" ]; then
		out=$("$CTLBIN" -s "$CTL_SOCK" reload 2>&1)
		[ $? -ne 0 ] || fail "$name: h2gatectl reload exited 0 on a broken file: $out"
		assert_match "$CONF_REAL:$pos" "$out" "$name: h2gatectl reload output"
		n_fail=$((n_fail + 1))
	fi
}
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
# libyaml reports the unclosed flow sequence at the next token (the line
# after it, column 5: "routes").
try_bad syntax 'hosts: \["\*"$' 1 5 'YAML|syntax'
try_bad key 'max_concurrent_streamz' 0 3 "max_concurrent_streamz"
try_bad value 'idle: soon' 0 9 'idle'

st=$(ctl status) || fail "status: $st"
assert_eq "$n_fail failed" "$(jget '"%s %s" % (d["result"]["reloads"], d["result"]["last_reload"])' "$st")" "status reloads / last_reload after the failures"
cfg=$(ctl config) || fail "config: $cfg"
assert_match "127.0.0.1:$BPORT_A" "$cfg" "effective config still routes to A"
assert_no_match "127.0.0.1:$BPORT_B" "$cfg" "effective config after the failed reloads"
assert_no_match '"ev": "goaway"' "$(cat "$T/hold-idle.out")" "idle session after failed reloads (no GOAWAY)"

# The daemon is not wedged: a valid file (B, plus a listener) reloads.
{ good "$BPORT_B"; } | sed "s/^listen:/listen:\n  - address: \"127.0.0.1:$P2\"/" | write_config
rep=$(ctl reload) || fail "valid reload after the failures: $rep"
wait_until "$H2G_WAIT" eval '[ "$(backend_of http://127.0.0.1:$P/good)" = B ]' || fail "valid reload: new requests do not reach B"
assert_eq B "$(backend_of "http://127.0.0.1:$P2/good2")" "listener added by the valid reload"
st=$(ctl status)
assert_eq ok "$(jget 'd["result"]["last_reload"]' "$st")" "last_reload after the valid reload"
# The session open all along is not sent away by the valid reload either;
# its next request takes the new configuration.
touch "$T/later-idle"
wait_until "$H2G_WAIT" grep -q '"op": "get:/after-idle", "status": 200, "backend": "B"' "$T/hold-idle.out" ||
	fail "the session open across the reloads: its next request did not reach B: $(cat "$T/hold-idle.out")"
assert_no_match '"ev": "goaway"' "$(cat "$T/hold-idle.out")" "session open across the valid reload (no GOAWAY)"
touch "$T/release"
stop_h2gate
pass
