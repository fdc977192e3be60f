#!/bin/sh
# Tunnels between two cleartext TCP sockets go through splice(2): HTTP/1.1
# CONNECT and HTTP/1.1 WebSocket on a cleartext listener are counted in
# h2gate_tunnels_spliced_total, and carry 64 MiB both ways at once intact
# (checksums), half-close both ways (the client first: the echo target's
# "BYE"; the target first: the client sends after the target's EOF), with
# back-pressure both ways (a client or target that does not read for 2 s:
# h2gate's VmRSS grows < 8 MiB), byte counts in the access log and
# `h2gatectl tunnels`, a tunnel whose head waits behind an unread
# response while its target sends (still spliced: the target is not read
# before the switch), limits.tunnel_pipe_size (16KiB pipes carry 8 MB
# intact), timeouts.tunnel_idle, and the copying fallback when the pipes
# find no file descriptors (EMFILE).  HTTP/1.1 CONNECT over TLS and h2c
# CONNECT still copy (the counter does not move).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
. "$(dirname "$0")/opslib.sh"
need curl
need node
need prlimit
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"

N=$((64 * 1024 * 1024))
make_certs
start_ws chat
start_backend b1
start_tcp echo echo
start_tcp later later
start_tcp src source --bytes "$N"
start_tcp stall stall --until "$T/release"
start_tcp hold hold
PC=$(free_port)
PT=$(free_port)
PM=$(free_port)
conf() {
	WORKERS=2 tls_and_clear_config "$WSPORT_chat" "*" '      - path: /ws
        upstream: "http://127.0.0.1:$BPORT"
        websocket: true
      - path: /size/
        upstream: "http://127.0.0.1:'"$BPORT_b1"'"'
	cat <<EOF2
metrics:
  listen: "127.0.0.1:$PM"
connect:
  allow: ["127.0.0.1:$TPORT_echo", "127.0.0.1:$TPORT_later", "127.0.0.1:$TPORT_src",
          "127.0.0.1:$TPORT_stall", "127.0.0.1:$TPORT_hold"]
$1
EOF2
}
conf "" | write_config
# An ASan build keeps freed blocks in quarantine: without it RSS measures
# the live buffers, as in a normal build (see 108).
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" start_h2gate "$PC" "$PT" "$PM"
ST=("$PY" "$BACKENDS/splicetunnel.py")
metric() { curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" | sed -n "s/^$1 //p"; }
spliced() { metric h2gate_tunnels_spliced_total; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
assert_eq 0 "$(spliced)" "spliced tunnels before any"

# --- HTTP/1.1 CONNECT, 64 MiB both ways at once, the client half-closes first
J=$T/bulk.json
"${ST[@]}" bulk "$PC" "127.0.0.1:$TPORT_echo" --bytes "$N" >"$J" || fail "bulk client failed: $(cat "$J")"
log "bulk: $(cut -c1-300 "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "CONNECT status"
assert_eq None "$(json_get 'd.get("error")' "$J")" "bulk client error"
sha=$(json_get 'd["sent_sha256"]' "$J")
assert_eq "$N $sha" "$(json_get '"%d %s" % (d["received"], d["received_sha256"])' "$J")" "64 MiB echoed back intact"
assert_eq "BYE $N $sha" "$(json_get 'd["after_end"]' "$J")" "the client's half-close reached the target, then the target's"
assert_file_match "^EOF 2 $N $sha\$" "$T/tcp-echo.log" "what the echo target received"
assert_eq 1 "$(spliced)" "spliced tunnels after the HTTP/1.1 CONNECT"
line=$(access_line "authority=127.0.0.1:$TPORT_echo method=CONNECT") || exit 1
bye=$(printf 'BYE %s %s\n' "$N" "$sha" | wc -c)
assert_eq "$N $((N + bye))" "$(logfmt_get in "$line") $(logfmt_get out "$line")" "access log bytes of the spliced tunnel"

# --- the target half-closes first; the client sends after its EOF
J=$T/later.json
"${ST[@]}" later "$PC" "127.0.0.1:$TPORT_later" --bytes 1000000 >"$J" || fail "later client failed: $(cat "$J")"
log "later: $(cat "$J")"
assert_eq None "$(json_get 'd.get("error")' "$J")" "later client error"
assert_eq "HELLO 2" "$(json_get 'd["greeting"]' "$J")" "the target's greeting, then its EOF"
sha=$(json_get 'd["sent_sha256"]' "$J")
wait_until 10 grep -q "^EOF 2 1000000 $sha\$" "$T/tcp-later.log" ||
	fail "the target did not get the client's bytes sent after its EOF: $(cat "$T/tcp-later.log")"
assert_eq True "$(json_get 'd["closed"]' "$J")" "h2gate closed the connection once both sides ended"
assert_eq 2 "$(spliced)" "spliced tunnels after the target-first half-close"
wait_until 10 metric_is 'h2gate_tunnel_closes_total{reason="upstream_end"}' 1 ||
	fail "tunnel_closes{upstream_end}: $(metric 'h2gate_tunnel_closes_total{reason="upstream_end"}')"

# --- HTTP/1.1 WebSocket (Upgrade), 16 MiB binary message echoed
J=$T/ws.json
"$PY" "$BACKENDS/h1tunnel.py" ws "ws://127.0.0.1:$PC/ws" --protocol chat --binary $((16 * 1024 * 1024)) >"$J" ||
	fail "websocket client failed: $(cat "$J")"
log "ws: $(cat "$J")"
assert_eq None "$(json_get 'd.get("error")' "$J")" "websocket client error"
assert_eq 5 "$(json_get 'd["echoed"]' "$J")" "websocket text messages echoed"
assert_eq True "$(json_get 'd["binary_ok"]' "$J")" "16 MiB websocket message echoed intact"
assert_eq 3 "$(spliced)" "spliced tunnels after the HTTP/1.1 WebSocket"

# --- back-pressure, target -> client: the client reads nothing for 2 s
J=$T/down.json
"${ST[@]}" download "$PC" "127.0.0.1:$TPORT_src" --bytes "$N" --pid "$H2G_PID" --stall 2 >"$J" ||
	fail "download client failed: $(cat "$J")"
log "download: $(cat "$J")"
g=$(json_get 'd["growth_kb"]' "$J")
[ "$g" -lt 8192 ] || fail "h2gate VmRSS grew by $g KiB (>= 8 MiB) while the client did not read"
assert_eq "$N $(pattern_sha "$N")" "$(json_get '"%d %s" % (d["received"], d["received_sha256"])' "$J")" "64 MiB from the source intact"
assert_eq 4 "$(spliced)" "spliced tunnels after the download"

# --- the tunnel's head queued behind a 16 MiB response the client has not
# read yet: the source target sends all along, yet the tunnel is spliced
# (its target is not read until the switch: nothing held in user space)
J=$T/queued.json
"${ST[@]}" queued "$PC" "127.0.0.1:$TPORT_src" --get /size/$((16 * 1024 * 1024)) --stall 1 >"$J" ||
	fail "queued client failed: $(cat "$J")"
log "queued: $(cat "$J")"
assert_eq "200 16777216 200" "$(json_get '"%s %s %s" % (d["get_status"], d["get_bytes"], d["status"])' "$J")" "the GET, then the CONNECT"
assert_eq "$N $(pattern_sha "$N")" "$(json_get '"%d %s" % (d["received"], d["received_sha256"])' "$J")" "64 MiB from the source intact, after the queued head"
assert_eq 5 "$(spliced)" "spliced tunnels after the queued head"

# --- back-pressure, client -> target: the target reads nothing for 2 s
J=$T/up.json
"${ST[@]}" upload "$PC" "127.0.0.1:$TPORT_stall" --bytes "$N" --pid "$H2G_PID" --stall 2 --release "$T/release" >"$J" ||
	fail "upload client failed: $(cat "$J")"
log "upload: $(cat "$J")"
assert_eq None "$(json_get 'd.get("error")' "$J")" "upload client error"
g=$(json_get 'd["growth_kb"]' "$J")
[ "$g" -lt 8192 ] || fail "h2gate VmRSS grew by $g KiB (>= 8 MiB) while the target did not read"
[ "$(json_get 'd["stalled_sent"]' "$J")" -lt "$N" ] || fail "the client sent everything while the target did not read"
wait_until 10 grep -q "^EOF 2 $N\$" "$T/tcp-stall.log" || fail "the stalled target's bytes: $(cat "$T/tcp-stall.log")"
assert_eq 6 "$(spliced)" "spliced tunnels after the upload"

# --- TLS HTTP/1.1 CONNECT and h2c CONNECT copy, as before
total=$(metric h2gate_tunnels_total)
J=$T/tls.json
"${ST[@]}" bulk "$PT" "127.0.0.1:$TPORT_echo" --bytes 4000000 --tls >"$J" || fail "TLS bulk client failed: $(cat "$J")"
assert_eq "200 4000000" "$(json_get '"%s %s" % (d["status"], d["received"])' "$J")" "TLS HTTP/1.1 CONNECT"
assert_eq True "$(json_get 'd["received_sha256"] == d["sent_sha256"]' "$J")" "TLS HTTP/1.1 CONNECT bytes intact"
J=$T/h2.json
h2tun echo "http://127.0.0.1:$PC" "127.0.0.1:$TPORT_echo" >"$J" || fail "h2c CONNECT failed: $(cat "$J")"
assert_eq "200 true" "$(json_get '"%s %s" % (d["status"], str(d["bulk_echo_ok"]).lower())' "$J")" "h2c CONNECT"
assert_eq $((total + 2)) "$(metric h2gate_tunnels_total)" "tunnels after TLS and h2c"
assert_eq 6 "$(spliced)" "spliced tunnels after TLS and h2c (copied)"
stop_h2gate

# --- limits.tunnel_pipe_size; timeouts.tunnel_idle ends a spliced tunnel;
# h2gatectl tunnels lists it
conf "timeouts:
  tunnel_idle: 1s
limits:
  tunnel_pipe_size: 16KiB" | write_config
start_h2gate "$PC" "$PT" "$PM"
J=$T/small.json
"${ST[@]}" bulk "$PC" "127.0.0.1:$TPORT_echo" --bytes 8000000 >"$J" || fail "bulk client (16KiB pipes) failed: $(cat "$J")"
assert_eq True "$(json_get 'd["received_sha256"] == d["sent_sha256"] and d["received"] == 8000000' "$J")" "8 MB echoed intact through 16KiB pipes"
J=$T/idle.json
"${ST[@]}" idle "$PC" "127.0.0.1:$TPORT_hold" >"$J" &
IDLE_PID=$!
_PIDS+=("$IDLE_PID")
wait_until 10 metric_is h2gate_tunnels_spliced_total 2 || fail "the idle tunnel was not spliced: $(spliced)"
tun=$(ctl tunnels) || fail "tunnels: $tun"
log "tunnels: $tun"
# (it may be gone already: the idle timeout is 1 s)
if [ "$(jget 'len(d["result"])' "$tun")" = 1 ]; then
	assert_eq "connect 127.0.0.1:$TPORT_hold" "$(jget '"%s %s" % (d["result"][0]["kind"], d["result"][0]["target"])' "$tun")" "h2gatectl tunnels: the spliced tunnel"
fi
wait "$IDLE_PID" || fail "idle client failed"
log "idle: $(cat "$J")"
assert_eq True "$(json_get 'd["closed"]' "$J")" "h2gate closed the idle spliced tunnel"
wait_until 10 metric_is 'h2gate_tunnel_closes_total{reason="idle_timeout"}' 1 ||
	fail "tunnel_closes{idle_timeout}: $(metric 'h2gate_tunnel_closes_total{reason="idle_timeout"}')"
wait_until 10 grep -q '^EOF 2$' "$T/tcp-hold.log" || fail "the idle tunnel's target connection was not closed: $(cat "$T/tcp-hold.log")"
line=$(access_line "authority=127.0.0.1:$TPORT_hold method=CONNECT") || exit 1
assert_eq 6 "$(logfmt_get in "$line")" "access log bytes up of the idle tunnel"

# --- out of file descriptors for the pipes (EMFILE): the tunnel copies.
# Room for two more: the client's socket and the target's, not the pipes'.
before=$(spliced)
lim=$(prlimit --pid "$H2G_PID" --nofile --output SOFT,HARD --noheadings | awk '{print $1":"$2}')
# (new descriptors take the lowest free numbers: the limit is the second
# free number + 1)
free2=$(ls "/proc/$H2G_PID/fd" | sort -n | awk 'BEGIN { n = 0; f = 0 }
	{ while (n < $1) { if (++f == 2) { print n; exit } n++ } n = $1 + 1 }
	END { if (f < 2) print n + 1 - f }')
prlimit --pid "$H2G_PID" --nofile=$((free2 + 1)):"${lim#*:}" || fail "prlimit failed"
J=$T/emfile.json
"${ST[@]}" bulk "$PC" "127.0.0.1:$TPORT_echo" --bytes 4000000 >"$J"
rc=$?
prlimit --pid "$H2G_PID" --nofile="$lim" || fail "prlimit (restore) failed"
[ $rc -eq 0 ] || fail "bulk client without fds for pipes failed: $(cat "$J")"
assert_eq True "$(json_get 'd["received_sha256"] == d["sent_sha256"] and d["received"] == 4000000' "$J")" "4 MB echoed intact by a tunnel without pipes"
assert_eq "$before" "$(spliced)" "spliced tunnels after one that found no fds for its pipes"
assert_file_match "tunnel 127.0.0.1:$TPORT_echo: copying, no pipes for splice: Too many open files" "$T/h2gate.err" "the log line of the fallback"
stop_h2gate
pass
