#!/bin/sh
# listen[].tls.ticket_keys_memcached: instances that share a memcached
# share their session-ticket keys (key "h2gate:ticket-keys"):
#  - the first instance finds the key absent, makes keys and adds them;
#    the second takes them: sessions resume across the two (TLS 1.3, 1.2);
#  - the value in memcached has the ticket_keys file's format;
#  - rotation: with the value gone (deleted here, expired after its hour
#    in life), A's next refresh adds a new key with the old one second;
#    old sessions still resume, B takes the new keys;
#  - memcached stopped (SIGSTOP: connects, never answers) during a
#    refresh (a reload asks at once): requests are served promptly,
#    sessions still resume on the last keys, and "no answer within 5 s;
#    keeping the last keys" is logged; memcached gone (connection
#    refused): the same.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/ticketlib.sh"
need openssl memcached curl

make_certs
start_backend b1
start_memcached

PA=$(free_port)
PB=$(free_port)
ticket_conf a "$PA" "ticket_keys_memcached: \"127.0.0.1:$MP\"" | write_config
CTL_SOCK=$T/ctl-a.sock
start_h2gate "$PA"
wait_err "1 key\(s\) from memcached 127.0.0.1:$MP" || fail "A got no keys: $(tail -n 5 "$T/h2gate.err")"
start_other b "$PB" "ticket_keys_memcached: \"127.0.0.1:$MP\""
wait_until "$H2G_WAIT" grep -q "1 key(s) from memcached" "$T/b.err" || fail "B got no keys: $(tail -n 5 "$T/b.err")"

# mc COMMAND...: one memcached request (CRLF added), its reply's lines
# (the value of a get without the VALUE and END lines).
mc() {
	"$PY" - "$MP" "$@" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("\r\n".join(sys.argv[2:]) + "\r\n").encode())
data = b""
while not data.endswith((b"END\r\n", b"DELETED\r\n", b"NOT_FOUND\r\n")):
    data += s.recv(4096)
lines = data.decode().split("\r\n")
print("\n".join(l for l in lines if l and not l.startswith(("VALUE", "END"))))
PYEOF
}
# The value A added: one key line in the file's format.
val=$(mc "get h2gate:ticket-keys")
assert_match '^[A-Za-z0-9+/]{107}=$' "$val" "the key in memcached"

for v in tls1_3 tls1_2; do
	assert_eq New "$(handshake "$PA" "$v" "$T/a-$v")" "$v: first handshake on A"
	assert_eq Reused "$(handshake "$PB" "$v" "$T/b-$v" "$T/a-$v")" "$v: A's session on B (same memcached)"
	assert_eq New "$(handshake "$PB" "$v" "$T/b0-$v")" "$v: first handshake on B"
	assert_eq Reused "$(handshake "$PA" "$v" "$T/a2-$v" "$T/b0-$v")" "$v: B's session on A"
done

# Rotation: the value is gone (its hour is over); the next refresh (a
# reload) of A adds a new key with the old one second; B takes both.
assert_eq DELETED "$(mc "delete h2gate:ticket-keys")" "delete the keys"
rep=$(ctl reload) || fail "reload of A: $rep"
wait_err "2 key\(s\) from memcached" || fail "A did not rotate: $(tail -n 5 "$T/h2gate.err")"
rot=$(mc "get h2gate:ticket-keys")
assert_eq 2 "$(wc -l <<<"$rot")" "keys after the rotation"
assert_eq "$val" "$(sed -n 2p <<<"$rot")" "the previous key second"
assert_ne "$val" "$(sed -n 1p <<<"$rot")" "a new first key"
assert_eq Reused "$(handshake "$PA" tls1_2 "$T/r1" "$T/a-tls1_2")" "rotation: an old session on A"
grep -q NewSessionTicket "$T/last.out" || fail "rotation: no new ticket for a session under the old key"
assert_eq New "$(handshake "$PA" tls1_3 "$T/rn")" "rotation: a new session on A"
rep=$(CTL_SOCK=$T/ctl-b.sock ctl reload) || fail "reload of B: $rep"
wait_until "$H2G_WAIT" grep -q "2 key(s) from memcached" "$T/b.err" || fail "B did not take the rotated keys"
assert_eq Reused "$(handshake "$PB" tls1_3 "$T/rb" "$T/rn")" "rotation: A's new-key session on B"
assert_eq Reused "$(handshake "$PB" tls1_3 "$T/rb2" "$T/a-tls1_3")" "rotation: an old session on B"

# prompt WHAT: a GET over TLS answers within a second.
prompt() {
	local t0 t1 code
	t0=$(date +%s%N)
	code=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PA/p") || code=ERR
	t1=$(date +%s%N)
	assert_eq 200 "$code" "$1: GET status"
	[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fail "$1: GET took $(((t1 - t0) / 1000000)) ms"
}

# memcached stops answering; a reload asks it at once.
kill -STOP "$MC_PID"
rep=$(timeout 5 "$PY" "$BACKENDS/ctlclient.py" "$CTL_SOCK" reload) || fail "reload with memcached stopped: $rep"
for i in 1 2 3 4; do
	prompt "memcached stopped, GET $i"
	assert_eq Reused "$(handshake "$PA" tls1_3 "$T/s$i" "$T/a-tls1_3")" "memcached stopped: resumption $i on A"
	sleep 0.5
done
wait_err "memcached 127.0.0.1:$MP: no answer within 5 s; keeping the last keys" 1 12 ||
	fail "no 'keeping the last keys' after a silent memcached: $(tail -n 5 "$T/h2gate.err")"
assert_eq Reused "$(handshake "$PA" tls1_2 "$T/s5" "$T/a-tls1_2")" "after the timeout: resumption on A"
assert_eq Reused "$(handshake "$PB" tls1_2 "$T/s6" "$T/a-tls1_2")" "after the timeout: A's session on B"

# memcached gone: connection refused.
kill -CONT "$MC_PID"
kill -TERM "$MC_PID"
wait "$MC_PID" 2>/dev/null
before=$(err_count "keeping the last keys")
rep=$(ctl reload) || fail "reload with memcached gone: $rep"
prompt "memcached gone"
assert_eq Reused "$(handshake "$PA" tls1_3 "$T/g1" "$T/a-tls1_3")" "memcached gone: resumption on A"
# Logged once per outage, not at every refresh: the count stays.
sleep 1
assert_eq "$before" "$(err_count "keeping the last keys")" "one line per outage"
stop_h2gate
pass
