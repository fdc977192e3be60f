#!/bin/sh
# Allocation failures take a defined path and cost one request, not the
# connection.  h2gate runs with tests/integration/failshim.so preloaded,
# which makes evbuffer_new (as called by h2gate, not by libevent) return
# NULL, or RAND_bytes fail, while a file of that name exists in $T/fail.
# On one h2c connection, with evbuffer_new failing: a local 404 comes
# without its body (content-length 0); a POST's body cannot be buffered
# (503); a response body cannot be buffered (RST_STREAM INTERNAL_ERROR,
# the 200 before it or not); tunnel bytes from a CONNECT target cannot be
# buffered (200, then RST_STREAM INTERNAL_ERROR), nor a client's bytes
# sent with its CONNECT before the target answered (503).  With
# RAND_bytes failing, an extended CONNECT (WebSocket, for which h2gate
# makes the Sec-WebSocket-Key) gets 500.  Then, nothing failing, a GET on
# the same connection is served.  On HTTP/1.1 the local 404 and the
# POST's 503 come without a body too (h1_session closes a connection
# after an error it answers before the end of the request, buffers or
# not).  The metrics listener answers /metrics and /status with 503.
# (503, Service Unavailable, for what runs out of memory; 500 for the
# missing random bytes.)
# (Allocations by malloc itself, as the round-robin state's, are not
# injected here: 87-allocation-sweep.sh fails every allocation in turn,
# in a build configured --enable-alloc-fail.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tunlib.sh"
need h2 curl
[ -f "${FAILSHIM:-}" ] || fail "FAILSHIM=${FAILSHIM:-} is not built (make check builds it)"

start_backend b1
start_tcp first first
start_tcp echo echo
P=$(free_port)
PM=$(free_port)
write_config <<EOF2
$(config_common)
metrics:
  listen: "127.0.0.1:$PM"
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["a.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
      - path: /ws
        upstream: "http://127.0.0.1:9"
        websocket: true
connect:
  allow: ["127.0.0.1:$TPORT_first", "127.0.0.1:$TPORT_echo"]
EOF2
mkdir "$T/fail"
# The shim comes ahead of the sanitizer runtime in a sanitizer build.
cat >"$T/h2gate-shim" <<EOF2
#!/bin/sh
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0 LD_PRELOAD="$FAILSHIM" \
H2G_FAILSHIM_DIR="$T/fail" exec "$H2GATE" "\$@"
EOF2
chmod +x "$T/h2gate-shim"
H2GATE=$T/h2gate-shim
start_h2gate "$P" "$PM"

cat >"$T/client.py" <<'EOF2'
import json, os, socket, sys
import h2.config, h2.connection, h2.events

port, faildir, first, echo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def failing(name, on):
    path = os.path.join(faildir, name)
    if on:
        open(path, "w").close()
    else:
        os.unlink(path)

def out(step, r):
    print(json.dumps(dict(r, step=step)), flush=True)

# --- HTTP/2 (h2c prior knowledge), one connection for every step
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
conn = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, header_encoding="utf-8", validate_outbound_headers=False))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

def h2_request(headers, body=None):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers, end_stream=body is None and headers[0][1] != "CONNECT")
    if body is not None:
        conn.send_data(sid, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    r = {"status": None, "content_length": None, "body": 0, "reset": None, "ended": False, "closed": False}
    while not (r["ended"] or r["reset"] is not None or r["closed"]):
        data = sock.recv(65536)
        if not data:
            r["closed"] = True
            break
        for ev in conn.receive_data(data):
            if getattr(ev, "stream_id", None) != sid:
                if isinstance(ev, h2.events.ConnectionTerminated):
                    r["closed"] = True
                continue
            if isinstance(ev, h2.events.ResponseReceived):
                h = dict(ev.headers)
                r["status"] = int(h[":status"])
                r["content_length"] = h.get("content-length")
            elif isinstance(ev, h2.events.DataReceived):
                r["body"] += len(ev.data)
                conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, h2.events.StreamEnded):
                r["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                r["reset"] = ev.error_code
        sock.sendall(conn.data_to_send())
    return r

def get(path, authority="a.test"):
    return [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path)]

def h1_connection():
    return {"sock": socket.create_connection(("127.0.0.1", port), timeout=30), "buf": b""}

def h1_request(c, raw):
    s = c["sock"]
    s.sendall(raw)
    while b"\r\n\r\n" not in c["buf"]:
        data = s.recv(65536)
        if not data:
            return {"status": None, "closed": True}
        c["buf"] += data
    head, c["buf"] = c["buf"].split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(fields.get("content-length", "0"))
    while len(c["buf"]) < n:
        data = s.recv(65536)
        if not data:
            break
        c["buf"] += data
    body, c["buf"] = c["buf"][:n], c["buf"][n:]
    return {"status": int(lines[0].split()[1]), "content_length": fields.get("content-length"),
            "body": len(body), "connection": fields.get("connection"), "closed": False}

# Every step that fails evbuffer_new comes first: no stream has a buffer
# yet that a stream cache could hand on.
failing("evbuffer_new", True)
out("h2-404", h2_request(get("/x", "unknown.test")))
out("h2-post", h2_request([(":method", "POST"), (":scheme", "http"), (":authority", "a.test"),
                           (":path", "/sha256"), ("content-length", "1000")], b"x" * 1000))
out("h2-get", h2_request(get("/size/10")))
out("h2-connect", h2_request([(":method", "CONNECT"), (":authority", first)]))
out("h2-connect-data", h2_request([(":method", "CONNECT"), (":authority", echo)], b"early bytes"))
out("h1-404", h1_request(h1_connection(), b"GET /x HTTP/1.1\r\nHost: unknown.test\r\n\r\n"))
out("h1-post", h1_request(h1_connection(),
                          b"POST /sha256 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000))
failing("evbuffer_new", False)
failing("RAND_bytes", True)
out("h2-websocket", h2_request([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                                (":authority", "a.test"), (":path", "/ws")]))
failing("RAND_bytes", False)
out("h2-after", h2_request(get("/size/10")))
EOF2
"$PY" "$T/client.py" "$P" "$T/fail" "127.0.0.1:$TPORT_first" "127.0.0.1:$TPORT_echo" >"$T/client.out" 2>&1 || fail "client: $(cat "$T/client.out")"
log "$(cat "$T/client.out")"
step() { # STEP EXPR
	json_get "$2" <(grep "\"step\": \"$1\"" "$T/client.out")
}
# the expression reads each step's fields; 2 is INTERNAL_ERROR
assert_eq "404 0 0 True" "$(step h2-404 '" ".join(str(d[k]) for k in ("status", "content_length", "body", "ended"))')" "h2: local 404 without a buffer"
assert_eq "503 0 True" "$(step h2-post '" ".join(str(d[k]) for k in ("status", "body", "ended"))')" "h2: POST whose body cannot be buffered"
assert_eq 2 "$(step h2-get 'd["reset"]')" "h2: response body that cannot be buffered"
assert_eq "200 2" "$(step h2-connect '" ".join(str(d[k]) for k in ("status", "reset"))')" "h2: tunnel bytes that cannot be buffered"
assert_eq "503 True" "$(step h2-connect-data '" ".join(str(d[k]) for k in ("status", "ended"))')" "h2: a CONNECT's early bytes that cannot be buffered"
assert_eq "500 True" "$(step h2-websocket '" ".join(str(d[k]) for k in ("status", "ended"))')" "h2: extended CONNECT without random bytes"
assert_eq "200 10 True False" "$(step h2-after '" ".join(str(d[k]) for k in ("status", "body", "ended", "closed"))')" "h2: the same connection afterwards"
assert_eq "404 0" "$(step h1-404 '" ".join(str(d[k]) for k in ("status", "content_length"))')" "HTTP/1.1: local 404 without a buffer"
assert_eq "503 0" "$(step h1-post '" ".join(str(d[k]) for k in ("status", "content_length"))')" "HTTP/1.1: POST whose body cannot be buffered"
# The metrics listener's pages: 503, not a crash or an empty page.
touch "$T/fail/evbuffer_new"
for page in metrics status; do
	assert_eq 503 "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PM/$page")" "/$page without a buffer"
done
rm "$T/fail/evbuffer_new"
assert_eq 200 "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PM/metrics")" "/metrics afterwards"
assert_file_match 'out of memory for the request body' "$T/h2gate.err" "log line of the lost request body"
assert_file_match 'no random bytes for a Sec-WebSocket-Key' "$T/h2gate.err" "log line of the missing random bytes"
stop_h2gate
pass
