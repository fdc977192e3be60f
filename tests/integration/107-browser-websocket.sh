#!/bin/sh
# A real browser: headless Chromium loads a page through h2gate over TLS
# (the listener offers only h2) and runs `new WebSocket('wss://.../ws')`
# (subprotocol chat): a text and a 64 KiB binary message echo back through
# the python websockets server.  The access log proves the WebSocket went
# over HTTP/2: an extended CONNECT (method=CONNECT proto=h2) on /ws.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"
CHROMIUM=$(command -v chromium || command -v chromium-browser) || skip "chromium not installed"

mkdir -p "$T/www"
cp "$BACKENDS/wspage.html" "$T/www/index.html"
SP=$(free_port)
"$PY" "$BACKENDS/staticpage.py" --port "$SP" --dir "$T/www" --log "$T/static.log" >"$T/static.out" 2>&1 &
_PIDS+=("$!")
wait_port "$SP" "$!" || fail "static page backend did not start: $(cat "$T/static.out")"
start_ws chat
make_certs
PT=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$SP"
      - path: /ws
        upstream: "http://127.0.0.1:$WSPORT_chat"
        websocket: true
EOF2
start_h2gate "$PT"

# (no timing assertion: --dump-dom comes after the load event, which the
# page's <img src="/wait"> holds until its script has its result and has
# requested /done; the outer timeout is a safety net)
timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--disable-dev-shm-usage --user-data-dir="$T/chrome" --ignore-certificate-errors \
	--dump-dom "https://127.0.0.1:$PT/" >"$T/dom.out" 2>"$T/chrome.err"
rc=$?
result=$(grep -o '<pre id="result">[^<]*' "$T/dom.out" | head -n 1 | sed 's/^<pre id="result">//')
log "chromium rc=$rc: $result"
case "$result" in RESULT*) ;; *) fail "no RESULT in the dumped DOM (chromium rc=$rc): $(head -c 400 "$T/dom.out"); stderr: $(tail -n 5 "$T/chrome.err")";; esac
assert_eq "RESULT OK protocol=chat text=hello from chromium binary=65536" "$result" "WebSocket exchange in the browser"
assert_file_match '^GET / 200' "$T/static.log" "the page came from the static backend"
assert_file_match '^GET /done 200' "$T/static.log" "the page's script reported its end"
assert_file_match '^HANDSHAKE path=/ws/browser protocol=chat ' "$T/ws-chat.log" "backend WebSocket handshake"
line=$(access_line 'path="/ws/browser"') || exit 1
log "access: $line"
assert_match 'proto=h2 ' "$line" "the browser's WebSocket went over HTTP/2"
assert_match 'method=CONNECT ' "$line" "the browser's WebSocket is an extended CONNECT"
assert_match 'status=200 ' "$line" "extended CONNECT status"
line=$(access_line 'method=GET path="/"') || exit 1
assert_match 'proto=h2 ' "$line" "the page was loaded over HTTP/2"
stop_h2gate
pass
