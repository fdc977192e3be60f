#!/bin/sh
# Upstream faults, one table: the upstream (rawbackend.py /fault) writes a
# good response up to a point -- before the head, mid-head, mid-body,
# mid-chunk, mid-trailer, after the last chunk -- and then resets the
# connection (SO_LINGER 0) or closes it (FIN), stalls, drips a byte a
# second, or sends more than it declared; an upstream that accepts and
# never reads; one that refuses connections; a kept-alive connection the
# upstream gave up on (the request sent again, never 502); responses that are not
# HTTP/1.1 (two lengths, both framings, bad status lines: 502, never a
# split or smuggled response).  Each row runs over h2c, TLS h2 and
# HTTP/1.1 and states what the client must see (the contract: a reset or
# close before a response is 502, a silent upstream 504, a response cut
# after its head RST_STREAM(INTERNAL_ERROR) or, over HTTP/1.1, a closed
# connection with the truncation visible, never a truncated success) and
# what the upstream must see (its connection closed, never pooled
# half-used).  The access log marks every cut response reset=1 and no
# whole one.  Afterwards nothing leaks: the daemon's counters are idle and
# it holds no descriptor but its pooled upstream connections; it still
# serves, and exits cleanly (the sanitizer build reports leaks at exit).
# (The rows hold what 61-error-502, 62-error-504, 63-upstream-dies,
# 64-upstream-stale-retry, 224-timeout-upstream-response,
# 241-malformed-upstream-responses and the stalled and trickling responses
# of 222-timeout-stream-idle checked.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"
. "$(dirname "$0")/faultlib.sh"

make_certs
start_raw nr --noread
NRPORT=$RPORT NRLOG=$RLOG
start_raw r1
DEAD=$(refused_port)
PC=$(free_port)
PT=$(free_port)
{
	tls_and_clear_config "$RPORT" "*" '      - path: /
        upstream: "http://127.0.0.1:$BPORT"
      - path: /noread
        upstream: "http://127.0.0.1:'"$NRPORT"'"
      - path: /refused
        upstream: "http://127.0.0.1:'"$DEAD"'"'
	cat <<EOF2
timeouts:
  upstream_response: 2s
  stream_idle: 4s
  idle: 60s
EOF2
} | write_config
start_h2gate "$PC" "$PT"
port_open "$DEAD" && skip "port $DEAD got taken by someone else"
fd_baseline

# EXPECT (faultclient.py fetch): NNN (that status, whole), whole[:BYTES]
# (200, every byte, ended as complete, the trailer of a chunked one), cut
# (200 head, then h2 RST_STREAM(INTERNAL_ERROR) / HTTP/1.1 closed with the
# truncation visible), stall (cut, or RST_STREAM(CANCEL): stream_idle),
# failed (502 or cut).
# REQUEST: a path (POST=BYTES:PATH: a POST of that many body bytes), or the
# query of /fault (rawbackend.py: at=, how=, framing= length|chunked|close,
# n= body bytes).
table_jobs <<'EOF'
# name               protos     expect   upstream request
# -- before the head: 502 (a reset or close), 504 (silence: upstream_response)
before-head-rst      h2c,h2,h1  502      closed   at=before-head&how=rst
before-head-fin      h2c,h2,h1  502      closed   at=before-head&how=fin
before-head-silent   h2c,h2,h1  504      closed   at=before-head&how=hold
mid-head-rst         h2c,h2,h1  502      closed   at=mid-head&how=rst
mid-head-fin         h2c,h2,h1  502      closed   at=mid-head&how=fin
mid-head-silent      h2c,h2,h1  504      closed   at=mid-head&how=hold
# -- after the head: cut, never a truncated success
mid-body-rst         h2c,h2,h1  cut      closed   at=mid-body&how=rst
mid-body-fin         h2c,h2,h1  cut      closed   at=mid-body&how=fin
mid-body-rst-large   h2c,h2,h1  cut      closed   n=400000&at=mid-body&how=rst
mid-body-silent      h2c,h2,h1  stall    closed   at=mid-body&how=hold
close-mid-body-rst   h2c,h2,h1  cut      closed   framing=close&at=mid-body&how=rst
chunk-mid-body-rst   h2c,h2,h1  cut      closed   framing=chunked&at=mid-body&how=rst
chunk-mid-body-fin   h2c,h2,h1  cut      closed   framing=chunked&at=mid-body&how=fin
mid-chunk-rst        h2c,h2,h1  cut      closed   framing=chunked&at=mid-chunk&how=rst
mid-chunk-fin        h2c,h2,h1  cut      closed   framing=chunked&at=mid-chunk&how=fin
mid-chunk-silent     h2c,h2,h1  stall    closed   framing=chunked&at=mid-chunk&how=hold
mid-trailer-rst      h2c,h2,h1  cut      closed   framing=chunked&at=mid-trailer&how=rst
mid-trailer-fin      h2c,h2,h1  cut      closed   framing=chunked&at=mid-trailer&how=fin
# -- after the end: the response is whole; the connection is not reused
end-rst              h2c,h2,h1  whole    closed   at=end&how=rst
end-fin              h2c,h2,h1  whole    closed   at=end&how=fin
chunk-end-rst        h2c,h2,h1  whole    closed   framing=chunked&at=end&how=rst
chunk-end-fin        h2c,h2,h1  whole    closed   framing=chunked&at=end&how=fin
close-end-fin        h2c,h2,h1  whole    closed   framing=close&at=end&how=fin
# -- a different length than declared: more (the rest ignored, the
# connection closed), fewer (mid-body-* above)
longer-than-declared h2c,h2,h1  whole    closed   at=end&how=long
chunk-longer         h2c,h2,h1  whole    closed   framing=chunked&at=end&how=long
# -- a drip of a byte a second: passed on, not cut (stream_idle 4s)
drip-body            h2c,h2,h1  whole    -        n=6&at=mid-body&how=drip
# -- the head dripping: upstream_response bounds the wait for it
drip-head            h2c,h2,h1  504      closed   n=6&at=before-head&how=drip
# -- no upstream, or one that never reads
refused              h2c,h2,h1  502      none     /refused/x
refused-post         h2c,h2     502      none     POST=100000:/refused/post
noread-get           h2c,h2,h1  504      -        /noread/get
noread-post          h2c,h2     504      -        POST=4194304:/noread/post
# -- while the request body is still going up (4 MiB): reset or close
# before any answer is 502; a head and a reset, 502 or cut (a race: h2gate
# may meet the reset writing before it reads the head), never a success; a
# whole answer first is whole (the upload is then stopped); the connection
# is never reused
upload-rst           h2c,h2,h1  502      closed   POST=4194304:/fault?early=1&at=before-head&how=rst
upload-fin           h2c,h2,h1  502      closed   POST=4194304:/fault?early=1&at=before-head&how=fin
upload-mid-body-rst  h2c,h2,h1  failed   closed   POST=4194304:/fault?early=1&at=mid-body&how=rst
upload-answered-fin  h2c,h2,h1  whole    closed   POST=4194304:/fault?early=1&at=end&how=fin
# -- not a valid HTTP/1.1 response: 502, never split (241)
cl-conflict          h2c,h1     502      closed   /cl-conflict
cl-list              h2c,h1     502      closed   /cl-list
te-cl                h2c,h1     502      closed   /te-cl
bad-status           h2c,h1     502      closed   /bad-status
bad-status-3         h2c,h1     502      closed   /bad-status-3
bad-version          h2c,h1     502      closed   /bad-version
no-status            h2c,h1     502      closed   /no-status
space-name           h2c,h1     502      closed   /space-name
smuggle              h2c,h1     whole:5  closed   /smuggle
EOF

fetch_one() { # PROTO EXPECT REQUEST TAG OUT
	local path=$3 body=() n
	case "$path" in
	POST=*)
		n=${path%%:*}
		body=(--method POST --body "${n#POST=}")
		path=${path#*:};;
	/*) ;;
	*) path="/fault?$path";;
	esac
	"$PY" "$FAULTCLIENT" fetch --proto "$1" --port "$(proto_port "$1")" --path "$(tagged "$path" "$4")" \
		--expect "$2" "${body[@]}" >"$5" 2>"${5%.json}.err"
}
# NAME PROTO EXPECT UPSTREAM REQUEST[>REQUEST...]: one after the other on
# new client connections, the last judged by EXPECT, those before it
# must be whole.
fetch_row() {
	local req=$5 i=0 out=$T/row-$1-$2.json
	while [ "${req#*>}" != "$req" ]; do
		i=$((i + 1))
		fetch_one "$2" whole "${req%%>*}" "$1-$2-$i" "$out"
		[ "$(json_get 'd.get("ok")' "$out")" = True ] || return 0
		req=${req#*>}
	done
	fetch_one "$2" "$3" "$req" "$1-$2" "$out"
}
run_jobs fetch_row
check_rows
ROWS_DONE=$(cat "$ROWS")

# One at a time: a connection kept alive in the pool, that the upstream
# gave up on, meets the next request with a close and no answer: nothing
# was answered or consumed, so h2gate sends the request once more on a
# fresh connection, and the client gets its answer, never a 502 (64).
table_jobs <<'EOF'
# name               protos     expect   upstream request
stale-kept-alive     h2c,h2,h1  whole    dropped  at=end&how=drop-next>at=end&how=none
EOF
FAULT_JOBS=1 run_jobs fetch_row
check_rows
printf '%s\n' "$ROWS_DONE" >>"$ROWS"

# The upstream that never reads: every connection closed by h2gate.
RLOG=$NRLOG raw_all_closed "the upstream that never reads"

# The access log: a cut response is marked reset=1, a whole one is not;
# every answer has its status (63's check that a cut is not logged as a
# whole response).
while read -r name p expect up req; do
	line=$(grep -F "tag=$name-$p\"" "$ACCESS" | tail -n 1)
	[ -n "$line" ] || fail "row $name ($p): no access log line"
	case "$expect" in
	cut|stall) assert_match ' status=200 .* reset=1$' "$line" "row $name ($p): access log";;
	failed) assert_match ' status=(200 .* reset=1$|502 )' "$line" "row $name ($p): access log";;
	whole*) assert_no_match 'reset=1' "$line" "row $name ($p): access log"
		assert_match ' status=200 ' "$line" "row $name ($p): access log";;
	*) assert_match " status=$expect " "$line" "row $name ($p): access log";;
	esac
done <"$ROWS"

# The dripping head ends by upstream_response (2s), not by stream_idle
# (4s): the wait for a head is bounded from the request on, whatever
# trickles meanwhile (h2gate.yaml(5), TIMEOUTS).
for p in h2c h2 h1; do
	line=$(grep -F "tag=drip-head-$p\"" "$ACCESS" | tail -n 1)
	id="conn=$(logfmt_get conn "$line") stream=$(logfmt_get stream "$line"):"
	assert_file_match "$id upstream .*: response timed out" "$T/h2gate.err" "drip-head ($p): ended by upstream_response"
done

assert_idle "after the table"
out=$("${CURL[@]}" --http2-prior-knowledge "http://127.0.0.1:$PC/ok") || fail "request after the table failed"
assert_eq ok-ok "$out" "request after the table"
stop_h2gate
pass "$(wc -l <"$ROWS") rows"
