#!/bin/sh
# README's first command: tools/demo (after its build, `--no-build`) starts
# its backends and h2gate on conf/h2gate.yaml, and every command it prints
# works: h2 and h2c GETs, the Alt-Svc header, h2gatectl probe (ALTSVC and
# ORIGIN frames), a WebSocket over HTTP/2 to the echo backend, a CONNECT
# tunnel connect.allow lists and one it refuses (403), h2gatectl sessions
# and top (a plain snapshot off a terminal), the status page and /metrics
# (with the WebSocket route's counters).  A printed command this test does not know fails it.
# The demo's fixed ports (8080 8443 9000 9001 9090) would collide with
# tests running in parallel: free ports are given through DEMO_PORTS, and
# the demo runs on a copy of conf/h2gate.yaml with them substituted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl node openssl
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"

PHTTP=$(free_port)
PHTTPS=$(free_port)
PWEB=$(free_port)
PWS=$(free_port)
PMET=$(free_port)
DEMO_DIR=$T/demo DEMO_SOCK=$T/ctl.sock DEMO_PORTS="$PHTTP $PHTTPS $PWEB $PWS $PMET" \
	"$TOP_SRCDIR/tools/demo" --no-build >"$T/demo.out" 2>&1 &
DEMO_PID=$!
_PIDS+=("$DEMO_PID")
tried() { grep -q 'sessions$' "$T/demo.out" || { kill -0 "$DEMO_PID" 2>/dev/null || return 2; return 1; }; }
wait_until $((H2G_WAIT * 4)) tried || fail "tools/demo printed no examples: $(cat "$T/demo.out")"

# the copy is conf/h2gate.yaml with only the ports (and paths) substituted
C=$T/demo/h2gate.yaml
assert_eq "$(grep -c . "$TOP_SRCDIR/conf/h2gate.yaml")" "$(grep -c . "$C")" "lines of the demo's config copy"
left=$(grep -v '^ *#' "$C" | grep -E ':(8080|8443|9000|9001|9090)([^0-9]|$)' || true)
assert_eq "" "$left" "default ports left in the demo's config copy"
"$H2GATE" -t -c "$C" >"$T/check.out" 2>&1 || fail "h2gate -t on the demo config: $(cat "$T/check.out")"

n=0
seen=
while IFS= read -r cmd; do
	n=$((n + 1))
	out=$(cd "$TOP_SRCDIR" && timeout 30 bash -c "$cmd" 2>&1 </dev/null)
	rc=$?
	log "\$ $cmd"
	log "$(printf '%s\n' "$out" | head -n 40)"
	case "$cmd" in
	"curl -sSk -w "*" https://127.0.0.1:$PHTTPS/" | "curl -sS --http2-prior-knowledge -w "*" http://127.0.0.1:$PHTTP/")
		assert_eq 0 "$rc" "$cmd: exit status"
		assert_match '^Hello from the h2gate demo backend' "$out" "$cmd: body"
		assert_match 'HTTP/2$' "$out" "$cmd: HTTP version"
		seen="$seen get";;
	*" -sI --http1.1 "*"alt-svc"*)
		assert_match "h2=\":$PHTTPS\"; ma=3600" "$out" "$cmd: Alt-Svc"
		seen="$seen altsvc";;
	*"h2gatectl probe --insecure https://127.0.0.1:$PHTTPS/")
		assert_eq 0 "$rc" "$cmd: exit status"
		assert_match 'alpn: +h2' "$out" "$cmd: ALPN"
		assert_match "https://localhost:$PHTTPS: h2=\":$PHTTPS\"; ma=3600" "$out" "$cmd: ALTSVC frame"
		assert_match "origin: +https://localhost:$PHTTPS https://127.0.0.1:$PHTTPS" "$out" "$cmd: ORIGIN frame"
		assert_match ':status: 200' "$out" "$cmd: GET"
		seen="$seen probe";;
	"node "*"h2tunnel.js ws https://127.0.0.1:$PHTTPS /ws")
		assert_eq 0 "$rc" "$cmd: exit status"
		printf '%s\n' "$out" >"$T/ws.json"
		assert_eq True "$(json_get 'd["enableConnectProtocol"]' "$T/ws.json")" "$cmd: SETTINGS_ENABLE_CONNECT_PROTOCOL"
		assert_eq 200 "$(json_get 'd["status"]' "$T/ws.json")" "$cmd: extended CONNECT status"
		assert_eq "hello über h2gate" "$(json_get 'd["text_echo"]' "$T/ws.json")" "$cmd: text echo"
		assert_eq True "$(json_get 'd["binary_ok"]' "$T/ws.json")" "$cmd: binary echo"
		assert_eq 1000 "$(json_get 'd["close_code"]' "$T/ws.json")" "$cmd: close"
		seen="$seen ws";;
	"curl -sS -p -x http://127.0.0.1:$PHTTP http://127.0.0.1:$PWEB/")
		assert_eq 0 "$rc" "$cmd: exit status"
		assert_match '^Hello from the h2gate demo backend' "$out" "$cmd: body through the tunnel"
		seen="$seen connect";;
	"curl -sS -p -x http://127.0.0.1:$PHTTP http://127.0.0.1:$PWS/")
		assert_eq 56 "$rc" "$cmd: exit status"
		assert_match 'CONNECT tunnel failed, response 403' "$out" "$cmd: refused"
		seen="$seen refused";;
	*"h2gatectl -s $T/ctl.sock sessions")
		assert_eq 0 "$rc" "$cmd: exit status"
		seen="$seen sessions";;
	*"h2gatectl -s $T/ctl.sock top")
		# not a terminal here: one plain snapshot
		assert_eq 0 "$rc" "$cmd: exit status"
		assert_match '^h2gate [0-9.]+ +up .* serving' "$out" "$cmd: header"
		assert_match 'sort: bytes' "$out" "$cmd: sort"
		assert_no_match $'\e' "$out" "$cmd: no escape codes off a terminal"
		seen="$seen top";;
	"curl -s http://127.0.0.1:$PMET/ | grep -m1 -o '<title>[^<]*</title>'")
		assert_eq "<title>h2gate status</title>" "$out" "$cmd: the status page"
		seen="$seen page";;
	"curl -s http://127.0.0.1:$PMET/metrics | grep '^h2gate_.*_total'")
		assert_match 'h2gate_requests_total [1-9]' "$out" "$cmd: metrics"
		assert_match 'h2gate_tunnels_total [1-9]' "$out" "$cmd: tunnels counted"
		assert_match 'h2gate_route_requests_total\{origin="localhost",route="/ws"\} [1-9]' "$out" "$cmd: the WebSocket route's requests"
		seen="$seen metrics";;
	*) fail "tools/demo prints an example this test does not check: $cmd";;
	esac
done < <(sed -n 's/^  \([^ #].*\)$/\1/p' "$T/demo.out")
assert_eq " get get altsvc probe ws connect refused sessions top page metrics" "$seen" "examples checked"

# README lists the same commands (with the demo's default ports and paths)
CTL=$(dirname "$H2GATE")/h2gatectl
CTL=${CTL#"$TOP_SRCDIR"/}
sed -n '/^runs, it prints these commands/,/^Run the whole test suite/s/^    \(.*[^ ]\)/\1/p' "$TOP_SRCDIR/README.md" |
	sed -e 's/  *# .*$//' -e "s/:8080\([^0-9]\)/:$PHTTP\1/g" -e "s/:8443\([^0-9]\)/:$PHTTPS\1/g" \
		-e "s/:9000\([^0-9]\)/:$PWEB\1/g" -e "s/:9001\([^0-9]\)/:$PWS\1/g" -e "s/:9090\([^0-9]\)/:$PMET\1/g" \
		-e "s|build/src/h2gatectl|$CTL|" -e "s|/tmp/h2gate-demo.sock|$T/ctl.sock|" >"$T/readme.cmds"
assert_eq 11 "$(grep -c . "$T/readme.cmds")" "commands README lists for the demo"
while IFS= read -r cmd; do
	grep -qxF "  $cmd" "$T/demo.out" || fail "README lists a command tools/demo does not print: $cmd"
done <"$T/readme.cmds"

# the WebSocket and the tunnels are in the access log (h2gate's stdout)
assert_file_match 'proto=h2 .*method=CONNECT path="/ws" status=200 .*upstream=127\.0\.0\.1:'"$PWS" "$T/demo.out" "WebSocket in the access log"
assert_file_match "method=CONNECT .*status=403 .*upstream=127\.0\.0\.1:$PWS" "$T/demo.out" "refused CONNECT in the access log"

# SIGTERM (as Ctrl-C) stops h2gate and both backends
kill -TERM "$DEMO_PID"
wait_until $((H2G_WAIT * 2)) eval '! kill -0 "$DEMO_PID" 2>/dev/null' || fail "tools/demo did not exit after SIGTERM"
for p in "$PHTTP" "$PHTTPS" "$PWEB" "$PWS" "$PMET"; do
	wait_until 5 eval '! port_open "$p"' || fail "port $p still open after tools/demo exited"
done
assert_file_match '\[info\] stopped' "$T/demo.out" "h2gate stopped"
pass
