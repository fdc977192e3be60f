#!/bin/sh
# The control socket against the real daemon (python client, and
# h2gatectl when built): socket mode 0600; status (version, workers,
# listeners, connections, reloads, last_reload); stats (counters move by
# exactly the requests made); sessions (an open h2c session and a TLS h2
# session of a python h2 client, found by their peer address, with their
# alpn); session ID (its streams during a slow request); tunnels (an open
# CONNECT tunnel with its target and byte counts); config (defaults filled
# in: limits.max_concurrent_streams=128 when unset); check FILE (diff with
# an added listener and a changed limit, nothing applied; a broken file ->
# ok:false with FILE:LINE:COL); bad requests; drain with exit (stops accepting at
# once, the in-flight request completes with 200, exit 0).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/tunlib.sh"
need curl h2 openssl

make_certs
start_backend A
start_tcp echo echo
P=$(free_port)
PT=$(free_port)
P2=$(free_port)
conf() {
	cat <<EOF
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
connect:
  allow: ["127.0.0.1:$TPORT_echo"]
EOF
}
conf | write_config
start_h2gate "$P" "$PT"
SLOW=$((H2G_WAIT * 300))

# --- socket mode -----------------------------------------------------------
[ -S "$CTL_SOCK" ] || fail "no control socket at $CTL_SOCK"
assert_eq 600 "$(stat -c %a "$CTL_SOCK")" "control socket mode"

# --- status ------------------------------------------------------------------
st=$(ctl status) || fail "status: $st"
log "status: $st"
ver=$("$H2GATE" -V 2>&1 | head -n 1)
v=$(jget 'd["result"]["version"]' "$st")
assert_match "$v" "$ver" "status version vs h2gate -V ($ver)"
assert_eq 1 "$(jget 'd["result"]["workers"]' "$st")" "status workers"
assert_eq "127.0.0.1:$P false|127.0.0.1:$PT true" "$(jget '"|".join("%s %s" % (l["address"], str(l["tls"]).lower()) for l in d["result"]["listeners"])' "$st")" "status listeners"
assert_eq "0 none" "$(jget '"%s %s" % (d["result"]["reloads"], d["result"]["last_reload"])' "$st")" "status reloads / last_reload"
assert_match '^[0-9]+$' "$(jget 'd["result"]["connections"]' "$st")" "status connections"

# --- stats: counters move ----------------------------------------------------
s0=$(ctl stats) || fail "stats: $s0"
for i in 1 2 3; do
	"${CURL[@]}" -o /dev/null "http://127.0.0.1:$P/s$i" || fail "request /s$i"
done
"${CURL[@]}" -o /dev/null "http://127.0.0.1:$P/status/404" || fail "request /status/404"
s1=$(ctl stats) || fail "stats: $s1"
delta() { # EXPR
	echo $(( $(jget "$1" "$s1") - $(jget "$1" "$s0") ))
}
assert_eq 4 "$(delta 'd["result"]["counters"]["requests_total"]')" "stats requests_total delta"
assert_eq 3 "$(delta 'd["result"]["counters"]["responses"]["2xx"]')" "stats responses.2xx delta"
assert_eq 1 "$(delta 'd["result"]["counters"]["responses"]["4xx"]')" "stats responses.4xx delta"
assert_eq 4 "$(delta 'd["result"]["counters"]["connections_total"]')" "stats connections_total delta"
assert_eq 4 "$(delta 'd["result"]["histograms"]["request_duration_seconds"]["count"]')" "stats histogram count delta"

# --- sessions, session ID, tunnels: three open sessions ------------------------
start_h2hold c1 --port "$P" --hold-until "$T/release" --max 60 "get:/slow?ms=$SLOW"
start_h2hold c2 --port "$PT" --tls --hold-until "$T/release" --max 60 "get:/slow?ms=$((SLOW + 1))"
start_h2hold t1 --port "$P" --hold-until "$T/release" --max 60 "connect:127.0.0.1:$TPORT_echo"
wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$SLOW " "$T/backend-A.log" || fail "c1: /slow not in flight"
wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$((SLOW + 1)) " "$T/backend-A.log" || fail "c2: /slow not in flight"
wait_until "$H2G_WAIT" grep -q '"ev": "data", "stream": 1, "bytes": 13' "$T/hold-t1.out" || fail "t1: tunnel echo not received: $(cat "$T/hold-t1.out")"
assert_eq '"alpn": "h2"' "$(grep -o '"alpn": "h2"' "$T/hold-c2.out")" "c2 negotiated h2 over TLS"

ss_=$(ctl sessions) || fail "sessions: $ss_"
log "sessions: $ss_"
sess() { # PEER FIELD
	jget "[s.get(\"$2\") for s in d[\"result\"] if s[\"peer\"] == \"$1\"]" "$ss_"
}
L1=$(hold_local c1)
L2=$(hold_local c2)
L3=$(hold_local t1)
assert_eq '["h2c"]' "$(sess "$L1" alpn)" "sessions: the h2c session of $L1"
assert_eq '["h2"]' "$(sess "$L2" alpn)" "sessions: the TLS h2 session of $L2"
assert_eq '["h2c"]' "$(sess "$L3" alpn)" "sessions: the h2c (tunnel) session of $L3"
assert_eq '["TLSv1.3"]' "$(sess "$L2" tls_version)" "sessions: TLS version of $L2"
ID1=$(jget "[s[\"id\"] for s in d[\"result\"] if s[\"peer\"] == \"$L1\"][0]" "$ss_")

grep -q '"ev": "end"' "$T/hold-c1.out" && fail "c1's slow request ended before the inspection (raise SLOW)"
one=$(ctl "session=$ID1") || fail "session $ID1: $one"
log "session $ID1: $one"
assert_eq "$ID1 $L1 h2c" "$(jget '"%s %s %s" % (d["result"]["id"], d["result"]["peer"], d["result"]["alpn"])' "$one")" "session ID: id, peer, alpn"
assert_eq "1 GET /slow?ms=$SLOW" "$(jget '" ".join("%s %s %s" % (s["id"], s["method"], s["path"]) for s in d["result"]["streams"])' "$one")" "session ID: streams (id, method, path)"
assert_eq "1" "$(jget 'd["result"]["streams_open"]' "$one")" "session ID: streams_open"
rep=$(ctl "session=999999")
[ $? -eq 1 ] || fail "session 999999: expected ok:false: $rep"
assert_eq "no such session" "$(jget 'd["error"]' "$rep")" "unknown session"

tun=$(ctl tunnels) || fail "tunnels: $tun"
log "tunnels: $tun"
assert_eq 1 "$(jget 'len(d["result"])' "$tun")" "tunnels: count"
assert_eq "127.0.0.1:$TPORT_echo 13 13" "$(jget '"%s %s %s" % (d["result"][0]["target"], d["result"][0]["bytes_up"], d["result"][0]["bytes_down"])' "$tun")" "tunnels: target, bytes_up, bytes_down"
T1ID=$(jget "[s[\"id\"] for s in d[\"result\"] if s[\"peer\"] == \"$L3\"][0]" "$ss_")
assert_eq "$T1ID" "$(jget 'd["result"][0]["session"]' "$tun")" "tunnels: session id"
st=$(ctl status)
[ "$(jget 'd["result"]["connections"]' "$st")" -ge 3 ] || fail "status connections with 3 open sessions: $st"
assert_eq 1 "$(jget 'd["result"]["tunnels"]' "$st")" "status tunnels"
touch "$T/release"

# --- config: the effective configuration, defaults filled in ------------------
cfg=$(ctl config) || fail "config: $cfg"
assert_eq 128 "$(jget 'd["result"]["limits"]["max_concurrent_streams"]' "$cfg")" "config limits.max_concurrent_streams (default)"
assert_eq 1 "$(jget 'd["result"]["workers"]' "$cfg")" "config workers"
assert_match "127.0.0.1:$P" "$(jget 'd["result"]["listen"]' "$cfg")" "config listen"

# --- check FILE ---------------------------------------------------------------
{ conf; printf 'limits:\n  max_concurrent_streams: 64\n'; } |
	sed "s/^listen:/listen:\n  - address: \"127.0.0.1:$P2\"/" >"$T/new.yaml"
chk=$(ctl "check=$T/new.yaml") || fail "check of a valid file: $chk"
log "check: $chk"
assert_eq true "$(jget 'd["result"]["valid"]' "$chk")" "check: valid"
assert_eq "[\"127.0.0.1:$P2\"]" "$(jget 'd["result"]["diff"]["listeners"]["added"]' "$chk")" "check: listeners added"
assert_eq '[]' "$(jget 'd["result"]["diff"]["listeners"]["removed"]' "$chk")" "check: listeners removed"
assert_eq '[128,64]' "$(jget 'd["result"]["diff"]["limits"]["max_concurrent_streams"]' "$chk")" "check: limit changed"
if port_open "$P2"; then fail "check applied the file (:$P2 listens)"; fi
cfg=$(ctl config)
assert_eq 128 "$(jget 'd["result"]["limits"]["max_concurrent_streams"]' "$cfg")" "config after check (unchanged)"
{ conf; printf 'limits:\n  max_concurrent_streamz: 64\n'; } >"$T/bad.yaml"
badline=$(grep -n max_concurrent_streamz "$T/bad.yaml" | cut -d: -f1)
chk=$(ctl "check=$T/bad.yaml")
[ $? -eq 1 ] || fail "check of a broken file: expected ok:false: $chk"
log "check (broken): $chk"
assert_match "^$T/bad.yaml:$badline:3: .*max_concurrent_streamz" "$(jget 'd["errors"][0]' "$chk")" "check: FILE:LINE:COL error"

# --- bad requests -----------------------------------------------------------------
rep=$(ctl '{"cmd":"frobnicate"}')
[ $? -eq 1 ] || fail "unknown command: expected ok:false: $rep"
assert_eq "unknown command" "$(jget 'd["error"]' "$rep")" "unknown command"
rep=$(printf 'not json\n' | "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); print(s.makefile().readline().strip())' "$CTL_SOCK")
assert_eq false "$(jget 'd["ok"]' "$rep")" "invalid JSON request: ok"
# several requests on one connection, in order
rep=$(ctl status config stats) || fail "three requests on one connection"
assert_eq 3 "$(printf '%s\n' "$rep" | grep -c '"ok":true')" "three replies on one connection"

# --- h2gatectl, when built ---------------------------------------------------------
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$CTLBIN" ]; then
	out=$("$CTLBIN" -s "$CTL_SOCK" --json status 2>&1) || fail "h2gatectl --json status: $out"
	assert_eq "127.0.0.1:$P" "$(jget '(d.get("result") or d)["listeners"][0]["address"]' "$out")" "h2gatectl --json status listeners"
	out=$("$CTLBIN" -s "$CTL_SOCK" status 2>&1) || fail "h2gatectl status: $out"
	assert_match "$v" "$out" "h2gatectl status shows the version"
else
	log "h2gatectl not built: skipped that part"
fi

# --- drain -------------------------------------------------------------------------
start_h2hold d1 --port "$P" --max 60 "get:/slow?ms=$((SLOW + 2))"
wait_until "$H2G_WAIT" grep -q "REQ GET /slow?ms=$((SLOW + 2)) " "$T/backend-A.log" || fail "d1: /slow not in flight"
rep=$(ctl '{"cmd":"drain","exit":true}') || fail "drain: $rep"
assert_eq true "$(jget 'd["result"]["draining"]' "$rep")" "drain reply"
wait_until "$H2G_WAIT" eval '! port_open "$P"' || fail "still accepting on :$P after drain"
grep -q '"ev": "end"' "$T/hold-d1.out" && fail "d1's request ended before the drain took effect (raise SLOW)"
done=$(hold_done d1)
log "d1: $done"
assert_eq "200 slow $((SLOW + 2))" "$(jget '"%s %s" % (d["results"][0]["status"], d["results"][0]["body"].strip())' "$done")" "in-flight request across the drain"
assert_eq 0 "$(jget '(d["goaway"] or {}).get("code")' "$done")" "GOAWAY NO_ERROR on drain"
for n in c1 c2; do
	done=$(hold_done "$n")
	assert_eq "200" "$(jget 'd["results"][0]["status"]' "$done")" "$n: status of its slow request"
done
hold_done t1 >/dev/null
wait_h2gate_exit
assert_file_match 'h2gatectl drain --exit: graceful shutdown' "$T/h2gate.err" "drain log line"
[ -e "$CTL_SOCK" ] && fail "control socket left behind after exit"
pass
