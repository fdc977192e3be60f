#!/bin/sh
# Client faults, one table: a client that resets (SO_LINGER 0) or closes
# (FIN) its connection mid-head, mid-body or mid-response, over h2c, TLS
# h2 and HTTP/1.1; an HTTP/2 client that cancels one stream mid-response
# (the other streams of the session go on) or sends GOAWAY while its
# streams are open (they are finished, whole, and then the connection is
# closed); a connection closed during the TLS handshake.  Each row states
# what the upstream must see: nothing of a request whose head never
# completed; for one cut halfway, its connection closed and the request
# body never completed (h2gate never writes the end of a body the client
# did not send); for a response the client stopped reading, its
# connection closed, never pooled half-read.  Afterwards nothing leaks:
# the daemon's counters are idle, it holds no descriptor but its pooled
# upstream connections, it still serves, and exits cleanly (the sanitizer
# build reports leaks at exit).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
. "$(dirname "$0")/faultlib.sh"

make_certs
start_raw r1
PC=$(free_port)
PT=$(free_port)
{
	tls_and_clear_config "$RPORT"
	printf 'timeouts:\n  stream_idle: 30s\n  idle: 60s\n'
} | write_config
start_h2gate "$PC" "$PT"
fd_baseline

# ACTION: faultclient.py client --action (see its help).  UPSTREAM: see
# faultlib.sh.  REQUEST: PATH[,PATH2] on the raw upstream (/fault?...:
# rawbackend.py; at=end&how=none is a plain whole response).
table_jobs <<'EOF'
# name               protos     action               upstream request
rst-mid-head         h2c,h2,h1  rst-mid-head         none     /fault?at=end&how=none
fin-mid-head         h2c,h2,h1  fin-mid-head         none     /fault?at=end&how=none
rst-mid-body         h2c,h2,h1  rst-mid-body         cut      /fault?at=end&how=none
fin-mid-body         h2c,h2,h1  fin-mid-body         cut      /fault?at=end&how=none
rst-mid-chunked-body h1         rst-mid-chunked-body cut      /fault?at=end&how=none
fin-mid-chunked-body h1         fin-mid-chunked-body cut      /fault?at=end&how=none
rst-waiting          h2c,h2,h1  rst-waiting          closed   /fault?at=before-head&how=hold
fin-waiting          h2c,h2,h1  fin-waiting          closed   /fault?at=before-head&how=hold
rst-mid-response     h2c,h2,h1  rst-mid-response     closed   /fault?n=8000000&at=end&how=none
fin-mid-response     h2c,h2,h1  fin-mid-response     closed   /fault?n=8000000&at=end&how=none
cancel-mid-response  h2c,h2     cancel-mid-response  closed   /fault?n=8000000&at=end&how=none,/fault?n=300000&at=end&how=none
goaway-open-streams  h2c,h2     goaway               -        /fault?n=6&at=mid-body&how=drip,/fault?n=4&at=mid-body&how=drip
tls-rst-hello        h2         tls-rst-hello        -        -
tls-fin-hello        h2         tls-fin-hello        -        -
tls-rst-flight       h2         tls-rst-flight       -        -
tls-fin-flight       h2         tls-fin-flight       -        -
EOF

# The client vanishes once the upstream has the request (when the row
# says the upstream must see its connection closed), not after a guess.
client_row() { # NAME PROTO ACTION UPSTREAM REQUEST
	local tag=$1-$2 p1=${5%%,*} p2=${5#*,} go=$T/go-$1-$2 pid
	"$PY" "$FAULTCLIENT" client --proto "$2" --port "$(proto_port "$2")" --action "$3" --go "$go" \
		--path="$(tagged "$p1" "$tag")" --path2="$(tagged "$p2" "$tag-2")" >"$T/row-$1-$2.json" 2>"$T/row-$1-$2.err" &
	pid=$!
	case "$4" in closed|cut) wait_until 10 eval '[ -n "$(tag_cids "$tag")" ]';; esac
	touch "$go"
	wait "$pid"
}
run_jobs client_row
check_rows

# The streams of a cancelled one's session, and those open at the
# client's GOAWAY, whatever became of them, got their whole answers (the
# client said so: check_rows); their upstream connections may be pooled.
assert_idle "after the table"
"${CURL[@]}" --http2 --cacert "$CERT" -o "$T/after.body" "https://127.0.0.1:$PT/fault?n=16&at=end&how=none" ||
	fail "request after the table failed"
assert_eq 000000000000000 "$(cat "$T/after.body")" "request after the table"
stop_h2gate
pass "$(wc -l <"$ROWS") rows"
