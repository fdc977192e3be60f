#!/bin/sh
# Malformed HTTP/2 requests (connection-specific headers, uppercase header
# names, transfer-encoding, te other than trailers, missing :path, unknown
# pseudo-header, pseudo-header after a regular one, CR/LF in a value) are
# refused (RST_STREAM / 400 / GOAWAY) and never reach the upstream.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need h2 curl

start_backend b1
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
start_h2gate "$P"

# sanity: the raw client's well-formed follow-up request reaches the upstream
before=$(backend_count "$BPORT")
for c in connection keep-alive uppercase transfer-encoding te-gzip upgrade no-path bad-pseudo \
	pseudo-after-regular space-in-name newline-in-value; do
	"$PY" "$BACKENDS/h2raw.py" malformed --port "$P" --case $c >"$T/$c.json" 2>"$T/$c.err" ||
		fail "raw client crashed on $c: $(cat "$T/$c.err")"
	outcome=$(json_get 'd["outcome"]' "$T/$c.json")
	st=$(json_get 'd["status"]' "$T/$c.json")
	log "$c: $(cat "$T/$c.json")"
	case "$outcome:$st" in
	reset:*|goaway:*|closed:*|status:400) ;;
	*) fail "$c: expected RST_STREAM / GOAWAY / 400, got $(cat "$T/$c.json")";;
	esac
	if [ "$outcome" = reset ]; then
		assert_eq 1 "$(json_get 'd["error_code"]' "$T/$c.json")" "$c: RST_STREAM error code (PROTOCOL_ERROR)"
	fi
done
after=$(backend_count "$BPORT")
# each case whose connection survived sent one good GET /size/10 afterwards
alive=0
for f in "$T"/*.json; do
	[ "$(json_get 'd.get("alive_status")' "$f")" = 200 ] && alive=$((alive + 1))
done
log "connections still usable after the bad request: $alive"
assert_eq "$alive" $((after - before)) "requests that reached the upstream (only the good follow-ups)"
if grep -Ei 'REQ GET /echo-headers' "$BLOG"; then fail "a malformed request reached the upstream"; fi
# the daemon still serves normal requests
out=$("${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/size/5") ||
	fail "normal request after malformed ones failed"
assert_eq 200 "$out" "normal request afterwards"
stop_h2gate
pass
