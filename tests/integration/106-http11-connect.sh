#!/bin/sh
# HTTP/1.1 "CONNECT host:port" on a listener shared with h2 (protocols [h2,
# http/1.1]) under the same connect ACL: 200 Connection Established, then
# raw bytes both ways with half-close (raw socket to the TCP echo target);
# curl -p through h2gate to an allowed HTTP backend; 403 for a denied /
# unlisted target, which is never contacted; access log proto=http/1.1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need curl

start_backend web
start_tcp echo echo
start_tcp denied echo
start_tcp denied0 echo
PC=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PC"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_web"
connect:
  allow: ["127.0.0.1:$TPORT_echo", "127.0.0.1:$BPORT_web"]
  deny: ["127.0.0.1:$TPORT_denied"]
EOF2
start_h2gate "$PC"
H1=("$PY" "$BACKENDS/h1tunnel.py")

# denied: 403, target never contacted
J=$T/denied.json
"${H1[@]}" connect "$PC" "127.0.0.1:$TPORT_denied" >"$J" || fail "HTTP/1.1 CONNECT client failed: $(cat "$J")"
assert_eq 403 "$(json_get 'd["status"]' "$J")" "HTTP/1.1 CONNECT to a denied target"
J=$T/notallowed.json
"${H1[@]}" connect "$PC" "127.0.0.1:$TPORT_denied0" >"$J" || fail "HTTP/1.1 CONNECT client failed: $(cat "$J")"
assert_eq 403 "$(json_get 'd["status"]' "$J")" "HTTP/1.1 CONNECT to a target not allowed"
assert_eq 1 "$(tcp_accepts denied)" "connections the denied target accepted"
assert_eq 1 "$(tcp_accepts denied0)" "connections the unlisted target accepted"


# HTTP/1.1 CONNECT, raw bytes + half-close
J=$T/connect.json
"${H1[@]}" connect "$PC" "127.0.0.1:$TPORT_echo" >"$J" || fail "HTTP/1.1 CONNECT client failed: $(cat "$J")"
log "connect: $(head -c 300 "$J")"
assert_eq 200 "$(json_get 'd["status"]' "$J")" "HTTP/1.1 CONNECT status"
assert_eq None "$(json_get 'd.get("error")' "$J")" "HTTP/1.1 CONNECT client error (received $(json_get 'd.get("received")' "$J") of the echo)"
assert_eq True "$(json_get 'd["echo_ok"]' "$J")" "bytes through the HTTP/1.1 CONNECT tunnel"
sent=$(json_get 'd["sent_bytes"]' "$J")
sha=$(json_get 'd["sent_sha256"]' "$J")
assert_eq "BYE $sent $sha" "$(json_get 'd["after_end"].strip()' "$J")" "half-close through the HTTP/1.1 tunnel"
assert_file_match "^EOF 2 $sent $sha\$" "$T/tcp-echo.log" "target's view of the HTTP/1.1 tunnel"

# curl through h2gate as an HTTP proxy with CONNECT (-p)
out=$("${CURL[@]}" -p -x "http://127.0.0.1:$PC" "http://127.0.0.1:$BPORT_web/size/5000" -o "$T/body" \
	-w '%{http_connect} %{http_code}') || fail "curl -p through h2gate failed"
assert_eq "200 200" "$out" "curl CONNECT status and tunnelled response status"
assert_eq "$(pattern_sha 5000)" "$(sha256sum <"$T/body" | cut -d' ' -f1)" "body through curl's CONNECT tunnel"

line=$(access_line "authority=127.0.0.1:$TPORT_echo method=CONNECT") || exit 1
assert_match 'proto=http/1.1 ' "$line" "access log proto of HTTP/1.1 CONNECT"
assert_match 'status=200 ' "$line" "access log status of HTTP/1.1 CONNECT"
assert_match "upstream=127.0.0.1:$TPORT_echo" "$line" "access log upstream of HTTP/1.1 CONNECT"
stop_h2gate
pass
