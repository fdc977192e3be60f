# Helpers for the daemon-operations tests (4NN-*.sh: notify, socket
# activation, reload, logs, privileges, control socket, metrics), sourced
# after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/opslib.sh"

CTL_SOCK=$T/ctl.sock

# ctl REQUEST...: the python control client (backends/ctlclient.py) on
# $CTL_SOCK; prints one reply line per request; exit 0 if all are ok.
ctl() {
	"$PY" "$BACKENDS/ctlclient.py" "$CTL_SOCK" "$@"
}

# jget EXPR JSON: evaluate a python expression on the decoded JSON `d`
# (lists and dicts are printed as compact JSON, booleans as true/false).
jget() {
	"$PY" -c '
import json, sys
d = json.loads(sys.argv[2])
r = eval(sys.argv[1])
if isinstance(r, bool):
    print("true" if r else "false")
elif isinstance(r, (list, dict)) or r is None:
    print(json.dumps(r, separators=(",", ":")))
else:
    print(r)' "$1" "$2"
}

# err_count REGEX: lines of h2gate stderr matching REGEX (ERE).
err_count() {
	grep -Ec -- "$1" "$T/h2gate.err" 2>/dev/null || true
}

# wait_err REGEX [MIN] [SECS]: wait until at least MIN (default 1) lines of
# h2gate stderr match.
wait_err() {
	local re=$1 min=${2:-1} secs=${3:-$H2G_WAIT}
	wait_until "$secs" _err_at_least "$re" "$min"
}
_err_at_least() { [ "$(err_count "$1")" -ge "$2" ]; }

# backend_of URL [CURL ARGS...]: the X-Backend header of a fresh request
# (new connection each call), "ERR<curl rc>" when it fails.
backend_of() {
	local url=$1 out rc
	shift
	out=$(curl -sS --max-time 10 -o /dev/null -D - "$@" "$url" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { echo "ERR$rc"; return 0; }
	printf '%s\n' "$out" | tr -d '\r' | sed -n 's/^[Xx]-[Bb]ackend: //p' | head -n 1
}

# start_h2hold NAME ARGS...: backends/h2hold.py in the background, events
# to $T/hold-NAME.out; waits for its "connected" line.  Sets HOLD_PID_NAME.
start_h2hold() {
	local name=$1 pid
	shift
	"$PY" "$BACKENDS/h2hold.py" "$@" >"$T/hold-$name.out" 2>"$T/hold-$name.err" &
	pid=$!
	_PIDS+=("$pid")
	eval "HOLD_PID_$name=$pid"
	wait_until "$H2G_WAIT" grep -q '"ev": "connected"' "$T/hold-$name.out" ||
		fail "h2hold $name did not connect: $(cat "$T/hold-$name.out" "$T/hold-$name.err")"
}

# hold_local NAME: the client address (ip:port) of the h2hold session NAME.
hold_local() {
	sed -n 's/.*"ev": "connected", "local": "\([^"]*\)".*/\1/p' "$T/hold-$1.out" | head -n 1
}

# hold_done NAME: the final {"ev":"done",...} line of h2hold NAME (waits
# for the process to end, bounded).
hold_done() {
	local name=$1 pid
	eval "pid=\$HOLD_PID_$name"
	wait_until $((H2G_WAIT * 3)) grep -q '"ev": "done"' "$T/hold-$name.out" ||
		fail "h2hold $name did not finish: $(cat "$T/hold-$name.out" "$T/hold-$name.err")"
	wait "$pid" 2>/dev/null
	grep '"ev": "done"' "$T/hold-$name.out" | tail -n 1
}

# ctl_reply_has_ok REPLY: true if the reply line says "ok": true.
reply_ok() {
	[ "$(jget 'd.get("ok")' "$1")" = true ]
}

# metrics_head: config_common (WORKERS), the metrics listener on $PM and a
# cleartext [h2, http/1.1] listener on $P; the caller prints the rest.
metrics_head() {
	cat <<EOF
$(config_common)
metrics:
  listen: "127.0.0.1:$PM"
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
EOF
}

# metrics_config: metrics_head and the origin a.test (/ to backend A,
# /dead to the refused port $DEAD); the caller may print more origin
# items after it (and more top-level keys).
metrics_config() {
	metrics_head
	cat <<EOF
origins:
  - hosts: ["a.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
      - path: /dead
        upstream: "http://127.0.0.1:$DEAD"
EOF
}

# code CURL-ARGS...: the HTTP status of one request (curl's error if none).
code() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@" 2>&1; }

# mixed_requests [HOST3]: on metrics_config's listener, three 200s
# (HTTP/1.1, then h2c twice, the third to HOST3, default a.test), a 404
# (no origin matches) and a 502 (/dead: upstream refused), each checked.
mixed_requests() {
	assert_eq 200 "$(code -H 'Host: a.test' "http://127.0.0.1:$P/ok1")" "HTTP/1.1 200"
	assert_eq 200 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/ok2")" "h2c 200"
	assert_eq 200 "$(code --http2-prior-knowledge -H "Host: ${1:-a.test}" "http://127.0.0.1:$P/ok3")" "h2c 200"
	assert_eq 404 "$(code -H 'Host: nomatch.test' "http://127.0.0.1:$P/x")" "no origin: 404"
	assert_eq 502 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/dead")" "refused upstream: 502"
}
