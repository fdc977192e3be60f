#!/bin/sh
# metrics.listen: GET /metrics after 3 x 200, one 404 (no origin matches)
# and one 502 (upstream refused) shows h2gate_requests_total 5,
# h2gate_responses_total{class="2xx"} 3 / 4xx 1 / 5xx 1, the connect error,
# the sessions by alpn, a consistent latency histogram; it is valid
# Prometheus text format (promtool check metrics, no lint problem) with the
# Prometheus content type.  GET /status returns JSON with the same fields
# and values as the control socket's status, and the status page's lists.  Reloads move
# h2gate_reloads_total and h2gate_last_reload_success.  Other paths: 404.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl promtool

start_backend A
P=$(free_port)
PM=$(free_port)
DEAD=$(refused_port)
metrics_config | write_config
start_h2gate "$P" "$PM"
assert_file_match "metrics on 127.0.0.1:$PM" "$T/h2gate.err" "metrics log line"

mixed_requests

metrics() { curl -sS --max-time 10 "http://127.0.0.1:$PM/metrics"; }
mval() { # NAME{LABELS} or NAME: the sample's value in $T/metrics.txt
	awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"
}
settled() { metrics >"$T/metrics.txt" && [ "$(mval h2gate_requests_total)" = 5 ]; }
wait_until "$H2G_WAIT" settled || fail "h2gate_requests_total never reached 5: $(grep -E '^h2gate_(requests|responses)' "$T/metrics.txt")"
# the counters are updated when a stream ends: give the last ones a moment
wait_until "$H2G_WAIT" eval 'metrics >"$T/metrics.txt" && [ "$(mval h2gate_request_duration_seconds_count)" = 5 ] && [ "$(mval h2gate_connections_open)" = 0 ]' ||
	fail "histogram count / open connections did not settle: $(grep -E '^h2gate_(request_duration_seconds_count|connections_open)' "$T/metrics.txt")"
log "metrics: $(grep -v '^#' "$T/metrics.txt" | tr '\n' ';')"

assert_eq 5 "$(mval h2gate_requests_total)" "h2gate_requests_total"
assert_eq 3 "$(mval 'h2gate_responses_total{class="2xx"}')" 'h2gate_responses_total{class="2xx"}'
assert_eq 1 "$(mval 'h2gate_responses_total{class="4xx"}')" 'h2gate_responses_total{class="4xx"}'
assert_eq 1 "$(mval 'h2gate_responses_total{class="5xx"}')" 'h2gate_responses_total{class="5xx"}'
assert_eq 0 "$(mval 'h2gate_responses_total{class="3xx"}')" 'h2gate_responses_total{class="3xx"}'
assert_eq 0 "$(mval 'h2gate_responses_total{class="reset"}')" 'h2gate_responses_total{class="reset"}'
assert_eq 1 "$(mval 'h2gate_upstream_errors_total{kind="connect"}')" 'h2gate_upstream_errors_total{kind="connect"}'
# 5 clients + the readiness probe of start_h2gate (connects, sends nothing)
assert_eq 6 "$(mval h2gate_connections_total)" "h2gate_connections_total"
assert_eq 3 "$(mval 'h2gate_sessions_total{alpn="h2c"}')" 'h2gate_sessions_total{alpn="h2c"}'
assert_eq 2 "$(mval 'h2gate_sessions_total{alpn="http/1.1"}')" 'h2gate_sessions_total{alpn="http/1.1"}'
assert_eq 0 "$(mval h2gate_streams_open)" "h2gate_streams_open"
heap=$(mval h2gate_heap_bytes)
[ "${heap:-0}" -gt 0 ] || fail "h2gate_heap_bytes: expected the heap in use, got [$heap]"
assert_eq 0 "$(mval h2gate_reloads_total)" "h2gate_reloads_total"
assert_eq 1 "$(mval h2gate_last_reload_success)" "h2gate_last_reload_success (no reload yet)"
# histogram: cumulative buckets, +Inf = count = 5, sum > 0
"$PY" - "$T/metrics.txt" <<'EOF' || fail "histogram h2gate_request_duration_seconds is inconsistent"
import re, sys
b = []
cnt = s = None
for line in open(sys.argv[1]):
    m = re.match(r'h2gate_request_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$', line)
    if m:
        b.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2))))
    elif line.startswith("h2gate_request_duration_seconds_count "):
        cnt = int(line.split()[1])
    elif line.startswith("h2gate_request_duration_seconds_sum "):
        s = float(line.split()[1])
ok = len(b) >= 2 and b[-1][0] == float("inf") and b[-1][1] == cnt == 5 and s is not None and s > 0
ok = ok and all(b[i][0] < b[i + 1][0] and b[i][1] <= b[i + 1][1] for i in range(len(b) - 1))
if not ok:
    print("buckets", b, "count", cnt, "sum", s, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# Prometheus text format: promtool (exit 0 and no lint complaint)
out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "promtool check metrics: exit $rc: $out"
assert_eq "" "$out" "promtool check metrics output"
ct=$(curl -sS --max-time 10 -o /dev/null -D - "http://127.0.0.1:$PM/metrics" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
assert_match '^text/plain; version=0\.0\.4' "$ct" "/metrics content type"

# /status: the same fields (and values) as the control status, and the
# status page's: the routes' counters and the lists (414-route-metrics)
js=$(curl -sS --max-time 10 "http://127.0.0.1:$PM/status") || fail "GET /status: $js"
cs=$(ctl status) || fail "control status: $cs"
log "/status: $(printf '%s' "$js" | tr -d ' \n')"
assert_eq "$(jget 'sorted(list(d["result"]) + ["origins", "session_list", "session_list_truncated", "tunnel_list", "tunnel_list_truncated"])' "$cs")" \
	"$(jget 'sorted(d)' "$js")" "/status fields: the control status's and the page's"
for k in version pid workers listeners config_file config_sha256 reloads last_reload; do
	assert_eq "$(jget "d[\"result\"][\"$k\"]" "$cs")" "$(jget "d[\"$k\"]" "$js")" "/status $k"
done
ct=$(curl -sS --max-time 10 -o /dev/null -D - "http://127.0.0.1:$PM/status" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
assert_match '^application/json' "$ct" "/status content type"
assert_eq 404 "$(code "http://127.0.0.1:$PM/nothing")" "GET /nothing on the metrics listener"

# reloads: one good, one broken
kill -HUP "$H2G_PID"
wait_err 'configuration reloaded' || fail "reload not done"
metrics >"$T/metrics.txt"
assert_eq "1 1" "$(mval h2gate_reloads_total) $(mval h2gate_last_reload_success)" "reloads_total / last_reload_success after a good reload"
cp "$CONF" "$T/good.yaml"
printf 'bogus_key: 1\n' >>"$CONF"
kill -HUP "$H2G_PID"
wait_err 'reload failed' || fail "broken reload not logged"
metrics >"$T/metrics.txt"
assert_eq "2 0" "$(mval h2gate_reloads_total) $(mval h2gate_last_reload_success)" "reloads_total / last_reload_success after a failed reload"
out=$(promtool check metrics <"$T/metrics.txt" 2>&1) || fail "promtool after the reloads: $out"
js=$(curl -sS --max-time 10 "http://127.0.0.1:$PM/status")
assert_eq "2 failed" "$(jget '"%s %s" % (d["reloads"], d["last_reload"])' "$js")" "/status after the failed reload"
stop_h2gate
pass
