# Helpers for the tests of HTTP/2 upstreams (h2c://): an nginx serving
# h2c with prior knowledge, the node http2 backend, and a config routing /
# to an h2c:// upstream.  Sourced after lib.sh.

# start_nginx_h2c [MAX_STREAMS]: nginx-light on a free port speaking
# cleartext HTTP/2 (prior knowledge), serving $T/www; sets NPORT and NLOG
# (its access log: "<connection serial> <protocol> <status> <uri>").
# With NGINX_TLS="CERT KEY": HTTP/2 over TLS instead (ALPN h2).
start_nginx_h2c() {
	local pid tls=
	if [ -n "${NGINX_TLS:-}" ]; then
		tls="ssl_certificate ${NGINX_TLS% *}; ssl_certificate_key ${NGINX_TLS#* };"
	fi
	mkdir -p "$T/www" "$T/nginx/tmp"
	NPORT=$(free_port)
	NLOG=$T/nginx/access.log
	cat >"$T/nginx/nginx.conf" <<EOF2
daemon off;
master_process off;
worker_processes 1;
error_log $T/nginx/error.log warn;
pid $T/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    log_format conns '\$connection \$server_protocol \$status \$uri';
    access_log $NLOG conns;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    default_type application/octet-stream;
    http2_max_concurrent_streams ${1:-128};
    keepalive_timeout 600s;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NPORT${tls:+ ssl} http2;
        $tls
        root $T/www;
        location / { }
    }
}
EOF2
	nginx -p "$T/nginx/" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" >"$T/nginx.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_port "$NPORT" "$pid" || fail "nginx did not start: $(cat "$T/nginx.out" "$T/nginx/error.log" 2>/dev/null)"
}

# start_node_h2 NAME [ARGS...]: the node http2 backend (backends/h2backend.js)
# on a free port; sets HPORT and HLOG (its event log, one JSON object a line).
start_node_h2() {
	local name=$1 pid
	shift
	HPORT=$(free_port)
	HLOG=$T/h2backend-$name.log
	node "$BACKENDS/h2backend.js" "$HPORT" "$HLOG" "$@" >"$T/h2backend-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_port "$HPORT" "$pid" || fail "node h2 backend did not start: $(cat "$T/h2backend-$name.out")"
}

# start_h2rst: the python h2 upstream that resets its responses midway
# (backends/h2rst.py, no extended CONNECT); sets RPORT.
start_h2rst() {
	local pid
	RPORT=$(free_port)
	"$PY" "$BACKENDS/h2rst.py" --port "$RPORT" >"$T/h2rst.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_port "$RPORT" "$pid" || fail "h2rst.py did not start: $(cat "$T/h2rst.out")"
}

# gate_config PORT ROUTES: a cleartext listener (h2 and http/1.1) on
# PORT, metrics on $MPORT, one origin ("*") whose routes: list is ROUTES
# (its items, indented 6 spaces), with WORKERS (default 2).
gate_config() {
	WORKERS=${WORKERS:-2} config_common
	cat <<EOF2
listen:
  - address: "127.0.0.1:$1"
    protocols: [h2, http/1.1]
metrics:
  listen: "127.0.0.1:$MPORT"
origins:
  - hosts: ["*"]
    routes:
$2
EOF2
}

# h2c_config PORT UPSTREAM_PORT: gate_config routing / to
# h2c://127.0.0.1:UPSTREAM_PORT.
h2c_config() {
	gate_config "$1" "      - path: /
        upstream: \"h2c://127.0.0.1:$2\""
}

# start_h2c_gate UPSTREAM_PORT [LINES]: h2gate on h2c_config (LINES, if
# any, appended: more keys of the / route, more routes, more sections);
# sets P, MPORT and U (the client's base URL).
start_h2c_gate() {
	P=$(free_port)
	MPORT=$(free_port)
	{
		h2c_config "$P" "$1"
		[ -z "${2:-}" ] || printf '%s\n' "$2"
	} | write_config
	start_h2gate "$P" "$MPORT"
	U=http://127.0.0.1:$P
}

# h1_raw PORT: sends stdin (the bytes of HTTP/1.1 requests, ending with
# Connection: close) to 127.0.0.1:PORT and prints all it gets back.
h1_raw() {
	"$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
while True:
    d = s.recv(65536)
    if not d:
        break
    sys.stdout.buffer.write(d)
' "$1"
}

# nginx_conns: distinct upstream connections nginx logged requests on.
nginx_conns() {
	awk '{print $1}' "$NLOG" | sort -u | wc -l
}

# metric NAME: the value of an unlabelled sample of /metrics.
metric() {
	curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
