#!/bin/sh
# Cleartext "Upgrade: h2c" (curl --http2 on http://, nghttp -u) on a
# listener with protocols [h2, http/1.1]: the response comes over HTTP/2,
# and the upgraded connection lives on as any h2 session (a request
# after stream_idle: 1s of quiet is served).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp h2

start_backend b1
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
timeouts:
  stream_idle: 1s
EOF2
start_h2gate "$P"
U=http://127.0.0.1:$P

out=$("${CURL[@]}" --http2 -v -o "$T/get.body" -w '%{http_code} %{http_version}' "$U/size/5000" 2>"$T/curl.err") ||
	fail "curl upgrade GET failed: $(tail -5 "$T/curl.err")"
assert_file_match '^> Upgrade: h2c' "$T/curl.err" "curl sent Upgrade: h2c"
assert_file_match '^< HTTP/1.1 101' "$T/curl.err" "101 Switching Protocols"
assert_eq "200 2" "$out" "GET status/version after upgrade"
assert_eq "$(pattern_sha 5000)" "$(sha256sum <"$T/get.body" | cut -d' ' -f1)" "GET body sha256"

# a second request on the same (upgraded) connection is plain h2
out=$("${CURL[@]}" --http2 -o /dev/null -o "$T/two.body" -w '%{http_code} %{http_version}\n' \
	"$U/size/10" "$U/chunked/99999") || fail "two requests after upgrade failed"
assert_eq "200 2
200 2" "$out" "two requests after upgrade"
assert_eq "$(pattern_sha 99999)" "$(sha256sum <"$T/two.body" | cut -d' ' -f1)" "second body"

nghttp -nvu "$U/size/3000" >"$T/nghttp.out" 2>&1 || fail "nghttp -u failed: $(tail -5 "$T/nghttp.out")"
assert_file_match 'HTTP Upgrade success' "$T/nghttp.out" "nghttp upgrade"
assert_file_match ':status: 200' "$T/nghttp.out" "nghttp :status"

"$PY" - "$P" "$BACKENDS" >"$T/later.out" 2>&1 <<'PYEOF' || fail "request after a quiet upgraded session: $(cat "$T/later.out")"
import sys, time
sys.path.insert(0, sys.argv[2])
import h2attack as A
c = A.Conn(int(sys.argv[1]), preface=False)
c.sock.sendall(b"GET /size/10 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += c.sock.recv(65536)
head, c.buf = buf.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 101"), head
c.send(A.PREFACE + A.settings_frame([]))
c.wait(lambda: c.done(1), 5)
time.sleep(2.5)  # longer than stream_idle, shorter than idle
c.send(c.get(3, "/size/20"))
c.wait(lambda: c.done(3), 5)
assert (c.status.get(1), c.status.get(3), c.data.get(3)) == (200, 200, 20), c.summary()
PYEOF

line=$(access_line 'path="/size/5000"') || exit 1
assert_match 'proto=h2c( |$)' "$line" "access log proto for the upgraded request"
assert_match 'status=200' "$line" "access log status"
stop_h2gate
pass
