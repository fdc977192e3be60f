#!/bin/sh
# h2:// upstreams (HTTP/2 over TLS, ALPN h2), two workers, every backend's
# certificate signed by a test CA (IP SAN 127.0.0.1):
#  - node's http2 secure server: 400 requests from 40 concurrent client
#    streams ride few upstream connections (multiplexed), a request body
#    and its trailers reach it, response trailers come back;
#  - nginx (listen ... ssl http2): a file, the request on HTTP/2;
#  - gRPC (python3-grpcio with grpc.ssl_server_credentials): the unary,
#    streaming, bidi, deadline and cancelled calls of grpcclient.py;
#  - a backend that offers only http/1.1 in ALPN: 502, the reason logged;
#  - h2gatectl upstreams: the connections are "h2" with TLS.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsuplib.sh"
need node curl openssl h2load nginx grpc

make_upstream_certs
start_node_h2 n1 --tls "$SCERT" "$SKEY"
start_tls_backend h1only
B1=$BPORT
GPORT=$(free_port)
GLOG=$T/grpc.log
"$PY" "$BACKENDS/grpcbackend.py" --port "$GPORT" --log "$GLOG" --tls-cert "$SCERT" --tls-key "$SKEY" \
	>"$T/grpcbackend.out" 2>&1 &
_PIDS+=("$!")
wait_port "$GPORT" "$!" || fail "gRPC backend did not start: $(cat "$T/grpcbackend.out")"

# nginx over TLS with HTTP/2.
mkdir -p "$T/www/ngx"
printf 'served by nginx over h2\n' >"$T/www/ngx/file.txt"
NGINX_TLS="$SCERT $SKEY" start_nginx_h2c

tls_gate "      - path: /
        upstream: \"h2://127.0.0.1:$HPORT\"
        upstream_tls:
          ca: $CA
      - path: /ngx/
        upstream: \"h2://127.0.0.1:$NPORT\"
        upstream_tls:
          ca: $CA
      - path: /test.Echo/
        upstream: \"h2://127.0.0.1:$GPORT\"
        upstream_tls:
          ca: $CA
      - path: /alpn/
        upstream: \"h2://127.0.0.1:$B1\"
        upstream_tls:
          ca: $CA"

# Multiplexed: 400 requests, 40 streams at a time, over few connections.
h2load -n 400 -c 4 -m 10 "$U/hello" >"$T/h2load.out" 2>&1 || fail "h2load: $(cat "$T/h2load.out")"
assert_match 'status codes: 400 2xx' "$(cat "$T/h2load.out")" "400 requests through h2://"
sessions=$(grep -c '"ev":"session"' "$HLOG")
log "node saw $sessions TLS session(s) for 400 requests"
assert_eq True "$([ "$sessions" -ge 1 ] && [ "$sessions" -le 4 ] && echo True)" \
	"the streams were multiplexed on at most two connections per worker"

# A body with trailers up, trailers down.
node - "$U" >"$T/tr.json" 2>&1 <<'JSEOF' || fail "node client: $(cat "$T/tr.json")"
const http2 = require('http2');
const s = http2.connect(process.argv[2]);
const out = {};
const timer = setTimeout(() => { out.error = 'timeout'; console.log(JSON.stringify(out)); process.exit(2); }, 15000);
const done = () => { clearTimeout(timer); console.log(JSON.stringify(out)); s.close(); };
const up = s.request({ ':method': 'POST', ':path': '/echo' }, { waitForTrailers: true });
up.on('wantTrailers', () => up.sendTrailers({ 'x-up': 'sent' }));
up.end('0123456789');
let body = '';
up.on('data', (d) => { body += d; });
up.on('end', () => {
  out.echo = JSON.parse(body);
  const t = s.request({ ':path': '/trailers' });
  t.on('response', (h) => { out.status = h[':status']; });
  t.on('trailers', (h) => { out.trailers = h; });
  t.resume();
  t.on('end', done);
});
JSEOF
log "$(cat "$T/tr.json")"
assert_eq "10 sent" "$(json_get '"%s %s" % (d["echo"]["bytes"], (d["echo"]["trailers"] or {}).get("x-up"))' "$T/tr.json")" \
	"the request body and its trailers reached the h2:// upstream"
assert_eq "200 0" "$(json_get '"%s %s" % (d["status"], d["trailers"].get("grpc-status"))' "$T/tr.json")" \
	"response trailers came back from the h2:// upstream"

# nginx.
assert_eq "served by nginx over h2" "$(curl -s --max-time 5 "$U/ngx/file.txt")" "nginx over h2://"
assert_match 'HTTP/2.0 200 /ngx/file.txt' "$(cat "$T/nginx/access.log")" "nginx got the request on HTTP/2"

# gRPC over h2://.
timeout 60 "$PY" "$BACKENDS/grpcclient.py" "127.0.0.1:$P" >"$T/grpc.json" 2>"$T/grpcclient.out" ||
	fail "gRPC client: $(tail -20 "$T/grpcclient.out")"
log "$(cat "$T/grpc.json")"
assert_eq "echo:hello" "$(json_get 'd["unary"]["reply"]' "$T/grpc.json")" "gRPC unary over h2://"
assert_eq 100 "$(json_get 'd["unary_many"]["ok"]' "$T/grpc.json")" "100 unary calls over h2://"
assert_eq "20 bidi:m0 bidi:m19" "$(json_get '" ".join([str(len(d["bidi"]["replies"])), d["bidi"]["replies"][0], d["bidi"]["replies"][-1]])' "$T/grpc.json")" \
	"gRPC bidirectional stream over h2://"
assert_eq "True CANCELLED" "$(json_get '" ".join(str(x) for x in [d["cancel"]["cancelled"], d["cancel"]["code"]])' "$T/grpc.json")" \
	"cancelled gRPC call over h2://"
wait_until 10 sh -c "[ \$(grep -c '\"ev\": \"cancelled\"' '$GLOG') -ge 2 ]" ||
	fail "the gRPC server did not see the expired and the cancelled call end: $(cat "$GLOG")"
assert_eq "INVALID_ARGUMENT|bad request|why" \
	"$(json_get '"|".join([d["fail"]["code"], d["fail"]["details"], d["fail"]["trailing"].get("x-detail", "")])' "$T/grpc.json")" \
	"gRPC error status and trailing metadata over h2://"

# ALPN without h2.
assert_eq 502 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$U/alpn/x")" "an upstream without h2 in ALPN: 502"
assert_file_match "upstream 127.0.0.1:$B1 h2 conn=[0-9]+: closed: TLS: the upstream did not select h2 in ALPN" \
	"$T/h2gate.err" "the ALPN failure is logged"

# The view.
CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$CTLBIN" ]; then
	"$CTLBIN" -s "$T/ctl.sock" --json upstreams >"$T/ups.json" 2>&1 || fail "h2gatectl upstreams: $(cat "$T/ups.json")"
	assert_eq True "$(json_get 'any(o.get("proto") == "h2" and o.get("tls") is True and o.get("upstream") == "127.0.0.1:'"$HPORT"'" for o in d)' "$T/ups.json")" \
		"h2gatectl upstreams: the h2:// connections, with TLS"
fi
stop_h2gate
pass
