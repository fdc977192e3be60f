#!/bin/sh
# Allocation failures everywhere (a build configured --enable-alloc-fail,
# src/runtime/failalloc.h): every allocation of h2gate, libevent, nghttp2,
# OpenSSL, libyaml and jansson goes through one counter, and
# backends/allocsweep.py fails each allocation of a scenario in turn on
# the running daemon (armed by SIGUSR2 once the scenario's setup is
# done).  Scenarios: a TLS handshake with an h2 GET (and a session
# ticket under listen[].tls.ticket_keys; also after a PROXY protocol v2
# header, on a proxy_protocol listener), a GET that wakes a TLS
# connection asleep (conn_sleep: the TLS filter made again around its
# SSL), an h2c POST with a
# body, an HTTP/1.1 POST, an HTTP/1.1 GET upgraded to h2c (the
# connection's session switch), a WebSocket over HTTP/2 (extended
# CONNECT), a CONNECT tunnel, an h2c POST through an HTTP/2 upstream
# (h2c://, its connection kept between runs), a GET through an https://
# upstream (a TLS handshake to it each run, resumed), an h2c POST through
# an h2:// upstream (TLS, its connection kept between runs), a reload by the control socket, control
# commands (status, sessions, stats); and h2gatectl and `h2gate -t` as
# processes armed from their start.  Each daemon scenario again with 16
# failures in a row from each point ("NAME:16"), so that the code
# handling a failure meets failures of its own.  For every allocation
# failed: no crash, the client gets the right answer (the failure was
# absorbed), a 5xx, a RST_STREAM or a closed connection, never a wrong
# one; the same scenario then succeeds and leaves no connection, stream
# or tunnel behind; a reload answered ok is in force, one that failed
# left the running file.  At the end the daemon stops cleanly with no
# AddressSanitizer (leak) report.  The figures per scenario are logged.
# libevent 2.1.12 drops TLS bytes whose buffer cannot be allocated
# (bio_bufferevent_write ignores evbuffer_add's failure): such a
# connection waits for the handshake or idle timeout, short here (3 s)
# so that it ends as "closed" well within the client's patience.
# Registered only in a build with --enable-alloc-fail (tools/check's
# sanitizer build).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
. "$(dirname "$0")/h2uplib.sh"
. "$(dirname "$0")/tlsuplib.sh"
need h2 node
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"
"$H2GATE" -V | grep -q '^allocation failure injection build' ||
	fail "$H2GATE was not configured with --enable-alloc-fail"
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTLBIN" ] || fail "h2gatectl not built: $CTLBIN"

make_certs
start_backend A
start_backend B
start_tcp echo echo
start_ws ws
start_node_h2 sweep
SCERT=$CERT SKEY=$KEY start_tls_backend tlsb
TLSB=$BPORT
H2CPORT=$HPORT
start_node_h2 sweeptls --tls "$CERT" "$KEY"
H2TLS=$HPORT
HPORT=$H2CPORT
PT=$(free_port)
PC=$(free_port)
PP=$(free_port)
# Session tickets under keys from a file: the reload reads it, every
# handshake encrypts a ticket under it (edge/tls.c ticket_key_cb).
{ echo "# sweep"; openssl rand 80 | base64 -w0; echo; } >"$T/ticket.keys"
conf() { # BACKEND_PORT
	tls_and_clear_config "$1" "*" '      - path: /ws
        upstream: "http://127.0.0.1:'"$WSPORT_ws"'"
        websocket: true
      - path: /h2up/
        upstream: "h2c://127.0.0.1:'"$HPORT"'"
      - path: /close
        upstream: "https://127.0.0.1:'"$TLSB"'"
        upstream_tls:
          ca: '"$CERT"'
      - path: /h2tls/
        upstream: "h2://127.0.0.1:'"$H2TLS"'"
        upstream_tls:
          ca: '"$CERT"'
      - path: /
        upstream: "http://127.0.0.1:$BPORT"' | sed "/^listen:/a\\
  - address: \"127.0.0.1:$PP\"\\
    proxy_protocol: true\\
    tls:\\
      certificate: $CERT\\
      key: $KEY\\
    protocols: [h2, http/1.1]" |
		sed "s|^      key: .*|&\n      ticket_keys: $T/ticket.keys|"
	cat <<EOF2
connect:
  allow: ["127.0.0.1:$TPORT_echo"]
timeouts:
  handshake: 3s
  idle: 3s
EOF2
}
conf "$BPORT_A" >"$T/conf-a.yaml"
conf "$BPORT_B" >"$T/conf-b.yaml"
# `h2gate -t` is swept without the TLS listener: TLS contexts are made in
# the reload sweep, on a warm OpenSSL.  (A process's first SSL_CTX_new
# builds OpenSSL's own tables, and OpenSSL 3.0 leaks when an allocation
# fails there: its defect, not h2gate's, which the daemon's sweeps never
# meet: startup built those tables.)
conf "$BPORT_A" | sed -e '/^  - address: "127.0.0.1:'"$PT"'"/,/^    protocols/d' \
	-e '/^      - path: \/close$/,/^          ca: /d' -e '/^      - path: \/h2tls\//,/^          ca: /d' \
	-e '/^  - address: "127.0.0.1:'"$PP"'"/,/^    protocols/d' >"$T/conf-check.yaml"
grep -q tls: "$T/conf-check.yaml" && fail "conf-check.yaml still has the TLS listener"
cp "$T/conf-a.yaml" "$CONF"
# (H2G_SWEEP_LOG=debug to look into a point: H2G_SWEEP_ONLY=N,...)
[ -n "${H2G_SWEEP_LOG:-}" ] && sed -i "s/level: info/level: $H2G_SWEEP_LOG/" "$CONF" "$T/conf-a.yaml" "$T/conf-b.yaml"
export H2G_FAIL_ALLOC_FILE=$T/arm
start_h2gate "$PT" "$PC" "$PP"

"$PY" "$BACKENDS/allocsweep.py" --pid "$H2G_PID" --log "$T/h2gate.err" --arm "$H2G_FAIL_ALLOC_FILE" \
	--ctl "$T/ctl.sock" --ca "$CERT" --tls-port "$PT" --clear-port "$PC" --proxy-port "$PP" --connect "127.0.0.1:$TPORT_echo" \
	--conf "$CONF" --conf-a "$T/conf-a.yaml" --conf-b "$T/conf-b.yaml" --h2gatectl "$CTLBIN" --h2gate "$H2GATE" \
	--check-conf "$T/conf-check.yaml" \
	${H2G_SWEEP_ONLY:+--only "$H2G_SWEEP_ONLY"} \
	${H2G_SWEEP_SCENARIOS:-tls-handshake tls-wake tls-proxy h2-body http1 h2c-upgrade ws-h2 connect h2c-upstream https-upstream \
		h2-tls-upstream reload control h2gatectl config-check tls-handshake:16 tls-wake:16 tls-proxy:16 h2-body:16 http1:16 h2c-upgrade:16 ws-h2:16 \
		connect:16 h2c-upstream:16 https-upstream:16 h2-tls-upstream:16 reload:16 control:16} \
	>"$T/sweep.out" 2>&1
rc=$?
log "$(cat "$T/sweep.out")"
[ $rc -eq 0 ] || fail "allocation sweep: $(grep '^FAIL' "$T/sweep.out" | head -n 20)"
unset H2G_FAIL_ALLOC_FILE
stop_h2gate
pass "$(grep -c '"scenario"' "$T/sweep.out") scenarios swept"
