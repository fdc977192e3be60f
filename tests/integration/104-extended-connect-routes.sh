#!/bin/sh
# RFC 8441 extended CONNECT on the other kinds of route:
#  - `tunnel: tcp://` route: 200 and a raw byte stream to the TCP echo
#    target (round trip, half-close both ways), for every :protocol in the
#    route's `protocols`; the default list is [websocket];
#  - a :protocol not in the list -> 400, target not contacted;
#  - a plain HTTP route (no websocket/tunnel) -> 501;
#  - a `websocket: true` route whose upstream answers the Upgrade with an
#    ordinary response (not 101) -> that response (status, body,
#    END_STREAM), no tunnel; the upstream got an HTTP/1.1 GET with
#    Upgrade: websocket, h2gate's own Sec-WebSocket-Key, version 13.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need node

start_backend plain
start_tcp echo echo
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_plain"
      - path: /raw
        tunnel: "tcp://127.0.0.1:$TPORT_echo"
        protocols: [websocket, x-raw]
      - path: /rawdefault
        tunnel: "tcp://127.0.0.1:$TPORT_echo"
      - path: /status
        upstream: "http://127.0.0.1:$BPORT_plain"
        websocket: true
      - path: /echo-headers
        upstream: "http://127.0.0.1:$BPORT_plain"
        websocket: true
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P
n=1 # tcp connections the echo target has seen (1 = the readiness probe)

for case in "/raw x-raw" "/raw websocket" "/rawdefault websocket"; do
	set -- $case
	J=$T/ext-$n.json
	h2tun ext "$U" "$1" "$2" --size 200000 >"$J" || fail "$case: node failed: $(cat "$J")"
	log "$case: $(head -c 400 "$J")"
	n=$((n + 1))
	assert_eq True "$(json_get 'd["enableConnectProtocol"]' "$J")" "SETTINGS_ENABLE_CONNECT_PROTOCOL with tunnel routes only"
	assert_eq 200 "$(json_get 'd["status"]' "$J")" "$case: status"
	assert_eq True "$(json_get 'd["bulk_echo_ok"]' "$J")" "$case: bytes echoed through the tunnel route"
	sent=$(json_get 'd["sent_bytes"]' "$J")
	sha=$(json_get 'd["sent_sha256"]' "$J")
	assert_eq "BYE $sent $sha" "$(json_get 'd["after_end"].strip()' "$J")" "$case: target saw our END_STREAM as EOF"
	assert_eq True "$(json_get 'd["ended"]' "$J")" "$case: END_STREAM after the target's EOF"
done
assert_eq "$n" "$(tcp_accepts echo)" "connections to the tunnel target"

for case in "/raw x-other 400" "/rawdefault x-raw 400" "/plain websocket 501" "/ x-raw 501"; do
	set -- $case
	J=$T/ext-err.json
	h2tun ext "$U" "$1" "$2" >"$J" || fail "$case: node failed: $(cat "$J")"
	log "$case: $(cat "$J")"
	assert_eq "$3" "$(json_get 'd["status"]' "$J")" "extended CONNECT $1 :protocol $2"
done
assert_eq "$n" "$(tcp_accepts echo)" "connections to the tunnel target after refused protocols"

# websocket route, upstream answers with an ordinary response
J=$T/ws404.json
h2tun ws "$U" /status/404 --read-body >"$J" || fail "node failed: $(cat "$J")"
log "404: $(cat "$J")"
assert_eq 404 "$(json_get 'd["status"]' "$J")" "websocket route answered 404 by the upstream"
assert_eq "status 404" "$(json_get 'd["body"].strip()' "$J")" "body of the upstream's 404"
J=$T/ws200.json
h2tun ws "$U" /echo-headers --read-body >"$J" || fail "node failed: $(cat "$J")"
log "200: $(head -c 1500 "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "websocket route answered 200 (not 101) by the upstream"
assert_eq True "$(json_get 'd["ended"]' "$J")" "the ordinary response ends (END_STREAM), no tunnel"
"$PY" - "$J" <<'PYEOF' || fail "the upstream's view of the Upgrade request"
import base64, json, sys
d = json.load(open(sys.argv[1]))
doc = json.loads(d["body"])
h = doc["headers"]
items = h.items() if isinstance(h, dict) else h
hd = {}
for k, v in items:
    hd.setdefault(k.lower(), []).append(v)
def one(k):
    v = hd.get(k)
    assert v and len(v) == 1, "%s: %r" % (k, v)
    return v[0]
errs = []
try:
    assert doc["method"] == "GET", "method %r" % doc["method"]
    assert doc["version"] in ("HTTP/1.1", "1.1"), "version %r" % doc["version"]
    assert one("upgrade").lower() == "websocket", "upgrade"
    assert "upgrade" in one("connection").lower(), "connection"
    assert one("sec-websocket-version") == "13", "version"
    assert len(base64.b64decode(one("sec-websocket-key"))) == 16, "sec-websocket-key is not 16 bytes base64"
except (AssertionError, KeyError) as e:
    print("upstream request: %s: %s" % (e, json.dumps(doc)), file=sys.stderr)
    sys.exit(1)
PYEOF
stop_h2gate
pass
