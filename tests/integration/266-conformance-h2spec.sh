#!/bin/sh
# RFC 9113 / RFC 7541 conformance as h2spec 2.6.0 judges it: all 146 cases
# pass on an h2c listener and on a TLS listener in front of a real backend,
# and on h2c again in front of an upstream that refuses connections (every
# request is answered 502 at once: a request the client had ended is closed
# before its next frame arrives, and frames on closed streams must still be
# STREAM_CLOSED errors).  Two workers, as deployed.
#
# h2spec is not packaged by Debian: it comes from shared/tools next to the
# checkout (H2SPEC overrides).  Without it the test is skipped, also under
# H2G_NO_SKIP=1: a clone without shared/ is not a broken machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

H2SPEC=${H2SPEC:-$TOP_SRCDIR/../shared/tools/h2spec/h2spec}
if [ ! -x "$H2SPEC" ]; then
	echo "SKIP: $IT_NAME: h2spec not found at $H2SPEC (set H2SPEC)"
	exit 77
fi
need openssl

# h2spec_run NAME ARGS...: runs h2spec; its summary line must say that
# all 146 cases passed.  The failures (h2spec's own report) go to the log.
h2spec_run() {
	local name=$1 summary
	shift
	"$H2SPEC" -h 127.0.0.1 -o 5 "$@" >"$T/h2spec-$name.out" 2>&1
	summary=$(grep -E '^[0-9]+ tests, [0-9]+ passed' "$T/h2spec-$name.out" | tail -n 1)
	log "$name: ${summary:-no summary}"
	if [ "$summary" != "146 tests, 146 passed, 0 skipped, 0 failed" ]; then
		log "$name: h2spec's failures:"
		sed -n '/^Failures:/,$p' "$T/h2spec-$name.out" | sed 's/^/#   /' >&2
		[ -n "$summary" ] || tail -n 20 "$T/h2spec-$name.out" | sed 's/^/#   /' >&2
		FAILED_RUNS="$FAILED_RUNS $name"
	fi
	SUMMARIES="$SUMMARIES; $name: $summary"
}

# The cleartext listener is h2 only: one that also serves HTTP/1.1 takes
# h2spec's invalid preface for an HTTP/1.1 request and answers it (400).
WORKERS=2
CLEAR_PROTOCOLS=h2
FAILED_RUNS=
SUMMARIES=
make_certs
start_backend b1
PC=$(free_port)
PT=$(free_port)
tls_and_clear_config "$BPORT" | write_config
start_h2gate "$PC" "$PT"
h2spec_run h2c -p "$PC"
h2spec_run tls -p "$PT" -t -k
stop_h2gate

tls_and_clear_config "$(refused_port)" | write_config
start_h2gate "$PC" "$PT"
h2spec_run h2c-refused -p "$PC"
stop_h2gate

[ -z "$FAILED_RUNS" ] || fail "h2spec failed on:$FAILED_RUNS (${SUMMARIES#; })"
pass "${SUMMARIES#; }"
