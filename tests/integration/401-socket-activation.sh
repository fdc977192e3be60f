#!/bin/sh
# Socket activation with systemd's own systemd-socket-activate (no
# --accept: it passes the listening socket, with LISTEN_PID/LISTEN_FDS/
# LISTEN_FDNAMES=web, and execs h2gate on the first connection).  The
# first connection, made before h2gate even runs, is served; h2gate logs
# "socket activation: 1 socket(s) from systemd"; the only listening socket
# on the port is the inherited one (same inode as fd 3, no second bind,
# even with 2 workers); h2 and HTTP/1.1 requests are served; a SIGHUP
# reload keeps the inherited socket serving; SIGTERM exits 0.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl ss systemd-socket-activate

start_backend A
P=$(free_port)
conf() {
	cat <<EOF
workers: 2
log:
  level: info
  access: $T/access.log
control:
  socket: $T/ctl.sock
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
EOF
}
conf | write_config

systemd-socket-activate -l "127.0.0.1:$P" --fdname=web "$H2GATE" -c "$CONF" \
	>"$T/h2gate.stdout" 2>"$T/h2gate.err" &
H2G_PID=$!
wait_until "$H2G_WAIT" grep -q "Listening on 127.0.0.1:$P" "$T/h2gate.err" ||
	fail "systemd-socket-activate did not listen: $(cat "$T/h2gate.err")"
# Nothing connected yet: still systemd-socket-activate, not h2gate.
exe=$(readlink "/proc/$H2G_PID/exe")
assert_match 'systemd-socket-activate$' "$exe" "executable before the first connection"

# The first connection triggers the exec; it waits in the backlog of the
# inherited socket and must be served by h2gate.
out=$(curl -sS --max-time 15 "http://127.0.0.1:$P/first" 2>&1) || fail "first request (activation): $out"
assert_eq "backend=A path=/first" "$out" "first request through the activated socket"
exe=$(readlink "/proc/$H2G_PID/exe")
assert_eq "$(readlink -f "$H2GATE")" "$(readlink -f "$exe")" "pid $H2G_PID now runs h2gate (exec: LISTEN_PID matches)"
assert_file_match 'socket activation: 1 socket\(s\) from systemd' "$T/h2gate.err" "activation log line"
assert_file_match "listening on 127.0.0.1:$P" "$T/h2gate.err" "listening log line"
assert_file_match "Execing $H2GATE" "$T/h2gate.err" "systemd-socket-activate exec line"

# The one and only listening socket on the port is the inherited fd 3.
fd3=$(readlink "/proc/$H2G_PID/fd/3")
assert_match '^socket:\[[0-9]+\]$' "$fd3" "fd 3 of h2gate"
ino3=$(printf '%s' "$fd3" | tr -dc 0-9)
lst=$(ss -Hltne "sport = :$P")
assert_eq 1 "$(printf '%s\n' "$lst" | grep -c .)" "listening sockets on port $P ($lst)"
assert_match "ino:$ino3( |$)" "$lst" "the listening socket is the inherited one (inode $ino3)"

# h2c and HTTP/1.1, several connections.
for i in 1 2 3; do
	out=$(curl -sS --max-time 10 --http2-prior-knowledge -w ' %{http_version}' "http://127.0.0.1:$P/h2c$i" 2>&1)
	assert_eq "backend=A path=/h2c$i
 2" "$out" "h2c request $i"
	out=$(curl -sS --max-time 10 --http1.1 "http://127.0.0.1:$P/h1$i" 2>&1)
	assert_eq "backend=A path=/h1$i" "$out" "HTTP/1.1 request $i"
done

# Reload: the inherited socket stays in use (no bind on the taken port).
kill -HUP "$H2G_PID"
wait_err 'configuration reloaded|reload failed' || fail "no reload result logged"
assert_eq 0 "$(err_count 'reload failed')" "reload failures"
out=$(curl -sS --max-time 10 --http2-prior-knowledge "http://127.0.0.1:$P/after-reload" 2>&1)
assert_eq "backend=A path=/after-reload" "$out" "request after the reload"
lst=$(ss -Hltne "sport = :$P")
assert_eq 1 "$(printf '%s\n' "$lst" | grep -c .)" "listening sockets on port $P after the reload ($lst)"

stop_h2gate
pass
