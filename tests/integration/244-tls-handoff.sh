#!/bin/sh
# The TLS record hand-off (two workers): at the end of its handshake a
# TLS 1.3 connection gives its traffic secrets and record sequence
# numbers to h2gate, which frees the SSL and seals and opens that
# connection's records itself from then on, asleep (243) or awake
# (/status "tls_layer": "h2gate", counted by h2gate_tls_handoffs_total);
# TLS 1.2 as well.  With the C client tlshandoff
# (python's ssl can neither send a KeyUpdate nor pick the suite):
#  1. each TLS 1.3 suite (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305):
#     GET, asleep, eight GETs at once (1 KB to 1 MB, sha256 checked),
#     "h2gate" after the wake, asleep again, woken by a 1 MB POST (its
#     sha256 as the backend answers it), GETs; and a wake, GETs and a 1 MB
#     POST in records the client pads (to 512 bytes);
#  2. a KeyUpdate (update_requested) after the hand-off wakes the
#     connection: the server's KeyUpdate comes back (one, not requesting
#     ours), GETs answer before and after another sleep; then one not
#     requesting the server's: none comes back, a GET answers; one more
#     while a 4 MB body comes: answered, the body whole;
#  3. before any sleep the connection is on "h2gate" already; a KeyUpdate
#     then is answered, it sleeps, wakes and answers;
#  4. a TLS 1.2 client, with each ECDHE AEAD suite: handed off too
#     ("h2gate", "TLSv1.2"), GETs and a 1 MB POST across two sleeps;
#  5. a corrupt record (valid header, garbage) after the hand-off: that
#     connection is closed with bad_record_mac (sealed by h2gate: the
#     client reads it), another one (handed off before) still
#     answers; connections_open / asleep follow;
#  6. close_notify after the hand-off: h2gate closes, the gauges go to 0;
#  7. h2gate_tls_handoffs_total counts exactly the hand-offs above;
#  8. a corrupt record, and close_notify, right after the handshake end
#     the connection (bad_record_mac read by the client).
# The checks collect every failure and report them all at the end.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl
[ -x "${TLSHANDOFF:-}" ] || fail "TLSHANDOFF=${TLSHANDOFF:-} is not the built client (make check builds it)"

make_certs
start_backend A
PT=$(free_port)
PC=$(free_port)
PM=$(free_port)
{
	WORKERS=2 tls_and_clear_config "$BPORT_A"
	printf 'metrics:\n  listen: "127.0.0.1:%s"\n' "$PM"
} | write_config
start_h2gate "$PT" "$PC" "$PM"
M=$T/metrics.txt
metric() { # NAME: its value in a fresh /metrics
	curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$M" && awk -v n="$1" '$1 == n { print $2 }' "$M"
}
gauges_are() { # OPEN ASLEEP
	[ "$(metric h2gate_connections_open)" = "$1" ] && [ "$(metric h2gate_connections_asleep)" = "$2" ]
}
FAILS=()
check() { # EXPECTED ACTUAL WHAT: a failure is kept, the test goes on
	[ "$1" = "$2" ] || FAILS+=("$3: expected [$1], got [$2]")
}
client() { # NAME ARGS...: tlshandoff's JSON in $T/NAME.json
	local name=$1
	shift
	"$TLSHANDOFF" --port "$PT" --status-port "$PM" "$@" >"$T/$name.json" 2>"$T/$name.err" ||
		fail "tlshandoff $name: $(cat "$T/$name.json" "$T/$name.err")"
	log "$name: $(cut -c 1-600 "$T/$name.json")"
}
got() { # NAME EXPR: EXPR on client NAME's JSON (d; s = d["steps"], c = d["conns"])
	json_get "(lambda s, c: $2)(d['steps'], d['conns'])" "$T/$1.json"
}
# expect N...: the [status, length, sha256] of GETs of /size/N...
expect() {
	"$PY" - "$BACKENDS" "$@" <<'EOF'
import json, subprocess, sys
print(json.dumps([[200, int(n), subprocess.check_output([sys.executable, sys.argv[1] + "/httpbackend.py", "--sha", n])
                   .decode().strip()] for n in sys.argv[2:]]))
EOF
}
HANDOFFS=0 # hand-offs the scenarios caused so far
handoffs_are() { [ "$(metric h2gate_tls_handoffs_total)" = "$1" ]; }
handoffs() { # N WHAT: the counter went up by N
	HANDOFFS=$((HANDOFFS + $1))
	wait_until "$H2G_WAIT" handoffs_are "$HANDOFFS" ||
		FAILS+=("$2: h2gate_tls_handoffs_total expected [$HANDOFFS], got [$(metric h2gate_tls_handoffs_total)]")
	HANDOFFS=$(metric h2gate_tls_handoffs_total) # the next scenario counts from what is there
	HANDOFFS=${HANDOFFS:-0}
}
gauges_back() { # OPEN ASLEEP WHAT
	wait_until "$H2G_WAIT" gauges_are "$1" "$2" ||
		FAILS+=("$3: connections_open/asleep expected [$1 $2], got [$(metric h2gate_connections_open) $(metric h2gate_connections_asleep)]")
}
E1K=$(expect 1000)
EWAKE=$(expect 1000 2000 5000 10000 50000 100000 300000 1000000)
E2=$(expect 1000 1000000)
ESMALL=$(expect 1000 100000)
POST="sha256=$(pattern_sha 1000000) bytes=1000000"

# 1. each suite: GET, sleep, wake, sleep, wake, upload
for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	n=suite-$suite
	client "$n" --ciphersuites "$suite" open get:1000 asleep \
		get:1000,2000,5000,10000,50000,100000,300000,1000000 status asleep post:1000000 get:1000,1000000 status
	check "TLSv1.3 $suite" "$(got "$n" 's[0]["version"] + " " + s[0]["cipher"]')" "$n: the suite"
	check "$E1K" "$(got "$n" 's[1]["res"]')" "$n: GET before the sleep"
	check True "$(got "$n" 's[2]["asleep"]')" "$n: asleep"
	check "$EWAKE" "$(got "$n" 's[3]["res"]')" "$n: eight GETs at once wake it"
	check h2gate "$(got "$n" 's[4]["tls_layer"]')" "$n: tls_layer after the wake"
	check True "$(got "$n" 's[5]["asleep"]')" "$n: asleep again"
	check "200 $POST" "$(got "$n" 'str(s[6]["status"]) + " " + s[6]["body"]')" "$n: a 1 MB POST wakes it"
	check "$E2" "$(got "$n" 's[7]["res"]')" "$n: GETs after the POST"
	check h2gate "$(got "$n" 's[8]["tls_layer"]')" "$n: tls_layer at the end"
	check None "$(got "$n" 'c[0]["end"]')" "$n: connection still open"
	handoffs 1 "$n"
done

# 1b. records padded by the client (RFC 8446 5.4: zeros after the type)
client padded --pad 512 open get:1000 asleep get:1000,100000 post:1000000 status
check True "$(got padded 's[2]["asleep"]')" "padded: asleep"
check "$ESMALL" "$(got padded 's[3]["res"]')" "padded: GETs wake it"
check "200 $POST" "$(got padded 'str(s[4]["status"]) + " " + s[4]["body"]')" "padded: 1 MB POST in padded records"
check h2gate "$(got padded 's[5]["tls_layer"]')" "padded: tls_layer"
handoffs 1 padded

# 2. KeyUpdate after the hand-off: it wakes the connection
client ku-after open get:1000 asleep keyupdate get:1000,100000 status asleep get:1000 status \
	keyupdate:not-requested get:1000 get-ku:4000000
check True "$(got ku-after 's[3]["sent"]')" "ku-after: KeyUpdate sent"
check "$ESMALL" "$(got ku-after 's[4]["res"]')" "ku-after: GETs after the KeyUpdate"
check h2gate "$(got ku-after 's[5]["tls_layer"]')" "ku-after: tls_layer"
check True "$(got ku-after 's[6]["asleep"]')" "ku-after: asleep after the KeyUpdate"
check "$E1K" "$(got ku-after 's[7]["res"]')" "ku-after: GET after the second sleep"
check h2gate "$(got ku-after 's[8]["tls_layer"]')" "ku-after: tls_layer after the second sleep"
check True "$(got ku-after 's[9]["sent"]')" "ku-after: KeyUpdate (update_not_requested) sent"
check "$E1K" "$(got ku-after 's[10]["res"]')" "ku-after: GET after the KeyUpdate not requesting one"
check "$(expect 4000000)" "$(got ku-after 's[11]["res"]')" "ku-after: a 4 MB GET with a KeyUpdate midway"
# sent after AT body bytes came: the server, held by the 1 MiB stream
# window, had to send some of the rest after it read the KeyUpdate
check True "$(got ku-after 's[11]["keyupdate"]["sent"] and s[11]["keyupdate"]["at"] + (1 << 20) < 4000000')" \
	"ku-after: that KeyUpdate sent while the body was coming ($(got ku-after 's[11]["keyupdate"]'))"
check "sent 3 received 2 requesting 0" \
	"$(got ku-after '"sent %d received %d requesting %d" % (c[0]["ku_sent"], c[0]["ku_recv"], c[0]["ku_recv_requested"])')" \
	"ku-after: KeyUpdates (the server's own one back, update_not_requested)"
handoffs 1 ku-after

# 3. the hand-off is at the handshake's end: h2gate's records before
# any sleep, a KeyUpdate before the first sleep taken by them
client ku-before open get:1000 status keyupdate get:1000 asleep get:1000,100000 status
check "False h2gate" "$(got ku-before '"%s %s" % (s[2]["asleep"], s[2]["tls_layer"])')" "ku-before: tls_layer before any sleep"
check True "$(got ku-before 's[3]["sent"]')" "ku-before: KeyUpdate sent"
check "$E1K" "$(got ku-before 's[4]["res"]')" "ku-before: GET after the KeyUpdate"
check True "$(got ku-before 's[5]["asleep"]')" "ku-before: asleep"
check "$ESMALL" "$(got ku-before 's[6]["res"]')" "ku-before: GETs after the wake"
check h2gate "$(got ku-before 's[7]["tls_layer"]')" "ku-before: tls_layer"
check "sent 1 received 1" "$(got ku-before '"sent %d received %d" % (c[0]["ku_sent"], c[0]["ku_recv"])')" "ku-before: KeyUpdates"
handoffs 1 ku-before

# 4. TLS 1.2: handed off too, with each AEAD suite h2gate offers (the
#    server's preference picks AES-256-GCM when the client offers all)
for ciphers in DEFAULT ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-CHACHA20-POLY1305; do
	n=tls12-$ciphers
	client "$n" --tls12 --ciphers "$ciphers" open get:1000 asleep get:1000,100000 status asleep post:1000000 get:1000 status
	check TLSv1.2 "$(got "$n" 's[0]["version"]')" "$n: version ($(got "$n" 's[0]["cipher"]'))"
	check "$E1K" "$(got "$n" 's[1]["res"]')" "$n: GET"
	check True "$(got "$n" 's[2]["asleep"]')" "$n: asleep"
	check "$ESMALL" "$(got "$n" 's[3]["res"]')" "$n: GETs after the wake"
	check h2gate "$(got "$n" 's[4]["tls_layer"]')" "$n: tls_layer"
	check TLSv1.2 "$(got "$n" 's[4]["tls_version"]')" "$n: tls_version after the hand-off"
	check True "$(got "$n" 's[5]["asleep"]')" "$n: asleep again"
	check "200 $POST" "$(got "$n" 'str(s[6]["status"]) + " " + s[6]["body"]')" "$n: a 1 MB POST wakes it"
	check "$E1K" "$(got "$n" 's[7]["res"]')" "$n: GET after the second sleep"
	check h2gate "$(got "$n" 's[8]["tls_layer"]')" "$n: tls_layer at the end"
	handoffs 1 "$n"
done
gauges_back 0 0 "after scenarios 1-4"

# 5. a corrupt record after the hand-off; connection 0, opened (and
#    asleep, handed off) before, still answers
client corrupt open asleep open get:1000 asleep status corrupt use:0 get:1000,100000 status asleep gauges:1,1 close
check True "$(got corrupt 's[1]["asleep"]')" "corrupt: the other connection asleep"
check True "$(got corrupt 's[4]["asleep"]')" "corrupt: asleep before the corrupt record"
check h2gate "$(got corrupt 's[5]["tls_layer"]')" "corrupt: tls_layer asleep, before the corrupt record"
check False "$(got corrupt 's[6].get("timeout", True) or s[6].get("end") is None')" "corrupt: closed by h2gate (end: $(got corrupt 's[6].get("end")'))"
check "$ESMALL" "$(got corrupt 's[8]["res"]')" "corrupt: the other connection answers"
check h2gate "$(got corrupt 's[9]["tls_layer"]')" "corrupt: the other connection's tls_layer"
check "1 1" "$(got corrupt '"%d %d" % (s[11]["open"], s[11]["asleep"])')" "corrupt: connections_open/asleep with the other one asleep"
# best effort for h2gate, but on loopback nothing keeps it from arriving
check '["bad record mac"]' "$(got corrupt 'c[1]["alerts"]')" "corrupt: the alerts the client read"
handoffs 2 corrupt
gauges_back 0 0 corrupt

# 6. close_notify after the hand-off
client notify open get:1000 asleep status close-notify
check True "$(got notify 's[2]["asleep"]')" "notify: asleep"
check h2gate "$(got notify 's[3]["tls_layer"]')" "notify: tls_layer asleep, before close_notify"
check False "$(got notify 's[4].get("timeout", True) or s[4].get("end") is None')" "notify: closed by h2gate (end: $(got notify 's[4].get("end")'))"
handoffs 1 notify
gauges_back 0 0 notify

# 7. every hand-off counted, and only those
check 12 "$(metric h2gate_tls_handoffs_total)" "h2gate_tls_handoffs_total at the end"

# 8. a corrupt record, and close_notify, right after the handshake: they
#    meet h2gate's records or, when they arrive with the client's
#    Finished, OpenSSL's (not counted: either may be the one); the client
#    reads bad_record_mac or EOF either way
client corrupt-early open corrupt
check False "$(got corrupt-early 's[1].get("timeout", True) or s[1].get("end") is None')" "corrupt-early: closed by h2gate (end: $(got corrupt-early 's[1].get("end")'))"
check '["bad record mac"]' "$(got corrupt-early 'c[0]["alerts"]')" "corrupt-early: the alerts the client read"
client notify-early open close-notify
check False "$(got notify-early 's[1].get("timeout", True) or s[1].get("end") is None')" "notify-early: closed by h2gate (end: $(got notify-early 's[1].get("end")'))"
gauges_back 0 0 "corrupt-early, notify-early"
stop_h2gate
[ ${#FAILS[@]} -eq 0 ] || fail "$(printf '\n  %s' "${FAILS[@]}")"
pass
