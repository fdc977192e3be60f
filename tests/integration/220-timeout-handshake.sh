#!/bin/sh
# timeouts.handshake: 1s: connections that never complete the TLS handshake,
# the h2 preface, or their first HTTP/1.1 request are closed (8 of each
# kind at once), while a normal client is served meanwhile.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
need openssl

make_certs
start_backend b1
P=$(free_port)
PT=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
timeouts:
  handshake: 1s
  idle: 30s
EOF2
start_h2gate "$P" "$PT"

atk handshake hs -p cases=silent,partial-preface,magic-only,h1-partial,tls-silent,tls-partial,tls-no-preface \
	-p count=8 -p secs=8 -p tls_port="$PT"
assert_eq 56 "$(j 'd["n"]')" "connections tried"
assert_eq '[]' "$(j 'd["not_closed"]')" "connections still open 8 s after connecting (handshake: 1s)"
assert_defended "slow handshakes"
stop_h2gate
pass
