#!/bin/sh
# https:// upstreams (HTTP/1.1 over TLS) to a python TLS backend whose
# certificate a test CA signed (DNS backend.test, IP 127.0.0.1), two
# workers:
#  - GET and POST bodies (1 MiB each way) intact, over a verified
#    connection (server_name backend.test against the CA);
#  - keep-alive: 30 requests on at most one upstream TLS connection per
#    worker;
#  - resumption: connections the backend closes are replaced by ones that
#    resume the worker's last session (h2gate_upstream_tls_resumed_total,
#    and the backend says so);
#  - verification: a CA that did not sign the certificate -> 502 and the
#    verify error in the log, counted as an upstream connect error; a
#    server_name the certificate does not cover -> 502; verify: false ->
#    200 (warned at load); an IP literal upstream checked against the
#    certificate's IP SAN -> 200;
#  - mutual TLS: a backend requiring a client certificate -> 502 without
#    one, 200 with upstream_tls certificate/key (the backend sees
#    CN=h2gate-client);
#  - a WebSocket (HTTP/1.1 Upgrade) to a TLS backend: 200 KB echoed
#    through the tunnel over TLS;
#  - h2gatectl upstreams shows the TLS connections (tls, resumed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsuplib.sh"
need curl openssl
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"

make_upstream_certs
start_tls_backend b1
B1=$BPORT
B1LOG=$BLOG
start_tls_backend mt --tls-ca "$CA"
BM=$BPORT
BMLOG=$BLOG
WSP=$(free_port)
"$PY" "$BACKENDS/wsbackend.py" --port "$WSP" --name tws --tls-cert "$SCERT" --tls-key "$SKEY" >"$T/ws.out" 2>&1 &
_PIDS+=("$!")
wait_port "$WSP" "$!" || fail "TLS WebSocket backend did not start: $(cat "$T/ws.out")"
tls_gate "      - path: /
        upstream: \"https://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA
          server_name: backend.test
      - path: /wrongca/
        upstream: \"https://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA2
          server_name: backend.test
      - path: /wrongname/
        upstream: \"https://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA
          server_name: other.test
      - path: /noverify/
        upstream: \"https://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA2
          verify: false
      - path: /ip/
        upstream: \"https://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA
      - path: /mtls-none/
        upstream: \"https://127.0.0.1:$BM\"
        upstream_tls:
          ca: $CA
          server_name: backend.test
      - path: /ws
        upstream: \"https://127.0.0.1:$WSP\"
        websocket: true
        upstream_tls:
          ca: $CA
      - path: /mtls/
        upstream: \"https://127.0.0.1:$BM\"
        upstream_tls:
          ca: $CA
          server_name: backend.test
          certificate: $CCERT
          key: $CKEY"

# Bodies both ways.
body=$(curl -s --max-time 10 "$U/size/1048576" | sha256sum | cut -d' ' -f1)
assert_eq "$(pattern_sha 1048576)" "$body" "GET of 1 MiB through https://"
head -c 1048576 /dev/urandom >"$T/up.bin"
want=$(sha256sum "$T/up.bin" | cut -d' ' -f1)
assert_eq "sha256=$want bytes=1048576" "$(curl -s --max-time 10 --data-binary @"$T/up.bin" "$U/sha256")" \
	"POST of 1 MiB through https://"
assert_eq "sha256=$(printf abc | sha256sum | cut -d' ' -f1) bytes=3" \
	"$(curl -s --max-time 10 -H 'Transfer-Encoding: chunked' --data-binary abc "$U/sha256")" "chunked POST"

# Keep-alive: one TLS connection per worker at most for 30 requests.
before=$(grep -c '^CONN tls' "$B1LOG")
for i in $(seq 1 30); do
	r=$(curl -s --max-time 5 "$U/ka/$i")
	[ "$r" = "backend=b1 path=/ka/$i" ] || fail "request $i: '$r'"
done
after=$(grep -c '^CONN tls' "$B1LOG")
log "upstream TLS connections: $before before, $after after 30 requests"
assert_eq True "$([ $((after - before)) -le 2 ] && echo True)" "30 requests reuse the pooled TLS connections"
assert_eq True "$([ "$(metric h2gate_upstream_tls_handshakes_total)" -le 4 ] && echo True)" "few upstream handshakes"

# Resumption: each /close ends its connection; the next one resumes.
resumed() { [ "$(metric h2gate_upstream_tls_resumed_total)" -ge 1 ]; }
for i in $(seq 1 20); do
	curl -s --max-time 5 -o /dev/null "$U/close"
	resumed && break
done
resumed || fail "no upstream TLS session resumed after 20 new connections"
assert_match 'CONN tls resumed=1' "$(cat "$B1LOG")" "the backend saw a resumed session"
log "handshakes $(metric h2gate_upstream_tls_handshakes_total), resumed $(metric h2gate_upstream_tls_resumed_total)"

# Verification.
ce=$(metric 'h2gate_upstream_errors_total{kind="connect"}')
assert_eq 502 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$U/wrongca/x")" "wrong CA: 502"
wait_until 5 grep -q "upstream 127.0.0.1:$B1: TLS: certificate verify failed: unable to get local issuer certificate" \
	"$T/h2gate.err" || fail "no verify error logged: $(tail -5 "$T/h2gate.err")"
assert_eq True "$([ "$(metric 'h2gate_upstream_errors_total{kind="connect"}')" -gt "$ce" ] && echo True)" \
	"a failed verification counts as an upstream connect error"
assert_eq 502 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$U/wrongname/x")" "server_name mismatch: 502"
wait_until 5 grep -q "TLS: certificate verify failed: [Hh]ostname mismatch" "$T/h2gate.err" ||
	fail "no hostname mismatch logged: $(tail -5 "$T/h2gate.err")"
assert_eq 200 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$U/noverify/x")" "verify: false: 200"
assert_file_match 'upstream_tls.verify: false' "$T/h2gate.err" "verify: false is warned at load"
assert_eq "backend=b1 path=/ip/x" "$(curl -s --max-time 5 "$U/ip/x")" "IP literal upstream checked against its IP SAN"

# Mutual TLS.
assert_eq 502 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$U/mtls-none/x")" \
	"a backend requiring a client certificate, none configured: 502"
assert_eq "backend=mt path=/mtls/x" "$(curl -s --max-time 5 "$U/mtls/x")" "with certificate and key: 200"
assert_match 'CONN tls resumed=[01] subject=commonName=h2gate-client' "$(cat "$BMLOG")" \
	"the backend saw the client certificate"

# A WebSocket to a TLS backend: the tunnel reads and writes through TLS.
timeout 20 "$PY" - "$P" >"$T/ws.res" 2>&1 <<'PYEOF' || fail "WebSocket client: $(cat "$T/ws.res")"
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/ws/x" % sys.argv[1], max_size=None) as ws:
        hello = await ws.recv()
        await ws.send(b"w" * 200000)
        echo = await ws.recv()
        print(hello, len(echo))
asyncio.run(main())
PYEOF
assert_eq "hello tws /ws/x 200000" "$(cat "$T/ws.res")" "WebSocket through an https:// upstream: 200 KB echoed"

# The view: the idle TLS connections, a full or a resumed handshake.
H2GATECTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$H2GATECTL" ]; then
	curl -s --max-time 5 -o /dev/null "$U/view"
	"$H2GATECTL" -s "$T/ctl.sock" --json upstreams >"$T/ups.json" 2>&1 || fail "h2gatectl upstreams: $(cat "$T/ups.json")"
	assert_eq True "$(json_get 'any(o.get("proto") == "https" and o.get("tls") is True and o.get("state") == "idle" for o in d)' "$T/ups.json")" \
		"h2gatectl upstreams --json lists an idle https connection"
	out=$("$H2GATECTL" -s "$T/ctl.sock" upstreams 2>&1) || fail "h2gatectl upstreams: $out"
	log "$out"
	assert_match "https +127.0.0.1:$B1 .* (full|resumed)" "$out" "h2gatectl upstreams: scheme and TLS handshake"
fi
stop_h2gate
pass
