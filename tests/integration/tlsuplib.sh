# Helpers for the tests of TLS upstreams (https://, h2://).  Sourced after
# lib.sh; brings h2uplib.sh's (gate_config, metric) with it.
. "$(dirname "$0")/h2uplib.sh"

# make_upstream_certs: a test CA ($CA, key $T/ca.key), a server
# certificate it signed ($SCERT/$SKEY: DNS backend.test, IP 127.0.0.1), a
# client certificate it signed ($CCERT/$CKEY, CN=h2gate-client), and an
# unrelated CA ($CA2) that signed nothing of these.
make_upstream_certs() {
	local o=$T/certs.out ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	{
		openssl req -x509 $ec -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=h2gate test CA" &&
		openssl req -x509 $ec -keyout "$T/ca2.key" -out "$T/ca2.pem" -days 2 -subj "/CN=other CA" &&
		openssl req $ec -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=backend.test" &&
		printf 'subjectAltName=DNS:backend.test,IP:127.0.0.1\n' >"$T/srv.ext" &&
		openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
			-out "$T/srv.pem" -days 2 -extfile "$T/srv.ext" &&
		openssl req $ec -keyout "$T/cli.key" -out "$T/cli.csr" -subj "/CN=h2gate-client" &&
		printf 'extendedKeyUsage=clientAuth\n' >"$T/cli.ext" &&
		openssl x509 -req -in "$T/cli.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
			-out "$T/cli.pem" -days 2 -extfile "$T/cli.ext"
	} >"$o" 2>&1 || fail "openssl: $(cat "$o")"
	CA=$T/ca.pem CA2=$T/ca2.pem SCERT=$T/srv.pem SKEY=$T/srv.key CCERT=$T/cli.pem CKEY=$T/cli.key
}

# start_tls_backend NAME [--tls-ca CA]: the HTTP/1.1 backend over TLS
# (ALPN http/1.1 only; with --tls-ca it requires a client certificate);
# sets BPORT and BLOG like start_backend.
start_tls_backend() {
	local name=$1 port pid
	shift
	port=$(free_port)
	"$PY" "$BACKENDS/httpbackend.py" --port "$port" --name "$name" --log "$T/backend-$name.log" \
		--tls-cert "$SCERT" --tls-key "$SKEY" "$@" >"$T/backend-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_port "$port" "$pid" || fail "TLS backend $name did not start: $(cat "$T/backend-$name.out")"
	BPORT=$port
	BLOG=$T/backend-$name.log
}

# tls_gate ROUTES: h2gate on gate_config (h2uplib.sh) with ROUTES;
# sets P, MPORT and U.
tls_gate() {
	P=$(free_port)
	MPORT=$(free_port)
	gate_config "$P" "$1" | write_config
	start_h2gate "$P" "$MPORT"
	U=http://127.0.0.1:$P
}
