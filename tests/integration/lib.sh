# Shared helpers for the h2gate integration tests (bash).
#
# Every test script starts with:
#   [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#   . "$(dirname "$0")/lib.sh"
# and then uses: need CMD..., free_port, make_certs, start_backend NAME,
# config_common, write_config, start_h2gate PORT..., stop_h2gate,
# assert_eq, assert_match, fail, pass.
#
# Environment: H2GATE (daemon binary, required), TOP_SRCDIR (source dir),
# H2G_NO_SKIP=1 (a missing client is a failure, not a skip),
# H2G_WAIT (seconds to wait for readiness, default 10),
# H2G_KEEP=1 (keep the temp dir).

set -u

IT_NAME=$(basename "$0" .sh)
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$IT_DIR/../.." && pwd)}
BACKENDS=$IT_DIR/backends
PY=/usr/bin/python3
H2G_WAIT=${H2G_WAIT:-10}
# ASan builds are slower: allow more time for readiness polling.
case "${H2GATE:-}" in *asan*|*ASAN*) H2G_WAIT=$((H2G_WAIT * 3));; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

T=$(mktemp -d "${TMPDIR:-/tmp}/h2g-$IT_NAME.XXXXXX")
_PIDS=()
_CLEANUP=()
H2G_PID=
_FAILED=0

log() { printf '# %s\n' "$*" >&2; }

_dump_logs() {
	local f
	for f in "$T"/h2gate.err "$T"/access.log "$T"/*.out; do
		[ -s "$f" ] || continue
		printf '#----- %s (last 40 lines)\n' "${f#"$T"/}" >&2
		tail -n 40 "$f" | sed 's/^/#   /' >&2
	done
}

_cleanup() {
	local rc=$? p i c
	# a test's own teardown (e.g. a tmux server), even when it failed midway
	for c in "${_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
	for p in $H2G_PID "${_PIDS[@]}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	for p in $H2G_PID "${_PIDS[@]}"; do
		[ -n "$p" ] || continue
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		_dump_logs
	fi
	if [ -f "$T/.ports" ]; then
		while read -r p; do rmdir "${TMPDIR:-/tmp}/h2g-ports/$p" 2>/dev/null; done <"$T/.ports"
	fi
	if [ -n "${H2G_KEEP:-}" ]; then
		echo "# temp dir kept: $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $IT_NAME: $*" >&2
	exit 1
}

skip() {
	if [ "${H2G_NO_SKIP:-}" = 1 ]; then
		fail "(H2G_NO_SKIP=1) would skip: $*"
	fi
	echo "SKIP: $IT_NAME: $*" >&2
	exit 77
}

pass() {
	echo "PASS: $IT_NAME${1:+: $1}"
	exit 0
}

# need CMD... : skip (or fail with H2G_NO_SKIP=1) unless every client exists
need() {
	local c
	for c in "$@"; do
		case "$c" in
		h2) "$PY" -c 'import h2, hyperframe, hpack' 2>/dev/null ||
			skip "python3-h2 missing for $PY";;
		grpc) "$PY" -c 'import grpc' 2>/dev/null ||
			skip "python3-grpcio missing for $PY";;
		*) command -v "$c" >/dev/null 2>&1 || skip "$c not installed";;
		esac
	done
}

assert_eq() { # expected actual what
	[ "$1" = "$2" ] || fail "${3:-value}: expected [$1], got [$2]"
}

assert_ne() { # unexpected actual what
	[ "$1" != "$2" ] || fail "${3:-value}: did not expect [$1]"
}

assert_match() { # regex(ERE) string what
	printf '%s' "$2" | grep -Eq -- "$1" || fail "${3:-value}: [$2] does not match /$1/"
}

assert_no_match() { # regex(ERE) string what
	if printf '%s' "$2" | grep -Eq -- "$1"; then
		fail "${3:-value}: [$2] unexpectedly matches /$1/"
	fi
}

assert_file_match() { # regex(ERE) file what
	grep -Eq -- "$1" "$2" || fail "${3:-file $2}: no line matches /$1/"
}

# (curl 7.88 cannot take more than 32 KiB after a 101 Switching Protocols:
# keep bodies of "Upgrade: h2c" requests small.)

# --- ports ------------------------------------------------------------

# free_port: print a TCP port on 127.0.0.1 that is free right now (and is
# not listening, so it also serves as a "connection refused" port).
free_port() {
	# Tests run in parallel (make -j): a port is also reserved (mkdir is
	# atomic) so that two scripts never get the same one between the
	# kernel's answer and their bind; reservations go with the temp dir.
	local p i
	mkdir -p "${TMPDIR:-/tmp}/h2g-ports"
	for i in $(seq 1 50); do
		p=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		if mkdir "${TMPDIR:-/tmp}/h2g-ports/$p" 2>/dev/null; then
			echo "$p" >>"$T/.ports"
			echo "$p"
			return 0
		fi
	done
	fail "free_port: no free port"
}

# refused_port: a port where connections are refused (nothing listens).
refused_port() { free_port; }

port_open() { # PORT: true if something accepts on 127.0.0.1:PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT [PID]: poll until the port accepts (bounded); fail if the
# optional PID dies meanwhile.
wait_port() {
	local port=$1 pid=${2:-} i n=$((H2G_WAIT * 20))
	for i in $(seq 1 "$n"); do
		port_open "$port" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 2
		fi
		sleep 0.05
	done
	return 1
}

# wait_until SECONDS CMD...: poll CMD (every 50 ms) until it succeeds.
wait_until() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# --- certificates -----------------------------------------------------

# make_certs: self-signed cert $T/cert.pem + $T/key.pem, SANs localhost,
# a.test, *.wild.test, 127.0.0.1.
make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,DNS:a.test,DNS:*.wild.test,IP:127.0.0.1" \
		>"$T/openssl.out" 2>&1 || fail "openssl req failed: $(cat "$T/openssl.out")"
	CERT=$T/cert.pem
	KEY=$T/key.pem
}

# --- backends ---------------------------------------------------------

# start_backend NAME: start an HTTP/1.1 backend; sets BPORT (its port) and
# BLOG (its request log).  Also sets BPORT_<NAME> when NAME is an identifier.
start_backend() {
	local name=$1 port pid rc
	port=$(free_port)
	"$PY" "$BACKENDS/httpbackend.py" --port "$port" --name "$name" \
		--log "$T/backend-$name.log" >"$T/backend-$name.out" 2>&1 &
	pid=$!
	_PIDS+=("$pid")
	wait_port "$port" "$pid"
	rc=$?
	[ $rc -eq 0 ] || fail "backend $name did not start on port $port (rc=$rc): $(cat "$T/backend-$name.out")"
	BPORT=$port
	BLOG=$T/backend-$name.log
	case "$name" in [A-Za-z_]*) eval "BPORT_$name=$port";; esac
}

# backend_count PORT: number of requests the backend served (not /count).
backend_count() {
	curl -s --max-time 5 "http://127.0.0.1:$1/count" | sed -n 's/^count=//p'
}

# pattern_sha N: sha256 of the deterministic N-byte body of /size/N.
pattern_sha() {
	"$PY" "$BACKENDS/httpbackend.py" --sha "$1"
}

# --- the daemon -------------------------------------------------------

[ -n "${H2GATE:-}" ] || fail "H2GATE is not set (path of the built daemon)"
[ -x "$H2GATE" ] || fail "H2GATE=$H2GATE is not an executable"

CONF=$T/h2gate.yaml
ACCESS=$T/access.log

# config_common: the lines every test config starts with (WORKERS
# overrides the one worker).
config_common() {
	cat <<EOF
workers: ${WORKERS:-1}
log:
  level: info
  access: $T/access.log
control:
  socket: $T/ctl.sock
EOF
}

# write_config [FILE]: config from stdin (default $CONF).
write_config() {
	cat >"${1:-$CONF}"
}

# tls_and_clear_config UPSTREAM_PORT [HOSTS [ROUTES]]: a TLS listener
# ($PT) and a cleartext one ($PC), both [h2, http/1.1] (CLEAR_PROTOCOLS
# overrides the cleartext one's), one origin (HOSTS, default "*") routing
# / to 127.0.0.1:UPSTREAM_PORT, or with ROUTES: the items of its routes:
# list, indented 6 spaces, where a literal $BPORT stands for
# UPSTREAM_PORT.  Needs make_certs.
tls_and_clear_config() {
	local routes=${3:-'      - path: /
        upstream: "http://127.0.0.1:$BPORT"'}
	cat <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$PT"
    tls:
      certificate: $CERT
      key: $KEY
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$PC"
    protocols: [${CLEAR_PROTOCOLS:-h2, http/1.1}]
origins:
  - hosts: ["${2:-*}"]
    routes:
${routes//\$BPORT/$1}
EOF2
}

# start_tls_and_clear [HOSTS [ROUTES]]: backend b1 and h2gate on
# tls_and_clear_config in front of it.
start_tls_and_clear() {
	make_certs
	start_backend b1
	PT=$(free_port)
	PC=$(free_port)
	tls_and_clear_config "$BPORT" "${1:-*}" "${2:-}" | write_config
	start_h2gate "$PT" "$PC"
}

# start_h2gate PORT...: start the daemon on $CONF in the background and wait
# until every PORT accepts.  Sets H2G_PID.
start_h2gate() {
	local p rc
	"$H2GATE" -c "$CONF" >"$T/h2gate.stdout" 2>"$T/h2gate.err" &
	H2G_PID=$!
	for p in "$@"; do
		wait_port "$p" "$H2G_PID"
		rc=$?
		[ $rc -eq 0 ] && continue
		if [ $rc -eq 2 ]; then
			wait "$H2G_PID"
			rc=$?
			H2G_PID=
			fail "h2gate exited ($rc) before listening on $p: $(tail -n 20 "$T/h2gate.err")"
		fi
		fail "h2gate did not listen on port $p within ${H2G_WAIT}s"
	done
}

# stop_h2gate [--any]: SIGTERM, wait (bounded) for exit; sets H2G_RC, fails
# unless 0 (or with --any).
stop_h2gate() {
	[ -n "$H2G_PID" ] || fail "stop_h2gate: daemon not running"
	kill -TERM "$H2G_PID" 2>/dev/null
	wait_h2gate_exit "$@"
}

# wait_h2gate_exit [--any]: like stop_h2gate, without sending a signal.
wait_h2gate_exit() {
	local i n=$((H2G_WAIT * 2 * 20))
	[ -n "$H2G_PID" ] || fail "wait_h2gate_exit: daemon not running"
	for i in $(seq 1 "$n"); do
		kill -0 "$H2G_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$H2G_PID" 2>/dev/null; then
		kill -KILL "$H2G_PID"
		wait "$H2G_PID" 2>/dev/null
		H2G_PID=
		fail "h2gate did not exit after SIGTERM"
	fi
	wait "$H2G_PID"
	H2G_RC=$?
	H2G_PID=
	[ "${1:-}" = "--any" ] && return 0
	[ "$H2G_RC" -eq 0 ] || fail "h2gate exited with $H2G_RC after SIGTERM"
	if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T/h2gate.err"; then
		fail "sanitizer report in h2gate stderr"
	fi
}

# access_line REGEX [SECONDS]: wait until an access-log line matches; print it.
# (In $(...), fail only ends the subshell: use  line=$(access_line RE) || exit 1)
access_line() {
	local re=$1 secs=${2:-5}
	if wait_until "$secs" grep -Eq -- "$re" "$ACCESS" 2>/dev/null; then
		grep -E -- "$re" "$ACCESS" | tail -n 1
		return 0
	fi
	fail "no access log line matches /$re/ within ${secs}s"
}

# logfmt_get KEY LINE: the value of KEY= in a logfmt line (quotes stripped).
logfmt_get() {
	"$PY" - "$1" "$2" <<'EOF'
import shlex, sys
key, line = sys.argv[1], sys.argv[2]
for tok in shlex.split(line, posix=True):
    if tok.startswith(key + "="):
        print(tok[len(key) + 1:])
        break
EOF
}

# json_get EXPR FILE: evaluate a python expression on the JSON doc `d`.
json_get() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[2])); r=eval(sys.argv[1]); print(r if not isinstance(r,(list,dict)) else json.dumps(r))' "$1" "$2"
}

# trailers_are_last FILE FIELD: in `nghttp -v` output FILE, the trailer
# field FIELD arrives after the last DATA frame, in a HEADERS frame with
# END_STREAM.
trailers_are_last() {
	"$PY" - "$1" "$2" <<'PYEOF'
import re, sys
t = open(sys.argv[1]).read()
i_data = t.rfind("recv DATA frame")
i_tr = t.find(sys.argv[2] + ":")
i_hdr = t.find("recv HEADERS frame", i_tr)
m = re.compile(r"recv HEADERS frame <length=\d+, flags=0x0([0-9a-f])").match(t, i_hdr) if i_hdr >= 0 else None
ok = 0 <= i_data < i_tr and m and int(m.group(1), 16) & 1
sys.exit(0 if ok else 1)
PYEOF
}

CURL=(curl -sS --max-time 30)
