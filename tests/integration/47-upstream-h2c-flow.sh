#!/bin/sh
# Flow control end to end through an HTTP/2 upstream (h2c://, node): a
# client that does not read a 64 MiB response stalls only its own
# upstream stream.  Meanwhile 20 other requests of the same client
# session complete over the same upstream connection; the upstream could
# push only a few windows' worth of the big body (not 64 MiB); the
# daemon's memory does not grow with it.  Once the client reads, the
# whole body arrives intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need node

start_node_h2 n1
start_h2c_gate "$HPORT"
BIG=67108864

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$H2G_PID/status"; }
# A first request warms the worker up (its upstream connection, caches).
"${CURL[@]}" --http2-prior-knowledge "$U/hello" >/dev/null || fail "warm-up request failed"
rss0=$(rss)

mkfifo "$T/go"
node - "$U" "$BIG" "$T/go" >"$T/flow.json" 2>"$T/flow.err" <<'JSEOF' &
const http2 = require('http2');
const fs = require('fs');
const [url, big, go] = process.argv.slice(2);
const s = http2.connect(url);
const out = { small: 0 };
const bigReq = s.request({ ':path': '/big/' + big });
let bigBytes = 0;
bigReq.on('data', (d) => { bigBytes += d.length; });
bigReq.pause();                       // reads nothing: its window closes
bigReq.on('response', () => {
  let left = 20;
  for (let i = 0; i < 20; i++) {
    const r = s.request({ ':path': '/hello' });
    let body = '';
    r.on('data', (d) => { body += d; });
    r.on('end', () => {
      if (body === 'hello\n') out.small++;
      if (--left === 0) {
        console.log(JSON.stringify({ small: out.small, bigBytes }));
        // the test samples the daemon, then says go: read the rest
        fs.readFile(go, () => {
          bigReq.on('end', () => {
            console.log(JSON.stringify({ bigBytes }));
            s.close();
            process.exit(0);
          });
          bigReq.resume();
        });
      }
    });
  }
});
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', bigBytes })); process.exit(2); }, 60000);
JSEOF
NODE_PID=$!
_PIDS+=("$NODE_PID")
wait_until 20 grep -q small "$T/flow.json" || fail "the other streams did not complete: $(cat "$T/flow.json" "$T/flow.err")"
assert_eq 20 "$(head -1 "$T/flow.json" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["small"])')" \
	"20 requests complete while a stream of the same session is stalled"
sess_big=$(grep '"ev":"stream".*"path":"/big/' "$HLOG" | sed 's/.*"session":\([0-9]*\).*/\1/')
sess_small=$(grep '"ev":"stream".*"path":"/hello"' "$HLOG" | tail -20 | sed 's/.*"session":\([0-9]*\).*/\1/' | sort -u)
assert_eq "$sess_big" "$sess_small" "the stalled stream and the 20 others share one upstream connection"
# The upstream stalled (its write said wait): it pushed a few windows
# (the client's 1 MiB, h2gate's 64 KiB buffer and window, node's
# buffers), not the body.
wait_until 10 grep -q '"ev":"pushed"' "$HLOG" || fail "the upstream never stalled"
pushed=$(grep '"ev":"pushed"' "$HLOG" | tail -1 | sed 's/.*"bytes":\([0-9]*\).*/\1/')
rss1=$(rss)
log "stalled: upstream pushed $pushed of $BIG bytes; daemon RSS ${rss0} -> ${rss1} KiB"
[ "${pushed:-0}" -lt 8388608 ] || fail "the upstream pushed $pushed bytes to a client that reads nothing"
[ $((rss1 - rss0)) -lt 16384 ] || fail "daemon RSS grew by $((rss1 - rss0)) KiB with one stalled stream"
echo go >"$T/go"
wait_until 60 grep -q '"bigBytes":'"$BIG"'}' "$T/flow.json" || fail "the big body did not complete: $(cat "$T/flow.json" "$T/flow.err")"
wait "$NODE_PID" || fail "node client: $(cat "$T/flow.err")"
stop_h2gate
pass
