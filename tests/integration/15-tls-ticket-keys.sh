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
need openssl

make_certs
start_backend b1
newkey() { openssl rand 80 | base64 -w0; echo; }
{ echo "# ticket keys: the first encrypts"; newkey; } >"$T/keys1"
newkey >"$T/keys2"

# conf NAME PORT KEYS: a config for instance NAME with its own log and
# control socket.
conf() {
	cat <<EOF2
workers: 2
log:
  level: info
  access: $T/access-$1.log
control:
  socket: $T/ctl-$1.sock
listen:
  - address: "127.0.0.1:$2"
    tls:
      certificate: $CERT
      key: $KEY
      ticket_keys: $3
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
}
PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
conf a "$PA" "$T/keys1" | write_config
CTL_SOCK=$T/ctl-a.sock
start_h2gate "$PA"
# start_other NAME PORT KEYS: another instance, stopped by the cleanup.
start_other() {
	conf "$1" "$2" "$3" >"$T/$1.yaml"
	"$H2GATE" -c "$T/$1.yaml" >"$T/$1.out" 2>"$T/$1.err" &
	_PIDS+=("$!")
	wait_port "$2" "$!" || fail "instance $1 did not start: $(tail -n 5 "$T/$1.err")"
}
start_other b "$PB" "keys1"
start_other c "$PC" "$T/keys2"

# handshake PORT VERSION SESS_OUT [SESS_IN]: one HTTP/1.1 request over a
# fresh TLS connection; prints "New" or "Reused" (s_client's verdict) and
# leaves s_client's output (with -msg: the handshake messages) in
# $T/last.out.
handshake() {
	local in=() out
	[ -n "${4:-}" ] && in=(-sess_in "$4")
	out=$(printf 'GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$1" -"$2" -alpn http/1.1 \
			-sess_out "$3" "${in[@]}" -msg -ign_eof 2>&1)
	echo "$out" >"$T/last.out"
	grep -q "^HTTP/1.1 200" <<<"$out" || { echo "NO-RESPONSE"; echo "$out" >"$T/noresp.out"; return; }
	sed -n 's/^\(New\|Reused\), TLSv.*/\1/p' <<<"$out" | head -n 1
}

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
conf d "$(free_port)" "$T/keys1" >"$T/d.yaml"
out=$(timeout 10 "$H2GATE" -c "$T/d.yaml" 2>&1)
assert_ne 0 "$?" "start with a bad keys file"
assert_match "$T/keys1:3: " "$out" "start error names FILE:LINE"
mv "$T/keys1.good" "$T/keys1"
stop_h2gate
pass
