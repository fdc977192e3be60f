#!/bin/sh
# The control socket's directory is created when missing (as outside
# systemd, where nobody made /run/h2gate): the daemon starts, the
# directory has mode 0750, one info line names it, h2gatectl talks to the
# socket; at the next start the directory exists and is used as it is.  A
# missing parent is not created: the daemon does not start and says why.
# As root with `user: nobody`, the directory belongs to nobody, which can
# therefore remove its socket at exit.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"
P=$(free_port)
conf() { # SOCKET [USER]
	cat <<EOF
workers: 1
${2:+user: $2}
log:
  level: info
control:
  socket: $1
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:9"
EOF
}

D=$T/run/h2gate
mkdir "$T/run"
conf "$D/control.sock" | write_config
start_h2gate "$P"
# the listeners answer before the control socket is made (mkdir 0700, then
# chown and chmod): its log line says the directory is done
wait_until "$H2G_WAIT" grep -q "control.socket: created the directory $D " "$T/h2gate.err" ||
	fail "no log line for the created directory"
assert_eq 750 "$(stat -c %a "$D")" "mode of the created directory"
assert_eq 1 "$(grep -c "control.socket: created the directory $D (mode 0750)" "$T/h2gate.err")" "log lines naming $D"
out=$("$CTL" -s "$D/control.sock" --json status 2>&1) || fail "h2gatectl status: $out"
assert_match '"pid": *'"$H2G_PID" "$out" "h2gatectl status pid"
stop_h2gate
start_h2gate "$P"
assert_eq 0 "$(grep -c 'created the directory' "$T/h2gate.err")" "log lines when the directory exists"
"$CTL" -s "$D/control.sock" status >/dev/null 2>&1 || fail "h2gatectl status with the existing directory"
stop_h2gate

conf "$T/no/such/control.sock" | write_config
"$H2GATE" -c "$CONF" >"$T/h2gate.stdout" 2>"$T/h2gate.err"
assert_eq 1 "$?" "exit code with a missing parent directory"
assert_file_match "cannot create the directory $T/no/such: No such file or directory" "$T/h2gate.err" "error naming the directory"
[ ! -e "$T/no" ] || fail "$T/no was created"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$T" # nobody removes its socket at exit: it must reach the directory
	D=$T/run/as-nobody
	conf "$D/control.sock" nobody | write_config
	start_h2gate "$P"
	wait_until "$H2G_WAIT" grep -q "control.socket: created the directory $D " "$T/h2gate.err" ||
		fail "no log line for the created directory"
	assert_eq "750 $(id -u nobody) $(id -g nobody)" "$(stat -c '%a %u %g' "$D")" "mode and owner of the directory"
	assert_file_match "control.socket: created the directory $D \\(mode 0750, owner nobody\\)" "$T/h2gate.err" "log line with the owner"
	"$CTL" -s "$D/control.sock" status >/dev/null 2>&1 || fail "h2gatectl status (as root, daemon as nobody)"
	stop_h2gate
	[ ! -e "$D/control.sock" ] || fail "the socket outlived the daemon running as nobody"
else
	log "not root: ownership of the directory not exercised"
fi
pass
