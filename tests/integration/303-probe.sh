#!/bin/sh
# h2gatectl probe against a real h2gate (TLS and h2c) with an altsvc
# origin, origin_set and a websocket route: ALPN, TLS version and cipher,
# certificate summary and verification (--cacert, --insecure, name
# mismatch), SETTINGS by name (the configured values,
# ENABLE_CONNECT_PROTOCOL), ALTSVC and ORIGIN frames, response and
# timings, text and --json; a listener without h2 in ALPN; usage and
# connection errors; and nghttpx when installed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"
run() {
	"$CTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

make_certs
start_backend b1
PT=$(free_port)
PC=$(free_port)
P1=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PC"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$P1"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [http/1.1]
origin_set: ["https://a.test", "https://b.wild.test"]
origins:
  - hosts: ["a.test"]
    altsvc: 'h2="alt.a.test:$PT"; ma=3600'
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
      - path: /chat
        upstream: "http://127.0.0.1:$BPORT"
        websocket: true
limits:
  max_concurrent_streams: 77
  initial_window_size: 256KiB
  max_frame_size: 32KiB
EOF2
start_h2gate "$PT" "$PC" "$P1"

# --- TLS, verified with --cacert, --json
run --json probe --cacert "$CERT" --connect-to "127.0.0.1:$PT" "https://a.test:$PT/size/100?x=1"
log "TLS probe: $(tr -d '\n' <"$T/out" | tr -s ' ')"
assert_eq 0 "$RC" "TLS probe exit ($ERR)"
J=$T/out
cp "$J" "$T/tls.json"
J=$T/tls.json
assert_eq "127.0.0.1:$PT" "$(json_get 'd["address"]' "$J")" "address"
assert_eq h2 "$(json_get 'd["alpn"]' "$J")" "ALPN"
assert_match '^TLSv1\.[23]$' "$(json_get 'd["tls"]["version"]' "$J")" "TLS version"
assert_match '^[A-Z0-9_-]+$' "$(json_get 'd["tls"]["cipher"]' "$J")" "cipher"
assert_eq a.test "$(json_get 'd["tls"]["sni"]' "$J")" "SNI sent"
assert_eq "CN=localhost" "$(json_get 'd["tls"]["certificate"]["subject"]' "$J")" "certificate subject"
assert_eq "CN=localhost" "$(json_get 'd["tls"]["certificate"]["issuer"]' "$J")" "certificate issuer"
assert_eq '["DNS:localhost", "DNS:a.test", "DNS:*.wild.test", "IP:127.0.0.1"]' \
	"$(json_get 'd["tls"]["certificate"]["sans"]' "$J")" "certificate SANs"
assert_match '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$(json_get 'd["tls"]["certificate"]["not_after"]' "$J")" "notAfter"
assert_eq ok "$(json_get 'd["tls"]["certificate"]["verify"]' "$J")" "verified with --cacert"
assert_eq 77 "$(json_get 'd["settings"]["MAX_CONCURRENT_STREAMS"]' "$J")" "SETTINGS_MAX_CONCURRENT_STREAMS"
assert_eq 262144 "$(json_get 'd["settings"]["INITIAL_WINDOW_SIZE"]' "$J")" "SETTINGS_INITIAL_WINDOW_SIZE"
assert_eq 32768 "$(json_get 'd["settings"]["MAX_FRAME_SIZE"]' "$J")" "SETTINGS_MAX_FRAME_SIZE"
assert_eq 1 "$(json_get 'd["settings"]["ENABLE_CONNECT_PROTOCOL"]' "$J")" "SETTINGS_ENABLE_CONNECT_PROTOCOL"
assert_eq 1 "$(json_get 'len(d["altsvc"])' "$J")" "one ALTSVC frame"
assert_eq 0 "$(json_get 'd["altsvc"][0]["stream"]' "$J")" "ALTSVC on stream 0"
assert_eq "https://a.test:$PT" "$(json_get 'd["altsvc"][0]["origin"]' "$J")" "ALTSVC origin"
assert_eq "h2=\"alt.a.test:$PT\"; ma=3600" "$(json_get 'd["altsvc"][0]["field_value"]' "$J")" "ALTSVC value"
assert_eq '[["https://a.test", "https://b.wild.test"]]' "$(json_get 'd["origin"]' "$J")" "ORIGIN frame"
assert_eq 200 "$(json_get 'd["response"]["status"]' "$J")" "status"
assert_eq 100 "$(json_get 'd["response"]["body_bytes"]' "$J")" "body bytes"
assert_eq b1 "$(json_get '[v for k, v in d["response"]["headers"] if k == "x-backend"][0]' "$J")" "response header"
assert_file_match 'path="/size/100\?x=1"' "$ACCESS" "path and query sent"
assert_eq True "$(json_get 'd["timings_ms"]["connect"] <= d["timings_ms"]["first_byte"] <= d["timings_ms"]["total"] and d["timings_ms"]["tls"] > 0' "$J")" "timings ordered"
assert_eq None "$(json_get 'd["error"]' "$J")" "no error"

# --- text output of the same
run probe --cacert "$CERT" --connect-to "127.0.0.1:$PT" "https://a.test:$PT/size/100"
assert_eq 0 "$RC" "TLS probe (text) exit ($ERR)"
assert_file_match '^alpn: +h2$' "$T/out" "text ALPN"
assert_file_match '^tls: +TLSv1\.[23], [A-Z0-9_-]+$' "$T/out" "text TLS"
assert_file_match '^  sans: +DNS:localhost, DNS:a\.test, DNS:\*\.wild\.test, IP:127\.0\.0\.1$' "$T/out" "text SANs"
assert_file_match '^  verify: +ok$' "$T/out" "text verify"
assert_file_match '^  MAX_CONCURRENT_STREAMS +77$' "$T/out" "text SETTINGS"
assert_file_match '^  ENABLE_CONNECT_PROTOCOL +1$' "$T/out" "text ENABLE_CONNECT_PROTOCOL"
assert_file_match "^  https://a\.test:$PT: h2=\"alt\.a\.test:$PT\"; ma=3600\$" "$T/out" "text ALTSVC"
assert_file_match '^origin: +https://a\.test https://b\.wild\.test$' "$T/out" "text ORIGIN"
assert_file_match '^  :status: 200$' "$T/out" "text status"
assert_file_match '^timings: +connect [0-9.]+ms tls [0-9.]+ms first_byte [0-9.]+ms total [0-9.]+ms$' "$T/out" "text timings"

# --- verification: self-signed without --cacert fails; -k reports and passes
run probe --connect-to "127.0.0.1:$PT" "https://a.test:$PT/"
assert_eq 1 "$RC" "unverified probe exit"
assert_match 'certificate verification failed: self[- ]signed certificate' "$ERR" "unverified probe message"
assert_file_match '^  :status: 200$' "$T/out" "unverified probe still reports the response"
run probe -k --connect-to "127.0.0.1:$PT" "https://a.test:$PT/"
assert_eq 0 "$RC" "--insecure probe exit ($ERR)"
assert_file_match '^  verify: +self[- ]signed certificate \(ignored: --insecure\)$' "$T/out" "--insecure verify line"
run --json probe --cacert "$CERT" --connect-to "127.0.0.1:$PT" "https://other.test:$PT/"
assert_eq 1 "$RC" "name mismatch exit"
assert_match 'hostname mismatch' "$(json_get 'd["tls"]["certificate"]["verify"]' "$T/out")" "name mismatch verify result"
assert_eq 421 "$(json_get 'd["response"]["status"]' "$T/out")" "421 for a name the certificate does not cover"
run --json probe --cacert "$CERT" "https://127.0.0.1:$PT/"
assert_eq 0 "$RC" "IP literal URL verifies against the IP SAN ($ERR)"
assert_eq None "$(json_get 'd["tls"]["sni"]' "$T/out")" "no SNI for an IP literal"

# --- h2c prior knowledge
run --json probe --h2c --connect-to "127.0.0.1:$PC" "http://a.test:$PC/size/5"
assert_eq 0 "$RC" "h2c probe exit ($ERR)"
cp "$T/out" "$T/h2c.json"
assert_eq None "$(json_get 'd.get("tls")' "$T/h2c.json")" "no TLS on h2c"
assert_eq 77 "$(json_get 'd["settings"]["MAX_CONCURRENT_STREAMS"]' "$T/h2c.json")" "h2c SETTINGS"
assert_eq "http://a.test:$PC" "$(json_get 'd["altsvc"][0]["origin"]' "$T/h2c.json")" "h2c ALTSVC origin"
assert_eq '[]' "$(json_get 'd["origin"]' "$T/h2c.json")" "no ORIGIN frame on h2c"
assert_eq 5 "$(json_get 'd["response"]["body_bytes"]' "$T/h2c.json")" "h2c body"
run probe --h2c "http://127.0.0.1:$PC/"
assert_file_match '^alpn: +\(cleartext, prior knowledge\)$' "$T/out" "h2c text ALPN line"
# ALTSVC frames are sent at session start, whatever the request's authority
assert_file_match "^  http://a\.test:$PC: h2=\"alt\.a\.test:$PT\"; ma=3600\$" "$T/out" "h2c text ALTSVC"
assert_file_match '^origin: +\(none\)$' "$T/out" "h2c text: no ORIGIN"
assert_file_match '^  :status: 404$' "$T/out" "h2c text status (a 404 is still a successful probe)"
assert_eq 0 "$RC" "probe exit with a 404"

# --- a TLS listener that only speaks HTTP/1.1
run --json probe -k "https://127.0.0.1:$P1/"
assert_eq 1 "$RC" "no-h2 listener exit"
assert_eq http/1.1 "$(json_get 'd["alpn"]' "$T/out")" "ALPN http/1.1 reported"
assert_match 'does not speak HTTP/2 over TLS \(ALPN: http/1\.1\)' "$ERR" "no-h2 message"

# --- errors
run probe "http://127.0.0.1:$PC/"
assert_eq 2 "$RC" "http:// without --h2c exit"
assert_match 'needs --h2c' "$ERR" "http:// without --h2c message"
run probe --h2c "https://127.0.0.1:$PT/"
assert_eq 2 "$RC" "--h2c with https exit"
run probe "ftp://x/"
assert_eq 2 "$RC" "bad scheme exit"
run probe "https://[::1/"
assert_eq 2 "$RC" "bad host exit"
R=$(refused_port)
run probe -k "https://127.0.0.1:$R/"
assert_eq 2 "$RC" "refused port exit"
assert_match "cannot connect to 127\.0\.0\.1 port $R: Connection refused" "$ERR" "refused port message"
stop_h2gate

# --- nghttpx, a different HTTP/2 server
if command -v nghttpx >/dev/null 2>&1; then
	PX=$(free_port)
	nghttpx --frontend="127.0.0.1,$PX" --backend="127.0.0.1,$BPORT" --workers=1 \
		--no-ocsp --errorlog-file="$T/nghttpx.err" --accesslog-file=/dev/null \
		--pid-file="$T/nghttpx.pid" --http2-max-concurrent-streams=33 "$KEY" "$CERT" >"$T/nghttpx.out" 2>&1 &
	_PIDS+=("$!")
	wait_port "$PX" "$!" || fail "nghttpx did not start: $(cat "$T/nghttpx.err" "$T/nghttpx.out")"
	run --json probe --cacert "$CERT" "https://localhost:$PX/size/7"
	assert_eq 0 "$RC" "nghttpx probe exit ($ERR)"
	assert_eq h2 "$(json_get 'd["alpn"]' "$T/out")" "nghttpx ALPN"
	assert_eq 33 "$(json_get 'd["settings"]["MAX_CONCURRENT_STREAMS"]' "$T/out")" "nghttpx SETTINGS"
	assert_eq 7 "$(json_get 'd["response"]["body_bytes"]' "$T/out")" "nghttpx body"
else
	log "nghttpx not installed: not probed"
fi
pass
