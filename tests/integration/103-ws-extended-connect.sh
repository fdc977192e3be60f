#!/bin/sh
# RFC 8441 WebSocket over HTTP/2 (node http2 client, h2c and TLS): the
# server announces SETTINGS_ENABLE_CONNECT_PROTOCOL; an extended CONNECT
# (:protocol websocket, sec-websocket-protocol chat, origin) to a
# `websocket: true` route becomes an HTTP/1.1 Upgrade to the python
# websockets echo server (which sees version 13, the offered protocol and
# the origin); the client gets 200 with the negotiated
# sec-websocket-protocol; a masked text frame and a 100 KiB masked binary
# frame come back unchanged; close handshake.  Negotiated extensions
# (permessage-deflate) are passed back too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"

start_ws chat
start_ws defl --deflate
make_certs
PC=$(free_port)
PT=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PC"
    protocols: [h2]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /chat
        upstream: "http://127.0.0.1:$WSPORT_chat"
        websocket: true
      - path: /deflate
        upstream: "http://127.0.0.1:$WSPORT_defl"
        websocket: true
EOF2
start_h2gate "$PC" "$PT"

n=0
for U in "http://127.0.0.1:$PC" "https://127.0.0.1:$PT"; do
	n=$((n + 1))
	J=$T/ws$n.json
	h2tun ws "$U" "/chat/room?x=$n" --protocol chat --origin https://page.test --ca "$CERT" >"$J" ||
		fail "$U: node websocket client failed: $(cat "$J")"
	log "$U: $(head -c 800 "$J")"
	assert_eq True "$(json_get 'd["enableConnectProtocol"]' "$J")" "$U: SETTINGS_ENABLE_CONNECT_PROTOCOL"
	assert_eq 200 "$(json_get 'd["status"]' "$J")" "$U: extended CONNECT status"
	assert_eq chat "$(json_get 'd["headers"].get("sec-websocket-protocol")' "$J")" "$U: negotiated sec-websocket-protocol"
	assert_eq "hello über h2gate" "$(json_get 'd["text_echo"]' "$J")" "$U: text frame echo"
	assert_eq True "$(json_get 'd["binary_ok"]' "$J")" "$U: 100 KiB binary frame echo"
	assert_eq 1000 "$(json_get 'd["close_code"]' "$J")" "$U: close handshake"
	assert_eq None "$(json_get 'd.get("error")' "$J")" "$U: client error"
	wait_until 5 grep -q "^HANDSHAKE path=/chat/room?x=$n " "$T/ws-chat.log" || fail "$U: backend saw no handshake for /chat/room?x=$n"
	hs=$(grep "^HANDSHAKE path=/chat/room?x=$n " "$T/ws-chat.log")
	assert_match ' protocol=chat ' "$hs" "$U: subprotocol the backend chose"
	assert_match ' origin=https://page.test ' "$hs" "$U: Origin passed to the backend"
	assert_match ' version=13 ' "$hs" "$U: Sec-WebSocket-Version to the backend"
	assert_match ' offered=chat ' "$hs" "$U: Sec-WebSocket-Protocol passed to the backend"
done
wait_until 5 grep -q '^ECHO 2$' "$T/ws-chat.log" || fail "backend did not echo 2 messages per session: $(cat "$T/ws-chat.log")"

# no subprotocol offered: none in the answer
J=$T/noproto.json
h2tun ws "http://127.0.0.1:$PC" /chat --size 10 >"$J" || fail "node websocket client failed: $(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "extended CONNECT without a subprotocol"
assert_eq None "$(json_get 'd["headers"].get("sec-websocket-protocol")' "$J")" "sec-websocket-protocol when none was offered"
assert_eq "hello über h2gate" "$(json_get 'd["text_echo"]' "$J")" "text echo without a subprotocol"

# extensions: offered to the backend, the negotiated ones answered
J=$T/defl.json
h2tun ws "http://127.0.0.1:$PC" /deflate --extensions 'permessage-deflate; client_max_window_bits' --handshake-only >"$J" ||
	fail "node websocket client failed: $(cat "$J")"
log "deflate: $(cat "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "extended CONNECT offering permessage-deflate"
assert_match '^permessage-deflate' "$(json_get 'd["headers"].get("sec-websocket-extensions")' "$J")" "negotiated sec-websocket-extensions"
wait_until 5 grep -q '^HANDSHAKE path=/deflate ' "$T/ws-defl.log" || fail "deflate backend saw no handshake"
assert_match 'extensions=permessage-deflate' "$(grep '^HANDSHAKE path=/deflate ' "$T/ws-defl.log")" "Sec-WebSocket-Extensions passed to the backend"

line=$(access_line 'method=CONNECT path="/chat/room\?x=1"') || exit 1
log "access: $line"
assert_match 'status=200' "$line" "access log status"
assert_match "upstream=127.0.0.1:$WSPORT_chat" "$line" "access log upstream"
stop_h2gate
pass
