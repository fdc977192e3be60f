#!/bin/sh
# listen[].tls.ticket_keys: instances that read the same keys file resume
# each other's TLS sessions (TLS 1.3 and 1.2 session tickets):
#  - a session from instance A resumes on instance B ("Reused"), and back;
#    a resumed TLS 1.3 session gets a new ticket (as with OpenSSL's keys);
#  - instance C, with another keys file, does not resume it ("New");
#  - rotation: A reloads a file with a new first key and the old key
#    second: the old session still resumes on A, and A's new tickets (new
#    key) resume on A but not on B (old key only);
#  - a bad keys file fails the reload with FILE:LINE (the old keys stay),
#    is refused by -t and at start.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/ticketlib.sh"
need openssl

make_certs
start_backend b1
{ echo "# ticket keys: the first encrypts"; newkey; } >"$T/keys1"
newkey >"$T/keys2"

PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
ticket_conf a "$PA" "ticket_keys: $T/keys1" | write_config
CTL_SOCK=$T/ctl-a.sock
start_h2gate "$PA"
start_other b "$PB" "ticket_keys: keys1"
start_other c "$PC" "ticket_keys: $T/keys2"

for v in tls1_3 tls1_2; do
	assert_eq New "$(handshake "$PA" "$v" "$T/a-$v")" "$v: first handshake on A"
	assert_eq Reused "$(handshake "$PA" "$v" "$T/a2-$v" "$T/a-$v")" "$v: A's session on A"
	# A new ticket: always in TLS 1.3, not in TLS 1.2 under the first key.
	n=$(grep -c NewSessionTicket "$T/last.out")
	if [ "$v" = tls1_3 ]; then assert_ne 0 "$n" "$v: new ticket on resumption"
	else assert_eq 0 "$n" "$v: no new ticket on resumption under the first key"; fi
	assert_eq Reused "$(handshake "$PB" "$v" "$T/b-$v" "$T/a-$v")" "$v: A's session on B (same keys file)"
	assert_eq New "$(handshake "$PB" "$v" "$T/b0-$v")" "$v: first handshake on B"
	assert_eq Reused "$(handshake "$PA" "$v" "$T/a3-$v" "$T/b0-$v")" "$v: B's session on A"
	assert_eq New "$(handshake "$PC" "$v" "$T/c-$v" "$T/a-$v")" "$v: A's session on C (other keys)"
done

# Rotation: a new first key, the old one second.
{ newkey; echo "# the previous key, to decrypt"; grep -v '^#' "$T/keys1"; } >"$T/keys1.new"
mv "$T/keys1.new" "$T/keys1"
rep=$(ctl reload) || fail "reload with rotated keys: $rep"
for v in tls1_3 tls1_2; do
	assert_eq Reused "$(handshake "$PA" "$v" "$T/r-$v" "$T/a-$v")" "$v: old session on A after rotation"
	grep -q NewSessionTicket "$T/last.out" || fail "$v: no new ticket for a session resumed under the second key"
	assert_eq New "$(handshake "$PA" "$v" "$T/n-$v")" "$v: full handshake on A after rotation"
	assert_eq Reused "$(handshake "$PA" "$v" "$T/n2-$v" "$T/n-$v")" "$v: new-key ticket on A"
	assert_eq New "$(handshake "$PB" "$v" "$T/n3-$v" "$T/n-$v")" "$v: A's new-key ticket on B (old key only)"
done

# A bad file: the reload fails with its position; the old keys stay.
cp "$T/keys1" "$T/keys1.good"
printf '# a short key\n%s\nQUJD\n' "$(newkey)" >"$T/keys1"
rep=$(ctl reload)
[ $? -eq 1 ] || fail "reload with a bad keys file: expected ok:false, got: $rep"
assert_match "$T/keys1:3: a key is the base64 of 80 bytes" "$rep" "reload error names FILE:LINE"
assert_eq Reused "$(handshake "$PA" tls1_3 "$T/f" "$T/n-tls1_3")" "old keys kept after the failed reload"
out=$("$H2GATE" -t -c "$CONF" 2>&1)
assert_eq 1 "$?" "-t on a config with a bad keys file"
assert_match "$T/keys1:3: " "$out" "-t names FILE:LINE"
ticket_conf d "$(free_port)" "ticket_keys: $T/keys1" >"$T/d.yaml"
out=$(timeout 10 "$H2GATE" -c "$T/d.yaml" 2>&1)
assert_ne 0 "$?" "start with a bad keys file"
assert_match "$T/keys1:3: " "$out" "start error names FILE:LINE"
mv "$T/keys1.good" "$T/keys1"
stop_h2gate
pass
