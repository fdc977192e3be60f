#!/bin/sh
# Metrics by origin and route (two workers): h2gate_route_requests_total,
# h2gate_route_responses_total by class, h2gate_route_body_bytes_total by
# direction and the h2gate_route_upstream_latency_seconds histogram, with
# origin = the origin's first host and route = the route's path; requests
# matching no origin count under ("(none)", "(none)"), a CONNECT under
# ("(connect)", "(connect)").  The same numbers in GET /status "origins",
# which also lists the sessions (an h2 session held open, by its peer) and
# the tunnels (a CONNECT held open: target, bytes, age).  A reload that
# drops a route keeps its series (counters do not vanish) and adds the
# new route's.  h2gate_draining follows drain / resume.  promtool check
# metrics stays clean throughout.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/tunlib.sh"
need curl promtool

start_backend A
start_tcp echo echo
P=$(free_port)
PM=$(free_port)
DEAD=$(refused_port)
routes_config() { # the /api route's path
	WORKERS=2 metrics_head
	cat <<EOF
connect:
  allow: ["127.0.0.1:$TPORT_echo"]
origins:
  - hosts: ["a.test", "*.a.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
      - path: $1
        upstream: "http://127.0.0.1:$BPORT_A"
      - path: /dead
        upstream: "http://127.0.0.1:$DEAD"
  - hosts: ["b.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
EOF
}
routes_config /api | write_config
start_h2gate "$P" "$PM"

code() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@" 2>&1; }
for i in 1 2 3; do
	assert_eq 200 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/size/10")" "a.test / $i"
done
# a name under *.a.test is the same origin, named by its first host
assert_eq 200 "$(code -H 'Host: www.a.test' -d @- "http://127.0.0.1:$P/api/echo" < <(head -c 300 /dev/zero | tr '\0' x))" "POST www.a.test /api"
assert_eq 200 "$(code --http2-prior-knowledge -H 'Host: b.test' "http://127.0.0.1:$P/size/1000")" "b.test /"
assert_eq 502 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/dead/x")" "a.test /dead: 502"
assert_eq 404 "$(code -H 'Host: nomatch.test' "http://127.0.0.1:$P/x")" "no origin: 404"

# an h2 session with a CONNECT tunnel held open, and a finished GET on it
start_h2hold t --port "$P" --max 60 --hold-until "$T/release" --send hello "connect:127.0.0.1:$TPORT_echo"
STATUS=$T/status.json
status() { curl -sS --max-time 10 "http://127.0.0.1:$PM/status" >"$STATUS"; }
tunnel_listed() { status && [ "$(json_get 'len(d["tunnel_list"])' "$STATUS")" = 1 ] && [ "$(json_get 'd["tunnel_list"][0]["bytes_down"]' "$STATUS")" -ge 5 ]; }
wait_until "$H2G_WAIT" tunnel_listed || fail "the tunnel is not in /status: $(cat "$STATUS")"

M=$T/metrics.txt
metrics() { curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics" >"$M"; }
mval() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
R='h2gate_route_requests_total'
settled() { metrics && [ "$(mval "$R{origin=\"(none)\",route=\"(none)\"}")" = 1 ] && [ "$(mval "$R{origin=\"a.test\",route=\"/dead\"}")" = 1 ]; }
wait_until "$H2G_WAIT" settled || fail "route counters did not settle: $(grep "^$R" "$M")"
log "routes: $(grep '^h2gate_route_requests_total' "$M" | tr '\n' ';')"
assert_eq 3 "$(mval "$R{origin=\"a.test\",route=\"/\"}")" 'a.test / requests'
assert_eq 1 "$(mval "$R{origin=\"a.test\",route=\"/api\"}")" 'a.test /api requests (www.a.test)'
assert_eq 1 "$(mval "$R{origin=\"b.test\",route=\"/\"}")" 'b.test / requests'
assert_eq 0 "$(mval "$R{origin=\"(connect)\",route=\"(connect)\"}")" 'the CONNECT counts when it ends'
S='h2gate_route_responses_total'
assert_eq 3 "$(mval "$S{origin=\"a.test\",route=\"/\",class=\"2xx\"}")" 'a.test / 2xx'
assert_eq 1 "$(mval "$S{origin=\"a.test\",route=\"/dead\",class=\"5xx\"}")" 'a.test /dead 5xx'
assert_eq 0 "$(mval "$S{origin=\"a.test\",route=\"/dead\",class=\"2xx\"}")" 'a.test /dead 2xx'
assert_eq 1 "$(mval "$S{origin=\"(none)\",route=\"(none)\",class=\"4xx\"}")" 'no origin: 4xx'
B='h2gate_route_body_bytes_total'
assert_eq 300 "$(mval "$B{origin=\"a.test\",route=\"/api\",direction=\"in\"}")" 'a.test /api bytes in'
assert_eq 1000 "$(mval "$B{origin=\"b.test\",route=\"/\",direction=\"out\"}")" 'b.test / bytes out'
assert_eq 30 "$(mval "$B{origin=\"a.test\",route=\"/\",direction=\"out\"}")" 'a.test / bytes out'
L='h2gate_route_upstream_latency_seconds'
assert_eq 3 "$(mval "${L}_count{origin=\"a.test\",route=\"/\"}")" 'a.test / upstream latency count'
assert_eq 3 "$(mval "${L}_bucket{origin=\"a.test\",route=\"/\",le=\"+Inf\"}")" 'a.test / latency +Inf bucket'
assert_eq 0 "$(mval "${L}_count{origin=\"a.test\",route=\"/dead\"}")" 'no response head from a refused upstream: no latency'
assert_eq 0 "$(mval h2gate_draining)" "h2gate_draining while serving"
out=$(promtool check metrics <"$M" 2>&1) || fail "promtool check metrics: $out"
assert_eq "" "$out" "promtool check metrics output"

# /status: the same numbers, the sessions and the tunnel
status || fail "GET /status"
rj() { json_get "[r for o in d['origins'] if o['origin'] == '$1' for r in o['routes'] if r['route'] == '$2'][0]$3" "$STATUS"; }
assert_eq 3 "$(rj a.test / '["requests"]')" '/status a.test / requests'
assert_eq 3 "$(rj a.test / '["responses"]["2xx"]')" '/status a.test / 2xx'
assert_eq 1 "$(rj a.test /dead '["responses"]["5xx"]')" '/status a.test /dead 5xx'
assert_eq 300 "$(rj a.test /api '["bytes_in"]')" '/status a.test /api bytes in'
assert_eq 3 "$(rj a.test / '["upstream_latency"]["count"]')" '/status a.test / latency count'
assert_eq 1 "$(rj '(none)' '(none)' '["responses"]["4xx"]')" '/status (none) 4xx'
assert_eq 'a.test b.test (none)' "$(json_get '" ".join(o["origin"] for o in d["origins"])' "$STATUS")" '/status origins: the configuration'"'"'s, then the pseudo ones that counted'
local_addr=$(hold_local t)
assert_eq "h2c" "$(json_get "[s['alpn'] for s in d['session_list'] if s['peer'] == '$local_addr'][0]" "$STATUS")" "the held session in session_list"
assert_eq "connect 127.0.0.1:$TPORT_echo" "$(json_get '" ".join((d["tunnel_list"][0]["kind"], d["tunnel_list"][0]["target"]))' "$STATUS")" "the tunnel in tunnel_list"
assert_eq True "$(json_get 'd["tunnel_list"][0]["age_s"] >= 0 and d["tunnel_list"][0]["bytes_up"] == 5' "$STATUS")" "the tunnel's age and bytes up"
assert_eq "false false" "$(json_get '"%s %s" % (str(d["session_list_truncated"]).lower(), str(d["tunnel_list_truncated"]).lower())' "$STATUS")" "nothing left out"

# the tunnel ends: it counts under (connect)
touch "$T/release"
hold_done t >/dev/null
wait_until "$H2G_WAIT" eval 'metrics && [ "$(mval "$R{origin=\"(connect)\",route=\"(connect)\"}")" = 1 ]' ||
	fail "the CONNECT did not count: $(grep '(connect)' "$M")"
assert_eq 1 "$(mval "$S{origin=\"(connect)\",route=\"(connect)\",class=\"2xx\"}")" 'CONNECT 2xx'

# reload: /api becomes /v2; /api's series stay, /v2's appear, / keeps counting
routes_config /v2 | write_config
ctl '{"cmd":"reload"}' >/dev/null || fail "reload failed"
assert_eq 200 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/v2/x")" "a.test /v2 after the reload"
assert_eq 200 "$(code --http2-prior-knowledge -H 'Host: a.test' "http://127.0.0.1:$P/size/10")" "a.test / after the reload"
wait_until "$H2G_WAIT" eval 'metrics && [ "$(mval "$R{origin=\"a.test\",route=\"/v2\"}")" = 1 ] && [ "$(mval "$R{origin=\"a.test\",route=\"/\"}")" = 4 ]' ||
	fail "counters after the reload: $(grep "^$R" "$M")"
assert_eq 1 "$(mval "$R{origin=\"a.test\",route=\"/api\"}")" 'the removed route keeps its series'
status || fail "GET /status"
assert_eq '/dead /v2 /' "$(json_get '" ".join(r["route"] for r in d["origins"][0]["routes"])' "$STATUS")" '/status: the running configuration'"'"'s routes'

# drain and resume move h2gate_draining
ctl '{"cmd":"drain"}' >/dev/null || fail "drain failed"
metrics
assert_eq 1 "$(mval h2gate_draining)" "h2gate_draining after drain"
ctl '{"cmd":"resume"}' >/dev/null || fail "resume failed"
metrics
assert_eq 0 "$(mval h2gate_draining)" "h2gate_draining after resume"
out=$(promtool check metrics <"$M" 2>&1) || fail "promtool check metrics: $out"
assert_eq "" "$out" "promtool check metrics output after the reload"
stop_h2gate
pass
