#!/bin/sh
# A fleet: HAProxy in TCP mode (round robin, send-proxy-v2, health
# checks) in front of three h2gate instances that share their TLS
# session-ticket keys through one memcached.
#  - a TLS session made through the balancer on one instance resumes on
#    another (shown by the instance each connection landed on);
#  - 1,000 connections through the balancer, each offering the last
#    session: the resumption rate across instances, and the spread;
#  - the upstream sees the real client address (127.0.0.2 here; the
#    balancer connects from 127.0.0.1) in X-Forwarded-For;
#  - connections through the balancer while one instance is drained
#    (h2gatectl drain --exit) and stopped: no request fails;
#  - memcached stopped mid-test: nothing blocks, sessions still resume
#    on the last keys, nothing fails.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/ticketlib.sh"
need haproxy memcached openssl curl

make_certs
start_backend b1
start_memcached

# instance N PORT: h2gate N behind the balancer (PROXY v2, shared keys).
instance() {
	cat >"$T/h$1.yaml" <<EOF2
workers: 2
log:
  level: info
  access: $T/access-$1.log
control:
  socket: $T/ctl-$1.sock
listen:
  - address: "127.0.0.1:$2"
    proxy_protocol: true
    tls:
      certificate: $CERT
      key: $KEY
      ticket_keys_memcached: "127.0.0.1:$MP"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
	"$H2GATE" -c "$T/h$1.yaml" >"$T/h$1.out" 2>"$T/h$1.err" &
	eval "H_PID$1=$!"
	_PIDS+=("$!")
	wait_port "$2" "$!" || fail "instance $1 did not start: $(tail -n 5 "$T/h$1.err")"
	wait_until "$H2G_WAIT" grep -q "key(s) from memcached" "$T/h$1.err" ||
		fail "instance $1 got no keys: $(tail -n 5 "$T/h$1.err")"
}
P1=$(free_port); instance 1 "$P1"
P2=$(free_port); instance 2 "$P2"
P3=$(free_port); instance 3 "$P3"

PB=$(free_port)
cat >"$T/haproxy.cfg" <<EOF2
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:$PB
  default_backend fleet
backend fleet
  balance roundrobin
  server h1 127.0.0.1:$P1 send-proxy-v2 check check-send-proxy inter 200ms fall 1 rise 2
  server h2 127.0.0.1:$P2 send-proxy-v2 check check-send-proxy inter 200ms fall 1 rise 2
  server h3 127.0.0.1:$P3 send-proxy-v2 check check-send-proxy inter 200ms fall 1 rise 2
EOF2
haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.out" 2>&1 &
HA_PID=$!
_PIDS+=("$HA_PID")
wait_port "$PB" "$HA_PID" || fail "haproxy did not start: $(cat "$T/haproxy.out")"

# served_by: WHO = which instances' access logs grew since the last call
# (not in a subshell: SEEN must keep its counts).
declare -A SEEN
served_by() {
	local i n
	WHO=
	for i in 1 2 3; do
		n=$(cat "$T/access-$i.log" 2>/dev/null | wc -l)
		[ "$n" -gt "${SEEN[$i]:-0}" ] && WHO="$WHO$i"
		SEEN[$i]=$n
	done
}
served_by

# balanced_handshake SESS_OUT [SESS_IN]: one HTTP/1.1 request through the balancer
# on a fresh TLS 1.3 connection; prints s_client's New/Reused.
balanced_handshake() {
	local in=() out
	[ -n "${2:-}" ] && in=(-sess_in "$2")
	out=$(printf 'GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PB" -tls1_3 -alpn http/1.1 \
			-sess_out "$1" "${in[@]}" -ign_eof 2>&1)
	grep -q "^HTTP/1.1 200" <<<"$out" || { echo "NO-RESPONSE"; return; }
	sed -n 's/^\(New\|Reused\), TLSv.*/\1/p' <<<"$out" | head -n 1
}

# --- one session, resumed on another instance
sleep 0.5 # let every server pass its first health checks
assert_eq New "$(balanced_handshake "$T/s1")" "first handshake"
# the access line is written within a loop turn
wait_until 5 sh -c "cat '$T'/access-*.log | wc -l | grep -qx 1" || fail "no access line for the first request"
served_by
first=$WHO
assert_match '^[123]$' "$first" "the first connection landed on one instance"
assert_eq Reused "$(balanced_handshake "$T/s2" "$T/s1")" "the session on the next instance"
wait_until 5 sh -c "cat '$T'/access-*.log | wc -l | grep -qx 2" || fail "no access line for the second request"
served_by
second=$WHO
assert_match '^[123]$' "$second" "the second connection landed on one instance"
assert_ne "$first" "$second" "the balancer sent the resumed connection to another instance"
log "session made on instance $first, resumed on instance $second"

# --- 1,000 connections: resumption rate across instances
"$PY" - "$PB" 1000 >"$T/rate.json" <<'PYEOF' || fail "the 1,000 connections: $(cat "$T/rate.json")"
import json, socket, ssl, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
sess, reused, ok = None, 0, 0
for i in range(n):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0))
    s = ctx.wrap_socket(raw, server_hostname="a.test", session=sess)
    s.sendall(b"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    if data.startswith(b"HTTP/1.1 200"):
        ok += 1
    if i > 0 and s.session_reused:
        reused += 1
    sess = s.session
    s.close()
print(json.dumps({"connections": n, "ok": ok, "resumed": reused, "offered": n - 1}))
PYEOF
cat "$T/rate.json"
assert_eq 1000 "$(json_get "d['ok']" "$T/rate.json")" "1,000 responses"
for i in 1 2 3; do log "instance $i: $(wc -l <"$T/access-$i.log") access lines"; done
resumed=$(json_get "d['resumed']" "$T/rate.json")
log "resumption across instances: $resumed of 999 offered sessions"
[ "$resumed" -ge 990 ] || fail "only $resumed of 999 sessions resumed across the fleet"

# --- the real client address reaches the upstream
xff=$(grep '^REQ GET /x ' "$BLOG" | tail -n 1 | sed 's/^REQ GET \/x //' |
	"$PY" -c 'import json,sys; h=json.load(sys.stdin); h=dict((k.lower(),v) for k,v in (h.items() if isinstance(h,dict) else h)); print(h.get("x-forwarded-for",""))')
assert_eq 127.0.0.2 "$xff" "X-Forwarded-For at the upstream (the client, not the balancer)"
grep -q 'client=127.0.0.2:' "$T/access-1.log" || fail "the access log does not show the client address"

# --- memcached stopped: sessions resume on the last keys, nothing blocks
kill -STOP "$MC_PID"
for i in 1 2 3; do CTL_SOCK=$T/ctl-$i.sock ctl reload >/dev/null || fail "reload of instance $i"; done
assert_eq Reused "$(balanced_handshake "$T/s3" "$T/s2")" "memcached stopped: resumed"
assert_eq Reused "$(balanced_handshake "$T/s4" "$T/s3")" "memcached stopped: resumed again"
code=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PB/x") || true
assert_eq 200 "$code" "memcached stopped: a request through the balancer"
kill -CONT "$MC_PID"

# --- one instance drained and stopped under load: no request fails.
# The load is connections through the balancer, a request each, back to
# back from four clients, while instance 2 is drained and stops; the
# balancer's health checks take it out once its listener is closed.
# (A client that keeps one HTTP/2 connection must open another after the
# GOAWAY: h2load does not, and counts the requests it never sent on the
# drained connection as failed; see the note of issue 14.)
before2=$(wc -l <"$T/access-2.log")
"$PY" - "$PB" "$T/stop-load" >"$T/load.json" <<'PYEOF' &
import json, os, socket, ssl, sys, threading
port, stop = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
res = {"ok": 0, "failed": 0, "errors": []}
lock = threading.Lock()
def client():
    while not os.path.exists(stop):
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            s = ctx.wrap_socket(raw, server_hostname="a.test")
            s.sendall(b"GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            s.close()
            good = data.startswith(b"HTTP/1.1 200")
            err = None if good else repr(data[:60])
        except OSError as e:
            good, err = False, repr(e)
        with lock:
            res["ok" if good else "failed"] += 1
            if err and len(res["errors"]) < 5:
                res["errors"].append(err)
ts = [threading.Thread(target=client) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(res))
PYEOF
LOAD=$!
wait_until 20 sh -c "[ \$(wc -l <'$T/access-2.log') -gt $((before2 + 50)) ]" ||
	fail "instance 2 served no part of the load"
CTL_SOCK=$T/ctl-2.sock ctl '{"cmd":"drain","exit":true}' >/dev/null || fail "drain of instance 2"
wait_until 40 sh -c "! kill -0 $H_PID2 2>/dev/null" || fail "instance 2 did not stop after its drain"
sleep 1 # the load goes on without it
touch "$T/stop-load"
wait "$LOAD" || fail "the load client failed: $(cat "$T/load.json")"
cat "$T/load.json"
log "instance 2 served $(($(wc -l <"$T/access-2.log") - before2)) requests of the load before it stopped"
assert_eq 0 "$(json_get "d['failed']" "$T/load.json")" "requests failed while instance 2 drained and stopped"
[ "$(json_get "d['ok']" "$T/load.json")" -gt 100 ] || fail "too little load: $(cat "$T/load.json")"
pass
