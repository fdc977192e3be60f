# Helpers for the tunnel / WebSocket integration tests (1NN-*.sh), sourced
# after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/tunlib.sh"

# start_tcp NAME MODE [ARGS...]: tests/integration/backends/tcpserver.py in
# MODE (echo, first, reset, source, sink, hold) on a free port (or the host
# given by --host ::1).  Sets TPORT_NAME; its connection log is
# $T/tcp-NAME.log ("ACCEPT n ..." per connection; connection 1 is the
# readiness probe of wait_port).
start_tcp() {
	local name=$1 mode=$2 port pid host=127.0.0.1 a
	shift 2
	for a in "$@"; do case "$a" in ::1) host=::1;; esac; done
	port=$(free_port)
	"$PY" "$BACKENDS/tcpserver.py" --port "$port" --mode "$mode" --log "$T/tcp-$name.log" \
		"$@" >"$T/tcp-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	if [ "$host" = ::1 ]; then
		wait_until "$H2G_WAIT" grep -q READY "$T/tcp-$name.out" ||
			fail "tcpserver $name did not start: $(cat "$T/tcp-$name.out")"
	else
		wait_port "$port" "$pid" || fail "tcpserver $name did not start: $(cat "$T/tcp-$name.out")"
	fi
	eval "TPORT_$name=$port"
}

# tcp_accepts NAME: connections the tcpserver NAME accepted so far.
tcp_accepts() {
	grep -c '^ACCEPT ' "$T/tcp-$1.log" 2>/dev/null || echo 0
}

# start_ws NAME [ARGS...]: tests/integration/backends/wsecho.py (WebSocket
# echo, subprotocol "chat") on a free port.  Sets WSPORT_NAME; it logs each
# handshake to $T/ws-NAME.log.
start_ws() {
	local name=$1 port pid
	shift
	port=$(free_port)
	"$PY" "$BACKENDS/wsecho.py" --port "$port" --log "$T/ws-$name.log" "$@" >"$T/ws-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_until "$H2G_WAIT" grep -q READY "$T/ws-$name.out" ||
		fail "wsecho $name did not start: $(cat "$T/ws-$name.out")"
	eval "WSPORT_$name=$port"
}

# h2tun ARGS...: the node http2 tunnel client (backends/h2tunnel.js).
h2tun() {
	node "$BACKENDS/h2tunnel.js" "$@"
}

# vmrss_kb PID: resident set size of PID in KiB.
vmrss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"
}
