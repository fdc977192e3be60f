#!/bin/sh
# Host and path routing: exact host, "*.suffix" host, "*" fallback (first
# match wins, port ignored); longest path prefix wins, on segment
# boundaries ("/api" does not match "/apix"); path and query pass intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

for b in root api apiv2 suffix any; do start_backend $b; done
P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["exact.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_root"
      - path: /api
        upstream: "http://127.0.0.1:$BPORT_api"
      - path: /api/v2
        upstream: "http://127.0.0.1:$BPORT_apiv2"
  - hosts: ["*.suffix.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_suffix"
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_any"
EOF2
start_h2gate "$P"

check() { # proto host path expected-backend
	local v out
	case $1 in h2) v=--http2-prior-knowledge;; *) v=--http1.1;; esac
	out=$("${CURL[@]}" $v --resolve "$2:$P:127.0.0.1" -w ' %{http_code}' "http://$2:$P$3") ||
		fail "curl $1 http://$2$3 failed"
	assert_eq "backend=$4 path=${3%%\?*}"$'\n'" 200" "$out" "$1 $2$3"
}
for proto in h2 h1; do
	check $proto exact.test / root
	check $proto exact.test /index.html root
	check $proto exact.test /api api
	check $proto exact.test /api/ api
	check $proto exact.test /api/users?id=3 api
	check $proto exact.test /apix root
	check $proto exact.test /api/v2 apiv2
	check $proto exact.test /api/v2/items apiv2
	check $proto exact.test /api/v2x api
	check $proto exact.test /api/v3 api
	check $proto www.suffix.test /api suffix
	check $proto x.suffix.test / suffix
	check $proto other.test /api/v2 any
	check $proto suffix.test.evil / any
	check $proto notexact.test / any
done
# the request target (with the query) reached the upstream unchanged
grep -q 'REQ GET /api/users?id=3 ' "$T/backend-api.log" || fail "query string not forwarded: $(cat "$T/backend-api.log")"
stop_h2gate
pass
