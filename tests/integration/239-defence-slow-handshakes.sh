#!/bin/sh
# Slow handshakes (slowloris): 150 connections that never send the preface
# or never finish TLS are all closed after timeouts.handshake (1s) and do
# not block other clients; memory stays bounded.
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
    protocols: [h2]
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT"
timeouts:
  handshake: 1s
EOF2
start_h2gate "$P" "$PT"

atk handshake hs -p cases=${CASES:-silent,magic-only,tls-silent,tls-partial,tls-no-preface} -p count=${COUNT:-30} -p secs=10 -p tls_port="$PT"
assert_eq 150 "$(j 'd["n"]')" "slow connections opened"
assert_eq '[]' "$(j 'd["not_closed"]')" "slow connections still open 10 s later"
assert_defended "slow handshakes"
stop_h2gate
pass
