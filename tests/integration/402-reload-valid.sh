#!/bin/sh
# Reload with a valid new file, by SIGHUP and by {"cmd":"reload"} on the
# control socket (and h2gatectl reload when it is built):
#  - new connections use the new file at once: the route's upstream moves
#    from backend A to B (and back);
#  - a listener added answers, a listener removed refuses connections, a
#    listener kept keeps serving;
#  - an h2 session open across the reload is not sent away (no GOAWAY:
#    nothing a client sent may be refused); its in-flight request (/slow,
#    started before the reload) completes with 200 from the OLD backend,
#    and its next request on the same session reaches the NEW backend;
#  - the control reply is {"ok":true,...}; status counts the reloads.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl h2

start_backend A
start_backend B
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
conf() { # UPSTREAM_PORT LISTEN_PORT...
	local up=$1 p
	shift
	config_common
	echo "listen:"
	for p in "$@"; do
		printf '  - address: "127.0.0.1:%s"\n    protocols: [h2, http/1.1]\n' "$p"
	done
	cat <<EOF
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$up"
timeouts:
  shutdown: 20s
EOF
}
conf "$BPORT_A" "$P1" "$P2" | write_config
start_h2gate "$P1" "$P2"
# The /slow requests must outlast the reload (checked, not assumed).
S1=$((H2G_WAIT * 250))
S2=$((S1 + 1))

assert_eq A "$(backend_of "http://127.0.0.1:$P1/a1")" "backend on :P1 before the reload"
assert_eq A "$(backend_of "http://127.0.0.1:$P2/a2")" "backend on :P2 before the reload"
assert_eq ERR7 "$(backend_of "http://127.0.0.1:$P3/a3")" ":P3 before the reload (connection refused)"

# in_flight NAME PORT MS: an h2 session with /slow?ms=MS in flight at A.
in_flight() {
	start_h2hold "$1" --port "$2" --max 60 --later "/after-$1" --later-when "$T/later-$1" "get:/slow?ms=$3"
	wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$3 " "$T/backend-A.log" ||
		fail "session $1: /slow?ms=$3 never reached backend A"
}
# check_old_session NAME MS BACKEND NEWBACKEND: no GOAWAY, the slow
# request ended with 200 from the OLD backend, the request sent on the
# same session after the reload was answered by the NEW one.
check_old_session() {
	local done
	touch "$T/later-$1"
	done=$(hold_done "$1")
	log "session $1: $done"
	assert_eq null "$(jget 'd["goaway"]' "$done")" "session $1: GOAWAY after the reload"
	grep -q '"op": "get:/after-'"$1"'", "status": 200, "backend": "'"$4"'"' "$T/hold-$1.out" ||
		fail "session $1: the next request on the same session after the reload did not get 200 from the new backend $4: $(cat "$T/hold-$1.out")"
	assert_eq "200 slow $2 True" "$(jget '"%s %s %s" % (d["results"][0]["status"], d["results"][0]["body"].strip(), d["results"][0]["ended"])' "$done")" \
		"session $1: in-flight request across the reload (status, body, ended)"
	grep -q "\"ev\": \"headers\".*\"backend\": \"$3\"" "$T/hold-$1.out" ||
		fail "session $1: the in-flight request was not answered by the old backend $3: $(cat "$T/hold-$1.out")"
}
not_ended() { ! grep -q '"ev": "end"' "$T/hold-$1.out"; }

# --- 1. SIGHUP: A -> B, listeners P1+P2 -> P1+P3 ---------------------------
in_flight old1 "$P1" "$S1"
conf "$BPORT_B" "$P1" "$P3" | write_config
kill -HUP "$H2G_PID"
wait_err 'configuration reloaded|reload failed' 1 || fail "SIGHUP: no reload logged"
assert_eq 0 "$(err_count 'reload failed')" "reload failures after SIGHUP"
# The workers apply it right after: poll (bounded) for the new upstream.
wait_until "$H2G_WAIT" eval '[ "$(backend_of http://127.0.0.1:$P1/b1)" = B ]' ||
	fail "SIGHUP: new connection on :P1 does not reach B ($(backend_of "http://127.0.0.1:$P1/b1"))"
not_ended old1 || fail "the /slow request ended before the reload was applied (test too fast to prove anything): $(cat "$T/hold-old1.out")"
assert_eq B "$(backend_of "http://127.0.0.1:$P3/b3")" "added listener :P3 after SIGHUP"
assert_eq ERR7 "$(backend_of "http://127.0.0.1:$P2/b2")" "removed listener :P2 after SIGHUP (connection refused)"
if port_open "$P2"; then fail "removed listener :P2 still accepts connections"; fi
for i in 1 2 3; do
	assert_eq B "$(backend_of "http://127.0.0.1:$P1/h2-$i" --http2-prior-knowledge)" "h2c request $i on a new connection after SIGHUP"
done
check_old_session old1 "$S1" A B

# --- 2. control socket: B -> A, listeners P1+P3 -> P1+P2 -------------------
in_flight_b() { # like in_flight, but the route goes to B now
	start_h2hold "$1" --port "$2" --max 60 --later "/after-$1" --later-when "$T/later-$1" "get:/slow?ms=$3"
	wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$3 " "$T/backend-B.log" ||
		fail "session $1: /slow?ms=$3 never reached backend B"
}
in_flight_b old2 "$P3" "$S2"
conf "$BPORT_A" "$P1" "$P2" | write_config
rep=$(ctl reload) || fail "control reload: $rep"
log "control reload: $rep"
assert_eq true "$(jget 'd["ok"]' "$rep")" "control reload ok"
assert_eq true "$(jget 'd["result"]["reloaded"]' "$rep")" "control reload result"
wait_until "$H2G_WAIT" eval '[ "$(backend_of http://127.0.0.1:$P1/c1)" = A ]' ||
	fail "control reload: new connection on :P1 does not reach A ($(backend_of "http://127.0.0.1:$P1/c1"))"
assert_eq A "$(backend_of "http://127.0.0.1:$P2/c2")" "re-added listener :P2 after the control reload"
assert_eq ERR7 "$(backend_of "http://127.0.0.1:$P3/c3")" "removed listener :P3 after the control reload"
not_ended old2 || fail "the /slow request ended before the reload was applied: $(cat "$T/hold-old2.out")"
check_old_session old2 "$S2" B A

# --- 3. h2gatectl reload (when built): A -> B ------------------------------
nrel=2
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$CTLBIN" ]; then
	conf "$BPORT_B" "$P1" "$P2" | write_config
	out=$("$CTLBIN" -s "$CTL_SOCK" reload 2>&1) || fail "h2gatectl reload failed: $out"
	log "h2gatectl reload: $out"
	wait_until "$H2G_WAIT" eval '[ "$(backend_of http://127.0.0.1:$P2/d2)" = B ]' ||
		fail "h2gatectl reload: new connection on :P2 does not reach B"
	nrel=3
else
	log "h2gatectl not built ($CTLBIN): skipped that part"
fi

st=$(ctl status) || fail "status: $st"
assert_eq "$nrel ok" "$(jget '"%s %s" % (d["result"]["reloads"], d["result"]["last_reload"])' "$st")" "status reloads / last_reload"
assert_eq "$nrel" "$(err_count 'configuration reloaded')" "'configuration reloaded' log lines"
stop_h2gate
pass
