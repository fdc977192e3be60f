#!/bin/sh
# h2gatectl drain without exit, and resume, on 2 workers: with an h2
# request and an HTTP/1.1 request in flight (/slow), drain closes every
# worker's listening sockets (a TCP connect is refused), the h2 session
# gets GOAWAY (NO_ERROR, last stream id 1) and its request completes with
# 200, the HTTP/1.1 response says Connection: close, the process stays up
# and status says "draining"; a reload while drained (adding a listener)
# keeps it drained (neither port accepts); resume listens on every
# address of the running configuration again (both serve), status says
# "serving"; drain --exit (h2gatectl when built, else the control
# socket) exits 0.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl h2

start_backend A
P=$(free_port)
P2=$(free_port)
conf() { # EXTRA_LISTENER
	cat <<EOF2
$(WORKERS=2 config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
$1
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
timeouts:
  shutdown: 20s
EOF2
}
conf "" | write_config
start_h2gate "$P"
SLOW=$((H2G_WAIT * 300))
state() { jget 'd["result"]["state"]' "$(ctl status)"; }
assert_eq serving "$(state)" "state before the drain"
assert_eq 2 "$(jget 'd["result"]["workers"]' "$(ctl status)")" "workers"

# --- drain with an h2 and an HTTP/1.1 request in flight ---------------------
start_h2hold d1 --port "$P" --max 60 "get:/slow?ms=$SLOW"
"${CURL[@]}" --http1.1 -D "$T/h1.head" -o "$T/h1.body" "http://127.0.0.1:$P/slow?ms=$((SLOW + 1))" 2>"$T/h1.err" &
c1=$!
wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$SLOW " "$T/backend-A.log" || fail "d1: /slow not in flight"
wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$((SLOW + 1)) " "$T/backend-A.log" || fail "h1: /slow not in flight"
rep=$(ctl drain) || fail "drain: $rep"
assert_eq "true draining" "$(jget '"%s %s" % (str(d["result"]["draining"]).lower(), d["result"]["state"])' "$rep")" "drain reply"
# every worker's socket is closed: a connect is refused (20 tries, so
# that SO_REUSEPORT would have spread them over both workers)
wait_until "$H2G_WAIT" eval '! port_open "$P"' || fail "still accepting on :$P after drain"
for i in $(seq 1 20); do
	port_open "$P" && fail "a connect to :$P succeeded while drained (try $i)"
done
grep -q '"ev": "end"' "$T/hold-d1.out" && fail "d1's request ended before the drain took effect (raise SLOW)"
done=$(hold_done d1)
log "d1: $done"
assert_eq "200 slow $SLOW" "$(jget '"%s %s" % (d["results"][0]["status"], d["results"][0]["body"].strip())' "$done")" "h2 request in flight across the drain"
assert_eq "0 1" "$(jget '"%s %s" % (d["goaway"]["code"], d["goaway"]["last_stream_id"])' "$done")" "GOAWAY NO_ERROR with the real last stream id"
wait $c1 || fail "HTTP/1.1 request in flight failed: $(cat "$T/h1.err")"
assert_file_match '^HTTP/1.1 200' "$T/h1.head" "HTTP/1.1 request in flight: status"
assert_file_match '^[Cc]onnection: close' "$T/h1.head" "HTTP/1.1 request in flight: Connection: close"
kill -0 "$H2G_PID" 2>/dev/null || fail "h2gate exited after drain (without --exit)"
assert_eq draining "$(state)" "state while drained"
assert_eq true "$(jget 'd["result"]["draining"]' "$(ctl status)")" "status draining"
port_open "$P" && fail "accepting on :$P after the drained sessions ended"
assert_file_match 'drained: listeners closed' "$T/h2gate.err" "drain log line"
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$CTLBIN" ]; then
	out=$("$CTLBIN" -s "$CTL_SOCK" status 2>&1) || fail "h2gatectl status: $out"
	printf '%s\n' "$out" | grep -Eq '^state: +draining$' || fail "h2gatectl status while drained: $out"
fi

# --- a reload while drained stays drained ---------------------------------------
conf "  - address: \"127.0.0.1:$P2\"
    protocols: [h2, http/1.1]" | write_config
rep=$(ctl reload) || fail "reload while drained: $rep"
sleep 0.3
port_open "$P" && fail "accepting on :$P after a reload while drained"
port_open "$P2" && fail "accepting on the new :$P2 after a reload while drained"
assert_eq draining "$(state)" "state after a reload while drained"
kill -0 "$H2G_PID" 2>/dev/null || fail "h2gate exited after a reload while drained"

# --- resume: every address of the running configuration serves ----------------
rep=$(ctl resume) || fail "resume: $rep"
assert_eq serving "$(jget 'd["result"]["state"]' "$rep")" "resume reply"
wait_port "$P" "$H2G_PID" || fail ":$P does not accept after resume"
wait_port "$P2" "$H2G_PID" || fail ":$P2 does not accept after resume"
for i in $(seq 1 10); do
	for port in "$P" "$P2"; do
		out=$("${CURL[@]}" --http2-prior-knowledge "http://127.0.0.1:$port/size/3" 2>&1) ||
			fail "request $i on :$port after resume: $out"
	done
done
assert_eq serving "$(state)" "state after resume"
assert_eq false "$(jget 'd["result"]["draining"]' "$(ctl status)")" "status not draining after resume"
rep=$(ctl resume) || fail "a second resume: $rep"

# --- drain --exit: exit 0 ----------------------------------------------------------
if [ -x "$CTLBIN" ]; then
	out=$("$CTLBIN" -s "$CTL_SOCK" drain --exit 2>&1) || fail "h2gatectl drain --exit: $out"
	assert_match '^stopping' "$out" "h2gatectl drain --exit output"
else
	rep=$(ctl '{"cmd":"drain","exit":true}') || fail "drain exit: $rep"
fi
wait_h2gate_exit
assert_file_match 'h2gatectl drain --exit: graceful shutdown' "$T/h2gate.err" "drain --exit log line"
pass
