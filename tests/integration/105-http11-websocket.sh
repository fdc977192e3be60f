#!/bin/sh
# HTTP/1.1 WebSocket clients on the same listeners as h2 (protocols [h2,
# http/1.1]): the python websockets client (Upgrade: websocket,
# subprotocol chat) to a `websocket: true` route, cleartext and TLS: 101
# passed through, then text and binary messages echo both ways, close
# handshake; access log proto=http/1.1 status=101.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"

start_ws chat
make_certs
PC=$(free_port)
PT=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PC"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /ws
        upstream: "http://127.0.0.1:$WSPORT_chat"
        websocket: true
EOF2
start_h2gate "$PC" "$PT"
H1=("$PY" "$BACKENDS/h1tunnel.py")

for U in "ws://127.0.0.1:$PC/ws/h1" "wss://127.0.0.1:$PT/ws/h1s"; do
	J=$T/ws.json
	"${H1[@]}" ws "$U" --protocol chat >"$J" || fail "$U: websocket client failed: $(cat "$J")"
	log "$U: $(cat "$J")"
	assert_eq None "$(json_get 'd.get("error")' "$J")" "$U: websocket client error"
	assert_eq chat "$(json_get 'd["subprotocol"]' "$J")" "$U: negotiated subprotocol"
	assert_eq 5 "$(json_get 'd["echoed"]' "$J")" "$U: text messages echoed"
	assert_eq True "$(json_get 'd["binary_ok"]' "$J")" "$U: binary message echoed"
	assert_eq 1000 "$(json_get 'd["close_code"]' "$J")" "$U: close code"
done
assert_file_match '^HANDSHAKE path=/ws/h1 protocol=chat ' "$T/ws-chat.log" "backend handshake (cleartext)"
assert_file_match '^HANDSHAKE path=/ws/h1s protocol=chat ' "$T/ws-chat.log" "backend handshake (TLS)"
line=$(access_line 'path="/ws/h1"') || exit 1
log "access: $line"
assert_match 'proto=http/1.1 ' "$line" "access log proto of the HTTP/1.1 websocket"
assert_match 'status=101 ' "$line" "access log status of the HTTP/1.1 websocket"

stop_h2gate
pass
