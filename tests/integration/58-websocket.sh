#!/bin/sh
# RFC 8441: with a websocket route the daemon announces
# SETTINGS_ENABLE_CONNECT_PROTOCOL; an extended CONNECT (:protocol
# websocket) becomes an HTTP/1.1 Upgrade to the upstream and gets 200;
# WebSocket frames (text and a 70000-byte binary message, close) flow both
# ways. Extended CONNECT on a path without websocket gets 501 / 400.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need node

start_backend b1
WS=$(free_port)
"$PY" "$BACKENDS/wsbackend.py" --port "$WS" --name wsb >"$T/wsbackend.out" 2>&1 &
_PIDS+=("$!")
wait_port "$WS" "$!" || fail "websocket backend did not start: $(cat "$T/wsbackend.out")"
make_certs
PT=$(free_port)
PC=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
  - address: "127.0.0.1:$PC"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
      - path: /chat
        upstream: "http://127.0.0.1:$WS"
        websocket: true
EOF2
start_h2gate "$PT" "$PC"

for U in "http://127.0.0.1:$PC" "https://127.0.0.1:$PT"; do
	node "$BACKENDS/h2client.js" websocket "$U/chat/room?id=7" --ca "$CERT" >"$T/ws.json" ||
		fail "$U: node websocket client failed: $(cat "$T/ws.json")"
	log "$U: $(cat "$T/ws.json")"
	J=$T/ws.json
	assert_eq True "$(json_get 'd["enableConnectProtocol"]' "$J")" "$U: SETTINGS_ENABLE_CONNECT_PROTOCOL"
	assert_eq 200 "$(json_get 'd["status"]' "$J")" "$U: extended CONNECT status"
	assert_eq "hello wsb /chat/room?id=7" "$(json_get 'd["greeting"]' "$J")" "$U: greeting (path forwarded)"
	assert_eq "ping-1 über" "$(json_get 'd["text_echo"]' "$J")" "$U: text echo"
	assert_eq True "$(json_get 'd["binary_ok"]' "$J")" "$U: 70000-byte binary echo"
	assert_eq 1000 "$(json_get 'd["close_code"]' "$J")" "$U: close handshake"
	assert_eq None "$(json_get 'd.get("error")' "$J")" "$U: client error"
done

# extended CONNECT where no websocket is configured
node "$BACKENDS/h2client.js" websocket "http://127.0.0.1:$PC/plain" >"$T/no.json" ||
	fail "node websocket client failed: $(cat "$T/no.json")"
st=$(json_get 'd["status"]' "$T/no.json")
case "$st" in 501|400) ;; *) fail "extended CONNECT on a non-websocket path: status $st (want 501/400)";; esac
stop_h2gate
pass
