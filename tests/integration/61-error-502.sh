#!/bin/sh
# Upstream refusing connections: 502 (h2, HTTP/1.1), access log status=502;
# the daemon keeps serving other routes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

start_backend b1
DEAD=$(refused_port)
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
        upstream: "http://127.0.0.1:$BPORT"
      - path: /dead
        upstream: "http://127.0.0.1:$DEAD"
EOF2
start_h2gate "$P"
port_open "$DEAD" && skip "port $DEAD got taken by someone else"
U=http://127.0.0.1:$P
out=$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/dead/x") || fail "h2 curl failed"
assert_eq 502 "$out" "h2 refused upstream"
out=$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$U/dead/y") || fail "HTTP/1.1 curl failed"
assert_eq 502 "$out" "HTTP/1.1 refused upstream"
# (nghttp, not curl: the 502 goes out before the body arrives, and the
# stream is then reset with NO_ERROR, which curl 7.88 reports as a failure)
printf 'some body' >"$T/body"
timeout 10 nghttp -nv -d "$T/body" "$U/dead/z" >"$T/post.out" 2>&1 || fail "h2 POST nghttp failed: $(tail -3 "$T/post.out")"
assert_file_match ':status: 502' "$T/post.out" "h2 POST to refused upstream"
line=$(access_line 'path="/dead/x".*status=502|status=502.*path="/dead/x"') || exit 1
assert_match 'method=GET' "$line" "502 access log line"
out=$("${CURL[@]}" --http2-prior-knowledge -w ' %{http_code}' "$U/ok")
assert_eq "backend=b1 path=/ok
 200" "$out" "healthy route still served"
stop_h2gate
pass
