#!/bin/sh
# A reload whose upstream_tls is broken keeps the running configuration,
# with FILE:LINE:COLUMN in the error (SIGHUP: stderr; the control socket:
# its errors list):
#  - ca: a file that holds no certificate (found when the daemon builds
#    the route's TLS context, after the file was parsed);
#  - ca: a file that cannot be read;
#  - certificate without key;
# requests keep reaching the https:// upstream meanwhile.  A valid reload
# that swaps the CA for one that did not sign the upstream's certificate
# takes effect: 502 (the pools of other settings are not reused).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/tlsuplib.sh"
need curl openssl

make_upstream_certs
start_tls_backend b1
B1=$BPORT
printf 'not a certificate\n' >"$T/garbage.pem"
route() { # UPSTREAM_TLS-LINES
	printf '      - path: /\n        upstream: "https://127.0.0.1:%s"\n        upstream_tls:\n%s' "$B1" "$1"
}
tls_gate "$(route "          ca: $CA
          server_name: backend.test")"
CONF_REAL=$(readlink -f "$CONF")
ok() { assert_eq "backend=b1 path=/$1" "$(curl -s --max-time 5 "$U/$1")" "$2"; }
ok first "https:// upstream before any reload"

# Rewrites the config with ROUTE-LINES, reloads by SIGHUP then by the
# control socket; both must fail at LINE:COL with REGEX.
try_bad() { # NAME LINES LINE-PATTERN COL REGEX
	local name=$1 pos before rep e
	sed -n '1,/^    routes:/p' "$CONF" >"$T/head.yaml"
	{ cat "$T/head.yaml"; route "$2"; } | write_config
	pos=$(grep -n -- "$3" "$CONF" | head -n 1 | cut -d: -f1):$4
	before=$(err_count 'reload failed: the running configuration stays')
	kill -HUP "$H2G_PID"
	wait_err 'reload failed: the running configuration stays' $((before + 1)) ||
		fail "$name: no 'reload failed' in stderr: $(tail -n 5 "$T/h2gate.err")"
	grep -Eq "reload failed: .*$CONF_REAL:$pos: .*($5)" "$T/h2gate.err" ||
		fail "$name: stderr has no '$CONF_REAL:$pos: ...$5': $(grep 'reload failed' "$T/h2gate.err" | tail -n 2)"
	ok "$name-hup" "$name: still served after the failed SIGHUP reload"
	rep=$(ctl reload)
	[ $? -eq 1 ] || fail "$name: control reload: expected ok:false, got: $rep"
	e=$(jget 'd["errors"][0]' "$rep")
	log "$name: $e"
	assert_match "^$CONF_REAL:$pos: .*($5)" "$e" "$name: control reload error FILE:LINE:COL"
	ok "$name-ctl" "$name: still served after the failed control reload"
}
try_bad garbage "          ca: $T/garbage.pem
" "ca: $T/garbage.pem" 11 'upstream_tls: ca .*garbage.pem'
try_bad missing "          ca: $T/missing.pem
" "ca: $T/missing.pem" 15 'upstream_tls.ca: cannot read'
try_bad nokey "          ca: $CA
          certificate: $CCERT
" "certificate: $CCERT" 11 "upstream_tls.certificate: needs 'key'"

# A valid reload with another CA: verification now fails.
sed -n '1,/^    routes:/p' "$CONF" >"$T/head.yaml"
{ cat "$T/head.yaml"; route "          ca: $CA2
          server_name: backend.test
"; } | write_config
rep=$(ctl reload) || fail "valid reload: $rep"
wait_until "$H2G_WAIT" eval '[ "$(curl -s --max-time 5 -o /dev/null -w "%{http_code}" "$U/after")" = 502 ]' ||
	fail "after a reload to another CA the upstream is still trusted"
assert_file_match 'certificate verify failed' "$T/h2gate.err" "the verify error is logged after the reload"
stop_h2gate
pass
