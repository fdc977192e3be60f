# Helpers for the TLS session-ticket tests (15-*, 16-*, 420-fleet), sourced after
# lib.sh and opslib.sh: instances with their own log and control socket,
# and one TLS handshake's verdict.  Needs make_certs and start_backend.

# start_memcached: a private memcached on a free port; sets MP (its port)
# and MC_PID; stopped by the cleanup.
start_memcached() {
	local user=()
	MP=$(free_port)
	[ "$(id -u)" -eq 0 ] && user=(-u root) # memcached refuses to run as root without it
	memcached -l 127.0.0.1 -p "$MP" -U 0 "${user[@]}" >"$T/memcached.out" 2>&1 &
	MC_PID=$!
	_PIDS+=("$MC_PID")
	wait_port "$MP" "$MC_PID" || fail "memcached did not start: $(cat "$T/memcached.out")"
}

# newkey: one ticket key line (base64 of 80 random bytes).
newkey() { openssl rand 80 | base64 -w0; echo; }

# ticket_conf NAME PORT KEYLINE: a config for instance NAME; KEYLINE is
# the tls: line that names the keys ("ticket_keys: FILE", ...).
ticket_conf() {
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
      $3
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
}

# start_other NAME PORT KEYLINE: another instance (stderr $T/NAME.err),
# stopped by the cleanup.
start_other() {
	ticket_conf "$1" "$2" "$3" >"$T/$1.yaml"
	"$H2GATE" -c "$T/$1.yaml" >"$T/$1.out" 2>"$T/$1.err" &
	_PIDS+=("$!")
	wait_port "$2" "$!" || fail "instance $1 did not start: $(tail -n 5 "$T/$1.err")"
}

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
