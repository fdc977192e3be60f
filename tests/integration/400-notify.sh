#!/bin/sh
# systemd notify protocol (sd_notify) against a real NOTIFY_SOCKET listener
# (an AF_UNIX datagram socket, no systemd needed): READY=1 with MAINPID and
# STATUS once the listener accepts; the periodic STATUS line; on SIGHUP with
# a valid file RELOADING=1 then READY=1 (and the reload took effect); on a
# SIGHUP with a broken file RELOADING=1 then READY=1 with a "reload failed"
# STATUS; on SIGTERM STOPPING=1, and exit 0.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl

start_backend A
start_backend B
P=$(free_port)
NS=$T/notify.sock
NLOG=$T/notify.log
"$PY" "$BACKENDS/notifysock.py" --path "$NS" --log "$NLOG" --probe "$P" >"$T/notifysock.out" 2>&1 &
_PIDS+=($!)
wait_until "$H2G_WAIT" grep -q READY "$T/notifysock.out" || fail "notify listener did not start: $(cat "$T/notifysock.out")"
: >"$NLOG"

conf() { # UPSTREAM_PORT
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
conf "$BPORT_A" | write_config

# nth_msg FIELD=VALUE: the JSON lines (in order) carrying that field value.
msgs() { "$PY" - "$NLOG" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    f = m["fields"]
    tags = [k + "=" + f[k] for k in ("READY", "RELOADING", "STOPPING") if k in f]
    print("%d %s pid=%s probe=%s status=%s" % (m["n"], ",".join(tags) or "-", m["pid"], m["probe"], f.get("STATUS", "")))
EOF
}
count_field() { "$PY" - "$NLOG" "$1" <<'EOF'
import json, sys
k, v = sys.argv[2].split("=", 1)
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["fields"].get(k) == v))
EOF
}
n_ready() { count_field READY=1; }
at_least() { [ "$("$@" | tail -n 1)" -ge "$N_WANT" ]; }
wait_count() { # FIELD=VALUE N
	N_WANT=$2
	wait_until "$H2G_WAIT" at_least count_field "$1"
}

export NOTIFY_SOCKET=$NS
start_h2gate "$P"
unset NOTIFY_SOCKET

# 1. READY=1 with MAINPID and STATUS, sent once the port accepts.
wait_count READY=1 1 || fail "no READY=1 within ${H2G_WAIT}s; got: $(msgs)"
first=$(head -n 1 "$NLOG")
log "first notification: $first"
assert_eq 1 "$(jget 'd["fields"].get("READY")' "$first")" "READY in the first notification"
assert_eq "$H2G_PID" "$(jget 'd["fields"].get("MAINPID")' "$first")" "MAINPID"
assert_eq "$H2G_PID" "$(jget 'd["pid"]' "$first")" "sender pid (SCM_CREDENTIALS)"
assert_match '.' "$(jget 'd["fields"].get("STATUS") or ""' "$first")" "STATUS= with READY=1"
assert_eq true "$(jget 'd["probe"]' "$first")" "port $P accepted right after READY=1"
assert_eq "backend=A path=/x" "$(curl -sS --max-time 10 "http://127.0.0.1:$P/x")" "request through h2gate"

# 2. The periodic STATUS line (every 5 s) counts the requests served.
periodic() { "$PY" - "$NLOG" <<'EOF'
import json, re, sys
for l in open(sys.argv[1]):
    f = json.loads(l)["fields"]
    if set(f) == {"STATUS"} and re.search(r"[1-9][0-9]* requests served", f["STATUS"]):
        sys.exit(0)
sys.exit(1)
EOF
}
wait_until 8 periodic || fail "no periodic STATUS= line with the requests served within 8s; got: $(msgs)"

# 3. SIGHUP, valid file (upstream A -> B): RELOADING=1, then READY=1.
conf "$BPORT_B" | write_config
kill -HUP "$H2G_PID"
wait_count READY=1 2 || fail "no READY=1 after SIGHUP; got: $(msgs)"
seq=$(msgs | grep -v '^[0-9]* - ' | sed -n '2,$p' | cut -d' ' -f2 | tr '\n' ' ')
assert_eq "RELOADING=1 READY=1 " "$seq" "notifications after SIGHUP (valid file)"
rel=$(grep '"RELOADING": "1"' "$NLOG" | head -n 1)
assert_eq "$H2G_PID" "$(jget 'd["pid"]' "$rel")" "sender pid of RELOADING=1"
wait_until "$H2G_WAIT" eval '[ "$(backend_of http://127.0.0.1:$P/y)" = B ]' ||
	fail "after the reload, a new request still does not reach backend B ($(backend_of "http://127.0.0.1:$P/y"))"

# 4. SIGHUP, broken file: RELOADING=1, READY=1 again with a failure STATUS.
printf 'listen: [\n' >"$CONF"
kill -HUP "$H2G_PID"
wait_count READY=1 3 || fail "no READY=1 after a failed reload; got: $(msgs)"
seq=$(msgs | grep -v '^[0-9]* - ' | sed -n '4,$p' | cut -d' ' -f2 | tr '\n' ' ')
assert_eq "RELOADING=1 READY=1 " "$seq" "notifications after SIGHUP (broken file)"
last=$(grep '"READY": "1"' "$NLOG" | tail -n 1)
assert_match 'fail' "$(jget 'd["fields"].get("STATUS") or ""' "$last")" "STATUS= with the READY=1 after a failed reload"
assert_eq B "$(backend_of "http://127.0.0.1:$P/z")" "backend after the failed reload"

# 5. SIGTERM: STOPPING=1, exit 0.
pid=$H2G_PID
stop_h2gate
wait_count STOPPING=1 1 || fail "no STOPPING=1 after SIGTERM; got: $(msgs)"
assert_eq 1 "$(count_field STOPPING=1)" "STOPPING=1 notifications"
stop=$(grep '"STOPPING": "1"' "$NLOG" | head -n 1)
assert_eq "$pid" "$(jget 'd["pid"]' "$stop")" "sender pid of STOPPING=1"
log "notifications:"
msgs | sed 's/^/#   /' >&2
pass
