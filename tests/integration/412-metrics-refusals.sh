#!/bin/sh
# h2gate_refusals_total{reason}, h2gate_timeouts_total{phase} and
# h2gate_tunnel_closes_total{reason} (two workers): every label is on the
# page from the start (0); then each provoked event moves its own counter
# by exactly what was provoked:
#  - connect_denied: CONNECT to a target connect.allow does not list (403);
#  - header_limits: a 12000-byte field over max_header_list_size 8KiB, in
#    h2 (431) and in an HTTP/1.1 head (431);
#  - body_limit: a declared content-length over max_request_body (413),
#    and a body without one that grows past it;
#  - reset_flood: 1000 HEADERS+RST_STREAM (one GOAWAY, one count);
#  - concurrent_streams: a 9th stream beside 8 slow ones (REFUSED_STREAM);
#  - max_settings: a SETTINGS frame of 9 entries (nghttp2's own GOAWAY);
#  - timeouts: three silent connections (handshake), an upstream that
#    never answers (upstream_response, 504);
#  - tunnel_closes: a CONNECT echo the client half-closes first
#    (client_end), a target that half-closes first (upstream_end);
#  - max_connections: 5 connections held, one more waits in a queue.
# The control socket's stats and GET /status carry the same counts, and
# promtool check metrics finds nothing to say.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
. "$(dirname "$0")/tunlib.sh"
. "$(dirname "$0")/opslib.sh"
need curl promtool node

start_backend b1
start_raw r
start_tcp echo echo
start_tcp first first
P=$(free_port)
PM=$(free_port)
WORKERS=2
write_config <<EOF2
$(metrics_head)
connect:
  allow: ["127.0.0.1:$TPORT_echo", "127.0.0.1:$TPORT_first"]
origins:
  - hosts: ["*"]
    routes:
      - path: /stall-head
        upstream: "http://127.0.0.1:$RPORT"
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
limits:
  max_connections: 5
  max_header_list_size: 8KiB
  max_request_body: 32KiB
  stream_reset_burst: 20
  stream_reset_rate: 5
  max_concurrent_streams: 8
  max_settings: 8
timeouts:
  handshake: 1s
  upstream_response: 3s
EOF2
grep -q '^workers: 2$' "$CONF" || fail "config: workers: 2 not set"
start_h2gate "$P" "$PM"

metrics() { curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$T/metrics.txt"; }
mval() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
ref() { mval "h2gate_refusals_total{reason=\"$1\"}"; }
tmo() { mval "h2gate_timeouts_total{phase=\"$1\"}"; }
tcl() { mval "h2gate_tunnel_closes_total{reason=\"$1\"}"; }
# reaches FAMILY LABEL N: the sample reaches N (counters move when the
# worker gets there, the page is summed by the main thread).
reaches() { metrics && [ "$($1 "$2")" = "$3" ]; }
expect() { # FAMILY LABEL N WHAT
	wait_until "$H2G_WAIT" reaches "$1" "$2" "$3" ||
		fail "$4: $1 $2: expected $3, got [$($1 "$2")]: $(grep -E "^h2gate_(refusals|timeouts|tunnel_closes)" "$T/metrics.txt" | tr '\n' ' ')"
}

metrics || fail "GET /metrics"
for r in max_connections max_session_memory concurrent_streams connect_denied header_limits body_limit \
	reset_flood invalid_frames rejected_streams ack_flood max_settings continuation_flood; do
	assert_eq 0 "$(ref $r)" "refusals{reason=$r} at start"
done
for p in handshake idle request_head request_body upstream_connect upstream_response response_body \
	client_write tunnel_idle shutdown; do
	assert_eq 0 "$(tmo $p)" "timeouts{phase=$p} at start"
done
for r in client_end upstream_end client_reset session_closed upstream_error connect_timeout denied \
	idle_timeout shutdown internal_error; do
	assert_eq 0 "$(tcl $r)" "tunnel_closes{reason=$r} at start"
done

# connect_denied
J=$T/denied.json
h2tun status "http://127.0.0.1:$P" "127.0.0.1:$(free_port)" >"$J" || fail "CONNECT denied: $(cat "$J")"
assert_eq 403 "$(json_get 'd["status"]' "$J")" "CONNECT to an unlisted target"
expect ref connect_denied 1 "CONNECT 403"

# header_limits: h2 and HTTP/1.1
atk header-list big -p size=12000
assert_eq 431 "$(j 'd["status"].get("1")')" "h2: 12000-byte field"
expect ref header_limits 1 "h2 431"
big=$(head -c 12000 /dev/zero | tr '\0' a)
code=$(curl -sS --max-time 10 --http1.1 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$P/" 2>&1)
assert_eq 431 "$code" "HTTP/1.1: 12000-byte field"
expect ref header_limits 2 "HTTP/1.1 431"

# body_limit: declared, then grown past the limit
atk post cl -p size=40000 -p cl=1
assert_eq 413 "$(j 'd["status"].get("1")')" "content-length above max_request_body"
expect ref body_limit 1 "declared 413"
atk post nocl -p size=200000
expect ref body_limit 2 "body grown past max_request_body"

# reset_flood
atk rapid-reset rr -p n=1000 -p path=/size/10
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after the rapid reset"
expect ref reset_flood 1 "rapid reset"

# concurrent_streams, max_settings
atk concurrent cs -p n=8 -p ms=1000
assert_eq REFUSED_STREAM "$(j 'd["rst"].get(str(d["extra"]))')" "a 9th stream beside 8 open ones"
assert_eq 8 "$(j 'd["first_ok"]')" "the 8 slow streams served"
expect ref concurrent_streams 1 "REFUSED_STREAM over max_concurrent_streams"
atk max-settings ms -p n=9
assert_eq ENHANCE_YOUR_CALM "$(j 'd["goaway"]')" "GOAWAY after 9 entries"
expect ref max_settings 1 "SETTINGS of 9 entries"

# timeouts: handshake (3 silent connections), upstream_response
atk handshake hs -p cases=silent -p count=3 -p secs=5
assert_eq '[]' "$(j 'd["not_closed"]')" "silent connections closed (handshake: 1s)"
expect tmo handshake 3 "silent connections"
code=$(curl -sS --max-time 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/stall-head" 2>&1)
assert_eq 504 "$code" "upstream that never answers (upstream_response: 3s)"
expect tmo upstream_response 1 "upstream_response"

# tunnel closes: client half-closes first, then the target first
J=$T/echo.json
h2tun echo "http://127.0.0.1:$P" "127.0.0.1:$TPORT_echo" --size 10000 >"$J" || fail "CONNECT echo: $(cat "$J")"
assert_eq True "$(json_get 'd["ended"]' "$J")" "echo tunnel ended"
expect tcl client_end 1 "CONNECT echo, client END_STREAM first"
J=$T/first.json
h2tun first "http://127.0.0.1:$P" "127.0.0.1:$TPORT_first" --size 10000 >"$J" || fail "CONNECT first: $(cat "$J")"
assert_eq True "$(json_get 'd["ended"]' "$J")" "first tunnel ended"
expect tcl upstream_end 1 "CONNECT first, target half-closes first"

# max_connections: nothing else open, then 5 held and one waiting
wait_until "$H2G_WAIT" eval 'metrics && [ "$(mval h2gate_connections_open)" = 0 ]' ||
	fail "connections still open: $(mval h2gate_connections_open)"
atk max-connections mc -p n=5 -p extra=1 -p hold=1.5 -p after=3
assert_eq 1 "$(j 'd["n_served_after_close"]')" "the waiting connection, served once one of 5 closed"
expect ref max_connections 1 "one client left waiting"

# nothing else moved
metrics
for r in max_session_memory invalid_frames rejected_streams ack_flood continuation_flood; do
	assert_eq 0 "$(ref $r)" "refusals{reason=$r}"
done
for p in idle request_head request_body upstream_connect response_body client_write tunnel_idle shutdown; do
	assert_eq 0 "$(tmo $p)" "timeouts{phase=$p}"
done
for r in client_reset session_closed upstream_error connect_timeout denied idle_timeout shutdown internal_error; do
	assert_eq 0 "$(tcl $r)" "tunnel_closes{reason=$r}"
done
assert_eq 2 "$(mval h2gate_tunnels_total)" "h2gate_tunnels_total (one close reason each)"
log "families: $(grep -E '^h2gate_(refusals|timeouts|tunnel_closes)' "$T/metrics.txt" | tr '\n' ' ')"

out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "promtool check metrics: exit $rc: $out"
assert_eq "" "$out" "promtool check metrics output"

# the JSON views
js=$(curl -sS --max-time 10 "http://127.0.0.1:$PM/status") || fail "GET /status: $js"
cs=$(ctl stats) || fail "control stats: $cs"
for k in 'refusals"]["connect_denied' 'refusals"]["header_limits' 'refusals"]["body_limit' \
	'refusals"]["max_connections' 'timeouts"]["handshake' 'tunnel_closes"]["client_end' \
	'tunnel_closes"]["upstream_end'; do
	want=$(jget "d[\"$k\"]" "$js")
	assert_eq "$want" "$(jget "d[\"result\"][\"counters\"][\"$k\"]" "$cs")" "stats counters $k vs /status"
done
assert_eq "2 3 1" "$(jget '"%d %d %d" % (d["refusals"]["header_limits"], d["timeouts"]["handshake"], d["tunnel_closes"]["client_end"])' "$js")" "/status values"
assert_eq 12 "$(jget 'len(d["refusals"])' "$js")" "/status: every refusal reason"
stop_h2gate
pass
