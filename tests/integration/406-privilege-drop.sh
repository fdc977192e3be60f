#!/bin/sh
# Privilege drop: started as root with `user: nobody`, h2gate binds its
# listeners first (one on a privileged port < 1024), then switches: every
# thread's /proc status shows nobody's uid/gid (all four fields), no
# supplementary group 0, no effective capabilities; "running as nobody" is
# logged; both listeners serve.  A reload (the file readable by nobody)
# that adds an unprivileged listener works; one that adds a privileged
# port fails cleanly ("cannot listen", the running configuration stays).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl
[ "$(id -u)" = 0 ] || skip "not root: cannot test the privilege drop"
NUID=$(id -u nobody 2>/dev/null) || skip "no user nobody"
NGID=$(id -g nobody)

start_backend A
PU=$(free_port)
PU2=$(free_port)
# free privileged ports, by probing
low_ports() {
	"$PY" - <<'EOF'
import socket
found = []
for p in range(600, 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        found.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(found) == 2:
        break
print(" ".join(map(str, found)))
EOF
}
read -r PP PP2 <<<"$(low_ports)"
[ -n "${PP2:-}" ] || fail "no free port in 600-999"
log "privileged ports $PP, $PP2; unprivileged $PU, $PU2"

chmod 755 "$T"   # nobody must read the file on reload
conf() { # extra listener address, optional
	cat <<EOF
workers: 2
user: nobody
log:
  level: info
  access: $T/access.log
control:
  socket: $T/ctl.sock
listen:
  - address: "127.0.0.1:$PU"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PP"
    protocols: [h2, http/1.1]
EOF
	[ -n "${1:-}" ] && printf '  - address: "127.0.0.1:%s"\n' "$1"
	cat <<EOF
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
EOF
}
conf | write_config
chmod 644 "$CONF"
start_h2gate "$PU" "$PP"
wait_err 'running as nobody' || fail "no 'running as nobody' log line"
assert_file_match "running as nobody \\(uid $NUID, gid $NGID\\)" "$T/h2gate.err" "log line"

# Every thread (main + workers) runs as nobody.
ntask=0
for st in /proc/"$H2G_PID"/task/*/status; do
	ntask=$((ntask + 1))
	tid=$(basename "$(dirname "$st")")
	assert_eq "$NUID $NUID $NUID $NUID" "$(sed -n 's/^Uid:[[:space:]]*//p' "$st" | tr -s '\t ' ' ')" "task $tid Uid (real, effective, saved, fs)"
	assert_eq "$NGID $NGID $NGID $NGID" "$(sed -n 's/^Gid:[[:space:]]*//p' "$st" | tr -s '\t ' ' ')" "task $tid Gid (real, effective, saved, fs)"
	groups=$(sed -n 's/^Groups:[[:space:]]*//p' "$st")
	assert_no_match '(^| )0( |$)' "$groups" "task $tid supplementary groups"
	assert_eq 0000000000000000 "$(sed -n 's/^CapEff:[[:space:]]*//p' "$st")" "task $tid effective capabilities"
done
[ "$ntask" -ge 3 ] || fail "expected the main thread and 2 workers, found $ntask tasks"

# Both listeners serve (the privileged one was bound before the switch).
for p in "$PU" "$PP"; do
	out=$(curl -sS --max-time 10 --http2-prior-knowledge "http://127.0.0.1:$p/p$p" 2>&1)
	assert_eq "backend=A path=/p$p" "$out" "h2c request on :$p"
	out=$(curl -sS --max-time 10 --http1.1 "http://127.0.0.1:$p/q$p" 2>&1)
	assert_eq "backend=A path=/q$p" "$out" "HTTP/1.1 request on :$p"
done
# the control socket still answers (root client, socket made before the switch)
st=$(ctl status) || fail "status over the control socket after the switch: $st"

# Reload as nobody: an added unprivileged listener works ...
conf "$PU2" | write_config
rep=$(ctl reload) || fail "reload adding :$PU2 as nobody: $rep"
wait_port "$PU2" || fail "added listener :$PU2 does not accept"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$PU2/added" 2>&1)
assert_eq "backend=A path=/added" "$out" "request on the added listener"
# ... an added privileged port cannot be bound any more: clean failure.
conf "$PP2" | write_config
rep=$(ctl reload)
[ $? -eq 1 ] || fail "reload adding privileged :$PP2 as nobody: expected ok:false, got: $rep"
log "privileged reload reply: $rep"
assert_match "cannot listen on 127.0.0.1:$PP2" "$(jget 'd.get("errors")' "$rep")" "errors of the privileged reload"
for p in "$PU" "$PP" "$PU2"; do
	out=$(curl -sS --max-time 10 "http://127.0.0.1:$p/still$p" 2>&1)
	assert_eq "backend=A path=/still$p" "$out" "request on :$p after the failed reload"
done
if port_open "$PP2"; then fail ":$PP2 accepts after a failed reload"; fi
stop_h2gate
pass
