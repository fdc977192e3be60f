#!/bin/sh
# Extended CONNECT (RFC 8441) through an HTTP/2 upstream (h2c://) on a
# `websocket: true` route: an HTTP/2 client's CONNECT with :protocol
# websocket reaches an upstream that announced
# SETTINGS_ENABLE_CONNECT_PROTOCOL as an extended CONNECT (:protocol,
# :path, the sec-websocket-* fields), its 200 comes back, and bytes flow
# both ways on the stream (70000 bytes echoed, in several writes).  An
# upstream that does not announce it: 501.  An HTTP/1.1 client's
# Upgrade: websocket to such a route: 501 (not supported).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node h2 curl

start_node_h2 n1
start_h2rst
start_h2c_gate "$HPORT" "        websocket: true
      - path: /plain/
        upstream: \"h2c://127.0.0.1:$RPORT\"
        websocket: true"

wsclient() { # PATH: an extended CONNECT, 70000 bytes sent in 7 writes, the echo read
	node - "$U" "$1" <<'JSEOF'
const http2 = require('http2');
const [url, path] = process.argv.slice(2);
const s = http2.connect(url);
const out = {};
const done = (code) => { console.log(JSON.stringify(out)); s.destroy(); process.exit(code); };
setTimeout(() => { out.error = 'timeout'; done(2); }, 20000);
s.on('error', (e) => { out.error = String(e); done(2); });
s.on('remoteSettings', (st) => {
  out.enableConnectProtocol = st.enableConnectProtocol;
  if (out.req) return;
  out.req = true;
  const req = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': path, ':scheme': 'http',
                          ':authority': new URL(url).host, 'sec-websocket-version': '13' });
  let got = 0;
  req.on('response', (h) => {
    out.status = h[':status'];
    out.protocol = h['x-protocol'] || null;
    if (out.status !== 200) return;
    for (let i = 0; i < 7; i++) req.write(Buffer.alloc(10000, 'w'));
  });
  req.on('data', (d) => {
    got += d.length;
    if (got === 70000) { out.echoed = got; req.end(); }
  });
  req.on('end', () => { out.ended = true; done(0); });
  req.on('error', (e) => { out.error = String(e); done(0); });
});
JSEOF
}

wsclient /chat >"$T/ws.json" || fail "node websocket client: $(cat "$T/ws.json")"
log "$(cat "$T/ws.json")"
assert_eq True "$(json_get 'd["enableConnectProtocol"]' "$T/ws.json")" "h2gate announces extended CONNECT"
assert_eq "200 websocket 70000 True" \
	"$(json_get '" ".join(str(d.get(k)) for k in ["status", "protocol", "echoed", "ended"])' "$T/ws.json")" \
	"extended CONNECT through the h2c upstream: 200, then 70000 bytes echoed"
rec=$(grep '"ev":"stream".*"path":"/chat"' "$HLOG" | head -1)
assert_match '":method":"CONNECT"' "$rec" "the upstream got CONNECT"
assert_match '":protocol":"websocket"' "$rec" "the upstream got :protocol"
assert_match '"sec-websocket-version":"13"' "$rec" "sec-websocket-version passed"

wsclient /plain/chat >"$T/plain.json" || fail "node websocket client: $(cat "$T/plain.json")"
assert_eq 501 "$(json_get 'd["status"]' "$T/plain.json")" "an upstream without SETTINGS_ENABLE_CONNECT_PROTOCOL: 501"

code=$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$U/chat")
assert_eq 501 "$code" "HTTP/1.1 WebSocket upgrade to an h2c upstream: 501"
stop_h2gate
pass
