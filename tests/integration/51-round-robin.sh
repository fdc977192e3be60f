#!/bin/sh
# A route with two upstreams is balanced round-robin: consecutive requests
# alternate between the backends (6 requests -> 3 each).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

start_backend one
start_backend two
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: ["http://127.0.0.1:$BPORT_one", "http://127.0.0.1:$BPORT_two"]
EOF2
start_h2gate "$P"

seq=
for i in 1 2 3 4 5 6; do
	b=$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%header{x-backend}' "http://127.0.0.1:$P/rr$i") ||
		fail "request $i failed"
	seq="$seq $b"
done
seq=${seq# }
log "backend sequence: $seq"
case "$seq" in
"one two one two one two"|"two one two one two one") ;;
*) fail "not round-robin: $seq";;
esac
# also within one HTTP/2 connection (node: sequential requests, one session)
node "$BACKENDS/h2client.js" seq "http://127.0.0.1:$P/" /a /b /c /d /e /f >"$T/node.json" ||
	fail "node client failed: $(cat "$T/node.json")"
seq=$(json_get '" ".join("%s:%s" % (r["status"], r["backend"]) for r in d["results"])' "$T/node.json")
log "one-session sequence: $seq"
case "$seq" in
"200:one 200:two 200:one 200:two 200:one 200:two"|"200:two 200:one 200:two 200:one 200:two 200:one") ;;
*) fail "not round-robin within one session: $seq";;
esac
stop_h2gate
pass
