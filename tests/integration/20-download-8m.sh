#!/bin/sh
# 8 MiB downloads (Content-Length and chunked upstream bodies) over TLS h2
# and h2c with curl and nghttp: sizes and sha256 match.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl nghttp

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
  - address: "127.0.0.1:$PC"
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
EOF2
start_h2gate "$PT" "$PC"
N=8388608
want=$(pattern_sha $N)

for U in "https://127.0.0.1:$PT" "http://127.0.0.1:$PC"; do
	case $U in https:*) V=--http2;; *) V=--http2-prior-knowledge;; esac
	for ep in size chunked; do
		out=$("${CURL[@]}" $V --cacert "$CERT" -o "$T/dl" -w '%{http_code} %{http_version} %{size_download}' \
			"$U/$ep/$N") || fail "curl $U/$ep/$N failed"
		assert_eq "200 2 $N" "$out" "curl $U/$ep"
		assert_eq "$want" "$(sha256sum <"$T/dl" | cut -d' ' -f1)" "curl $U/$ep sha256"
	done
	rm -f "$T/dl"
	nghttp "$U/size/$N" >"$T/dl" 2>"$T/nghttp.err" || fail "nghttp $U failed: $(cat "$T/nghttp.err")"
	assert_eq "$want" "$(sha256sum <"$T/dl" | cut -d' ' -f1)" "nghttp $U sha256"
	rm -f "$T/dl"
done
stop_h2gate
pass
