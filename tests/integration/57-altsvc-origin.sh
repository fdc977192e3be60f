#!/bin/sh
# An origin's altsvc is sent as an ALTSVC frame on stream 0 when an h2
# session starts and as an Alt-Svc header on HTTP/1.1 responses;
# origin_set is sent as an ORIGIN frame on TLS h2 sessions.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl h2

make_certs
start_backend b1
PT=$(free_port)
PC=$(free_port)
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
origin_set: ["https://a.test", "https://b.wild.test"]
origins:
  - hosts: ["a.test"]
    altsvc: 'h2="alt.a.test:$PT"; ma=3600'
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
start_h2gate "$PT" "$PC"

"$PY" "$BACKENDS/h2raw.py" frames --tls --port "$PT" --authority "a.test:$PT" >"$T/tls.json" 2>"$T/tls.err" ||
	fail "raw TLS client failed: $(cat "$T/tls.err")"
log "TLS: $(cat "$T/tls.json")"
assert_eq h2 "$(json_get 'd["alpn"]' "$T/tls.json")" "ALPN"
assert_eq 200 "$(json_get 'd["status"]' "$T/tls.json")" "status"
assert_eq 1 "$(json_get 'len(d["altsvc"])' "$T/tls.json")" "ALTSVC frames on stream 0 (TLS)"
assert_eq "h2=\"alt.a.test:$PT\"; ma=3600" "$(json_get 'd["altsvc"][0]["field_value"]' "$T/tls.json")" "ALTSVC field value"
assert_match "^https://a\.test(:$PT)?\$" "$(json_get 'd["altsvc"][0]["origin"]' "$T/tls.json")" "ALTSVC origin"
assert_eq '[["https://a.test", "https://b.wild.test"]]' "$(json_get 'd["origin"]' "$T/tls.json")" "ORIGIN frame (TLS)"

"$PY" "$BACKENDS/h2raw.py" frames --port "$PC" --authority "a.test:$PC" >"$T/h2c.json" 2>"$T/h2c.err" ||
	fail "raw h2c client failed: $(cat "$T/h2c.err")"
log "h2c: $(cat "$T/h2c.json")"
assert_eq 200 "$(json_get 'd["status"]' "$T/h2c.json")" "h2c status"
assert_eq 1 "$(json_get 'len(d["altsvc"])' "$T/h2c.json")" "ALTSVC frames on h2c"
assert_match "^http://a\.test(:$PC)?\$" "$(json_get 'd["altsvc"][0]["origin"]' "$T/h2c.json")" "ALTSVC origin (h2c)"
assert_eq '[]' "$(json_get 'd["origin"]' "$T/h2c.json")" "no ORIGIN frame on a cleartext session"

"${CURL[@]}" --http1.1 -D "$T/h1.hdr" -o /dev/null --resolve "a.test:$PC:127.0.0.1" "http://a.test:$PC/size/10" || fail "HTTP/1.1 request failed"
assert_file_match "^[Aa]lt-[Ss]vc: h2=\"alt\.a\.test:$PT\"; ma=3600" "$T/h1.hdr" "Alt-Svc header on HTTP/1.1"
stop_h2gate
pass
