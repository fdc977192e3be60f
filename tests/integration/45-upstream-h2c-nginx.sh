#!/bin/sh
# An HTTP/2 cleartext upstream (h2c://, prior knowledge): nginx.  200
# concurrent streams from h2load, through two workers, reach nginx over
# few connections: each carries as many streams as nginx's
# SETTINGS_MAX_CONCURRENT_STREAMS (here 64) allows, a new one is opened
# only when the others are full; bodies arrive intact (sha256), and both
# client protocols work (HTTP/2 and HTTP/1.1).  /metrics counts the
# upstream connections, and the idle ones after the burst.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need nginx h2load curl nghttp

start_nginx_h2c 64
head -c 300000 /dev/urandom >"$T/www/big.bin"
echo "hello from nginx" >"$T/www/hello.txt"
start_h2c_gate "$NPORT"

# A unary GET, both client protocols; nginx saw HTTP/2.
assert_eq "hello from nginx" "$("${CURL[@]}" --http2-prior-knowledge "$U/hello.txt")" "h2 client: body"
assert_eq "hello from nginx" "$("${CURL[@]}" --http1.1 "$U/hello.txt")" "HTTP/1.1 client: body"
wait_until 5 grep -q 'HTTP/2.0 200 /hello.txt' "$NLOG" || fail "nginx did not log an HTTP/2 request: $(cat "$NLOG")"
assert_eq 0 "$(grep -vc 'HTTP/2.0' "$NLOG")" "every upstream request was HTTP/2"

# A large body whole, and a 404 passed through.
want=$(sha256sum <"$T/www/big.bin" | cut -d' ' -f1)
got=$("${CURL[@]}" --http2-prior-knowledge "$U/big.bin" | sha256sum | cut -d' ' -f1)
assert_eq "$want" "$got" "300 KB body through the h2c upstream"
assert_eq 404 "$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/missing")" "404 from nginx"

# 200 concurrent streams on one client connection (one worker takes it):
# at most ceil(200/64) = 4 upstream connections for them.
: >"$NLOG"
timeout 60 h2load -n 200 -c 1 -m 200 "$U/big.bin" >"$T/h2load.out" 2>&1 || fail "h2load failed: $(tail -20 "$T/h2load.out")"
assert_match '200 succeeded' "$(grep '^requests:' "$T/h2load.out")" "h2load: every request succeeded"
assert_match '200 2xx' "$(grep '^status codes:' "$T/h2load.out")" "h2load: every status 200"
assert_match "\(60000000\) data" "$(grep '^traffic:' "$T/h2load.out")" "h2load: 200 bodies of 300 KB"
wait_until 5 sh -c "[ \$(wc -l <'$NLOG') -ge 200 ]" || fail "nginx logged $(wc -l <"$NLOG") requests"
n=$(nginx_conns)
log "200 concurrent streams went over $n upstream connection(s)"
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "200 streams took $n upstream connections (want <= 4)"
# The same over two client connections (both workers): still few.
: >"$NLOG"
timeout 60 h2load -n 400 -c 2 -m 100 "$U/hello.txt" >"$T/h2load2.out" 2>&1 || fail "h2load failed: $(tail -20 "$T/h2load2.out")"
assert_match '400 succeeded' "$(grep '^requests:' "$T/h2load2.out")" "h2load -c 2: every request succeeded"
wait_until 5 sh -c "[ \$(wc -l <'$NLOG') -ge 400 ]" || fail "nginx logged $(wc -l <"$NLOG") requests"
n=$(nginx_conns)
log "400 requests from two clients went over $n upstream connection(s)"
[ "$n" -le 8 ] || fail "400 streams (2 x 100 concurrent) took $n upstream connections"

# /metrics: the upstream connections are counted, idle once the burst is
# over (kept for the next requests, not closed).
open=$(metric h2gate_upstream_connections_open)
idle=$(metric h2gate_upstream_connections_idle)
log "metrics: upstream connections open=$open idle=$idle"
[ "${open:-0}" -ge 1 ] || fail "h2gate_upstream_connections_open=$open"
wait_until 5 sh -c "[ \"\$(curl -s http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"h2gate_upstream_connections_idle\" {print \$2}')\" = \"$open\" ]" ||
	fail "idle upstream connections: $(metric h2gate_upstream_connections_idle) of $open"

stop_h2gate
pass
