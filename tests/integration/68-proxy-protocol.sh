#!/bin/sh
# listen[].proxy_protocol: true: a PROXY protocol v1 or v2 header before
# the connection's bytes (cleartext h2c / HTTP/1.1 and TLS, the header
# before the ClientHello) carries the client's address, which the
# upstream sees in X-Forwarded-For and Forwarded and the access log and
# h2gatectl sessions show; v2 LOCAL and v1 UNKNOWN keep the connection's
# own peer; v2 TLVs are skipped; no header or a bad one: closed; a header
# that never completes: closed at timeouts.handshake; a listener without
# the key answers "PROXY ..." as the bad request it is.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need openssl

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
make_certs
start_backend b1
PP=$(free_port)
PPT=$(free_port)
PN=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PP"
    proxy_protocol: true
  - address: "127.0.0.1:$PPT"
    proxy_protocol: true
    tls:
      certificate: $CERT
      key: $KEY
  - address: "127.0.0.1:$PN"
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
timeouts:
  handshake: 2s
EOF2
start_h2gate "$PP" "$PPT" "$PN"

client() {
	"$PY" "$BACKENDS/proxyclient.py" "$@"
}
hdr() { # FILE NAME: the values of header NAME joined by " | "
	json_get '" | ".join(v for n, v in d["headers"] if n.lower() == "'"$2"'")' "$1"
}

# check NAME WANT_XFF CLIENT_ARGS...: one request, X-Forwarded-For and
# Forwarded at the backend, the access log's client=.
n=0
check() {
	local name=$1 want=$2 line
	shift 2
	n=$((n + 1))
	client --path "/echo-headers?n=$n" "$@" >"$T/$name.json" 2>"$T/$name.err" || fail "$name: client failed: $(cat "$T/$name.err")"
	grep -q '"headers"' "$T/$name.json" || fail "$name: no response: $(cat "$T/$name.json")"
	assert_eq "$want" "$(hdr "$T/$name.json" x-forwarded-for)" "$name: X-Forwarded-For"
	assert_match "for=\"?\\[?$want" "$(hdr "$T/$name.json" forwarded)" "$name: Forwarded for="
	line=$(access_line "path=\"/echo-headers\\?n=$n\"") || exit 1
	CLIENT=$(logfmt_get client "$line")
}

check v1-h1 192.0.2.7 --port "$PP" --header v1 --proto h1
assert_eq "192.0.2.7:56324" "$CLIENT" "v1 h1: access log client"
check v1-h2c 192.0.2.8 --port "$PP" --header v1 --proto h2 --src 192.0.2.8 --sport 1000
assert_eq "192.0.2.8:1000" "$CLIENT" "v1 h2c: access log client"
assert_match "proto=h2c" "$(tail -n 1 "$ACCESS")" "v1 h2c: served as h2c"
check v1-tcp6 2001:db8::5 --port "$PP" --header v1 --proto h1 --src 2001:db8::5
assert_eq "[2001:db8::5]:56324" "$CLIENT" "v1 TCP6: access log client"
check v2-h2c 198.51.100.9 --port "$PP" --header v2 --proto h2 --src 198.51.100.9 --sport 4242
assert_eq "198.51.100.9:4242" "$CLIENT" "v2 h2c: access log client"
check v2-tlv 198.51.100.10 --port "$PP" --header v2-tlv --proto h1 --src 198.51.100.10
check v2-mapped 192.0.2.44 --port "$PP" --header v2 --proto h1 --src ::ffff:192.0.2.44
assert_eq "192.0.2.44:56324" "$CLIENT" "v2 IPv4-mapped IPv6: shown as IPv4"
check v2-local 127.0.0.1 --port "$PP" --header v2-local --proto h1
assert_match "^127\.0\.0\.1:[0-9]+$" "$CLIENT" "v2 LOCAL: the connection's own peer"
check v1-unknown 127.0.0.1 --port "$PP" --header v1-unknown --proto h2
check tls-v1-h2 203.0.113.1 --port "$PPT" --tls --header v1 --proto h2 --src 203.0.113.1
assert_match "proto=h2 " "$(tail -n 1 "$ACCESS")" "TLS v1: served as h2"
check tls-v2-h1 203.0.113.2 --port "$PPT" --tls --header v2-tlv --proto h1 --src 203.0.113.2
assert_eq "203.0.113.2:56324" "$CLIENT" "TLS v2: access log client"
check tls-v2-local 127.0.0.1 --port "$PPT" --tls --header v2-local --proto h1

# --- h2gatectl sessions shows the carried address
if [ -x "$CTL" ]; then
	client --port "$PP" --header v2 --proto h2 --src 198.51.100.77 --sport 777 --path "/slow?ms=3000" >"$T/slow.out" 2>&1 &
	cpid=$!
	wait_until "$H2G_WAIT" grep -q 'REQ GET /slow?ms=3000 ' "$BLOG" || fail "slow request never reached the upstream"
	"$CTL" -s "$T/ctl.sock" --json sessions >"$T/sessions.json" 2>"$T/ctl.err" || fail "h2gatectl sessions: $(cat "$T/ctl.err")"
	assert_eq 1 "$(json_get 'len([s for s in d if s["peer"] == "198.51.100.77:777"])' "$T/sessions.json")" "h2gatectl sessions peer"
	wait "$cpid"
fi

# --- refused: no header, a bad header, a header that never completes
for kind in none garbage; do
	for proto in h1 h2; do
		assert_eq closed "$(client --port "$PP" --header "$kind" --proto "$proto")" "cleartext $proto, header $kind: closed"
	done
	assert_eq closed "$(client --port "$PPT" --tls --header "$kind" --proto h1)" "TLS, header $kind: closed"
done
assert_file_match "bad PROXY protocol header \(PROXY v1: malformed address\)" "$T/h2gate.err" "bad header logged"
out=$(client --port "$PP" --header partial --hold 10)
assert_match "^closed [1-4]\." "$out" "cleartext: a partial header closed at the handshake timeout ($out)"
# (several at once: the TLS handshake must not see the held bytes when
# the socket turns writable)
pids=()
for i in 1 2 3 4; do
	client --port "$PPT" --header partial --hold 10 >"$T/partial-$i.out" 2>&1 &
	pids+=("$!")
done
wait "${pids[@]}"
for i in 1 2 3 4; do
	out=$(cat "$T/partial-$i.out")
	assert_match "^closed [1-4]\." "$out" "TLS: a partial header closed at the handshake timeout ($out)"
done

# --- a listener without proxy_protocol: "PROXY ..." is a bad request
out=$(client --port "$PN" --header plain-proxy --proto h1)
assert_match "^HTTP/1\.1 400" "$out" "no proxy_protocol: PROXY line answered 400"
"${CURL[@]}" "http://127.0.0.1:$PN/echo-headers" >"$T/plain.json" || fail "plain listener request failed"
assert_eq 127.0.0.1 "$(hdr "$T/plain.json" x-forwarded-for)" "plain listener: peer address"
stop_h2gate
pass
