# shellcheck shell=bash
# bench/run-proxies.sh - sourced by bench/run: starts and stops the four
# proxies.  Each start_<proxy> writes its config into a fresh directory
# under $TMP (kept with --out), starts it pinned to the proxy CPU with fresh
# ports, and fills PPID_OF[proxy], H2C_PORT[proxy], TLS_PORT[proxy].  Every
# proxy gets one worker (process or thread), an h2c listener (HTTP/2 prior
# knowledge) and a TLS listener (the bench's self-signed certificate, ALPN
# h2), no access log, long client idle timeouts (the idle connections must
# stay open) and the nginx backend over keep-alive HTTP/1.1 with idle
# upstream connections kept 30 s, h2gate's fixed pool idle timeout: the
# proxies take turns, each waits a few runs' time between its own runs, and
# the 2 s (nghttpx, h2o) or 5 s (HAProxy) defaults would make them
# reconnect hundreds of upstream connections at the start of every run.
# The HTTP/2 upstreams are chosen by :authority: h2u.bench -> the h2c nginx
# (prior knowledge), grpc.bench -> the gRPC backend, anything else -> the
# HTTP/1.1 nginx.

declare -A PPID_OF H2C_PORT TLS_PORT
NSTART=0

new_dir() { # proxy -> a fresh config/log directory; sets ports
    NSTART=$((NSTART + 1))
    DIR=$TMP/$1.$NSTART
    mkdir -p "$DIR"
    chmod 777 "$DIR"   # h2o writes as nobody
    H2C_PORT[$1]=$(free_port); TLS_PORT[$1]=$(free_port)
}

start_h2gate() { # [workers]
    local workers=${1:-1} pin=$PIN_PROXY
    [ "$workers" -gt 1 ] && pin=""   # more workers than the one proxy CPU
    new_dir h2gate
    cat >"$DIR/h2gate.yaml" <<EOF
# written by bench/run
workers: $workers
listen:
  - address: "127.0.0.1:${H2C_PORT[h2gate]}"
  - address: "127.0.0.1:${TLS_PORT[h2gate]}"
    tls:
      certificate: $TMP/cert.pem
      key: $TMP/key.pem
origins:
  - hosts: ["h2u.bench"]
    routes:
      - path: /
        upstream: "h2c://127.0.0.1:$NGINX_H2_PORT"
  - hosts: ["grpc.bench"]
    routes:
      - path: /
        upstream: "h2c://127.0.0.1:$GRPC_PORT"
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$NGINX_PORT"
limits:
  max_concurrent_streams: 256
  max_connections: 60000
  max_session_memory: 64MiB
timeouts:
  handshake: 120s
  idle: 600s
  stream_idle: 120s
log:
  access: off
  level: warn
control:
  socket: $DIR/ctl.sock
EOF
    $pin "$H2GATE" -c "$DIR/h2gate.yaml" >"$DIR/log" 2>&1 &
}

start_nghttpx() {
    new_dir nghttpx
    # nghttpx's "frontend"/"upstream" = our client side; its "backend" = our
    # upstream (backend).  No access log unless --accesslog-* is given.  A
    # backend with a pattern (host/) takes that :authority; the one without
    # takes the rest.  proto=h2 without tls: cleartext, prior knowledge.
    local args=(--conf=/dev/null --workers=1
        "--frontend=127.0.0.1,${H2C_PORT[nghttpx]};no-tls"
        "--frontend=127.0.0.1,${TLS_PORT[nghttpx]}"
        "--backend=127.0.0.1,$NGINX_PORT"
        "--backend=127.0.0.1,$NGINX_H2_PORT;h2u.bench/;proto=h2"
        "--backend=127.0.0.1,$GRPC_PORT;grpc.bench/;proto=h2"
        --no-ocsp --log-level=WARN --errorlog-file="$DIR/log"
        --frontend-http2-read-timeout=10m --backend-keep-alive-timeout=30s
        "$TMP/key.pem" "$TMP/cert.pem")
    printf '%s\n' "${args[@]}" >"$DIR/cmdline"
    $PIN_PROXY "$NGHTTPX" "${args[@]}" >"$DIR/stdout" 2>&1 &
}

# h2o 2.2: a cleartext listener answers HTTP/2 prior knowledge (h2c) as well
# as HTTP/1.1.  Started as root it runs as nobody.  No access-log directive:
# no access log.  ocsp-update-interval 0: no OCSP fetcher for a self-signed
# certificate.
start_h2o() {
    new_dir h2o
    cat >"$DIR/h2o.conf" <<EOF
# written by bench/run
num-threads: 1
error-log: $DIR/log
max-connections: 60000
http2-idle-timeout: 600
http1-request-timeout: 600
listen:
  host: 127.0.0.1
  port: ${H2C_PORT[h2o]}
listen:
  host: 127.0.0.1
  port: ${TLS_PORT[h2o]}
  ssl:
    certificate-file: $TMP/cert.pem
    key-file: $TMP/key.pem
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$NGINX_PORT/
        proxy.timeout.keepalive: 30000
EOF
    $PIN_PROXY "$H2O" -c "$DIR/h2o.conf" >"$DIR/stdout" 2>&1 &
}

# HAProxy: one thread, no log lines in the proxies (only the global log for
# warnings), HTTP/1.1 to nginx reusing idle connections across client
# connections (http-reuse always); the HTTP/2 upstreams (proto h2: h2c,
# prior knowledge) chosen by host ACLs (HAProxy maps :authority to Host).
# maxconn is what the fd limit allows (HAProxy wants about two descriptors
# per connection).
start_haproxy() {
    new_dir haproxy
    local maxconn=$((($(ulimit -n) - 200) / 2))
    [ "$maxconn" -gt 30000 ] && maxconn=30000
    cat >"$DIR/haproxy.cfg" <<EOF
# written by bench/run
global
    nbthread 1
    maxconn $maxconn
    log stderr format raw local0 warning
defaults
    mode http
    timeout connect 5s
    timeout client 600s
    timeout server 120s
    timeout http-keep-alive 600s
frontend bench
    bind 127.0.0.1:${H2C_PORT[haproxy]} proto h2
    bind 127.0.0.1:${TLS_PORT[haproxy]} ssl crt $TMP/cert+key.pem alpn h2
    use_backend nginx_h2 if { req.hdr(host),field(1,:) -i h2u.bench }
    use_backend grpc if { req.hdr(host),field(1,:) -i grpc.bench }
    default_backend nginx
backend nginx
    http-reuse always
    server nginx 127.0.0.1:$NGINX_PORT pool-purge-delay 30s
backend nginx_h2
    http-reuse always
    server nginx_h2 127.0.0.1:$NGINX_H2_PORT proto h2 pool-purge-delay 30s
backend grpc
    http-reuse always
    server grpc 127.0.0.1:$GRPC_PORT proto h2 pool-purge-delay 30s
EOF
    $PIN_PROXY "$HAPROXY" -db -f "$DIR/haproxy.cfg" >"$DIR/log" 2>&1 &
}

start_proxy() { # proxy [args]: start it and wait for both ports; 1 + log if not
    local p=$1 pid
    shift
    "start_$p" "$@"
    pid=$!
    PIDS+=("$pid")
    PPID_OF[$p]=$pid
    if wait_port "${H2C_PORT[$p]}" "$pid" && wait_port "${TLS_PORT[$p]}" "$pid"; then
        sleep 0.2   # nghttpx and h2o fork their workers after listening
        return 0
    fi
    echo "bench/run: $p (${BIN[$p]}) did not start; its output ($DIR):" >&2
    cat "$DIR"/log "$DIR"/stdout 2>/dev/null | tail -n 20 | sed 's/^/    /' >&2
    stop_proxy "$p"
    return 1
}

stop_proxy() { stop_pid "${PPID_OF[$1]:-}"; PPID_OF[$1]=; }

# h2o 2.2's proxy.reverse.url speaks HTTP/1.1 only (its HTTP/2 upstream,
# proxy.http2.ratio, came with h2o 2.3): its h2c upstream and gRPC rows are
# n/a.  The others' routes are checked before their runs (check_route).
h2_upstream_na() { # proxy -> why it has no HTTP/2 upstream row (empty: it has)
    case $1 in
    h2o) echo "h2o 2.2 has no HTTP/2 upstream (proxy.reverse.url speaks HTTP/1.1)" ;;
    esac
}

proxy_url() { # proxy h2c|tls|h2up|grpc path (h2up, grpc: the h2c listener)
    if [ "$2" = tls ]; then
        echo "https://127.0.0.1:${TLS_PORT[$1]}$3"
    else
        echo "http://127.0.0.1:${H2C_PORT[$1]}$3"
    fi
}
