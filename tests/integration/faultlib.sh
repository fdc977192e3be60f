# Helpers for the fault tables (66-faults-upstream.sh, 67-faults-client.sh),
# sourced after lib.sh and limlib.sh.  A table is read from stdin, one row
# a line (# comments and blank lines skipped):
#   NAME  PROTOS  EXPECT  UPSTREAM  REQUEST
# PROTOS: comma-separated h2c (port $PC), h2 (TLS, port $PT), h1 (HTTP/1.1
# on $PC).  EXPECT, REQUEST: what the script's row function (run_jobs FUNC)
# makes of them, told above each table.
# UPSTREAM, what the upstream must see of this row's requests (each request
# carries tag=NAME-PROTO in its query):
#   closed  every upstream connection that carried one of them was closed
#           by h2gate (rawbackend's "TARGET n ..." and "CLOSE n")
#   cut     closed, and no request body of theirs arrived whole ("BODY n
#           TAG complete"): a half-sent request is never completed
#   dropped one of them was met with a close on a kept-alive connection
#           (rawbackend's how=drop-next, "DROP n ...")
#   none    none of them reached the upstream
#   -       nothing checked (a connection kept in the pool is fine)
# Every row also leaks nothing: assert_idle after the table.

FAULTCLIENT=$BACKENDS/faultclient.py
CTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
[ -x "$CTL" ] || fail "h2gatectl not built: $CTL"
FAULT_JOBS=${FAULT_JOBS:-10}
ROWS=$T/rows

proto_port() { # PROTO
	case "$1" in h2) echo "$PT";; *) echo "$PC";; esac
}

tagged() { # PATH TAG: PATH with tag=TAG added to its query
	case "$1" in *\?*) echo "$1&tag=$2";; *) echo "$1?tag=$2";; esac
}

# table_jobs: the table on stdin -> "NAME PROTO EXPECT UPSTREAM REQUEST" per
# protocol in $ROWS.
table_jobs() {
	local name protos expect up req p
	: >"$ROWS"
	while read -r name protos expect up req; do
		case "$name" in ''|\#*) continue;; esac
		for p in ${protos//,/ }; do
			echo "$name $p $expect $up $req" >>"$ROWS"
		done
	done
}

# run_jobs FUNC: FUNC NAME PROTO EXPECT UPSTREAM REQUEST for every line of
# $ROWS, FAULT_JOBS at a time; each writes $T/row-NAME-PROTO.json.
run_jobs() {
	local fn=$1 name p expect up req pids=() q live
	while read -r name p expect up req; do
		while :; do
			live=()
			for q in "${pids[@]}"; do kill -0 "$q" 2>/dev/null && live+=("$q"); done
			pids=("${live[@]}")
			[ "${#pids[@]}" -lt "$FAULT_JOBS" ] && break
			sleep 0.05
		done
		"$fn" "$name" "$p" "$expect" "$up" "$req" </dev/null &
		pids+=("$!")
	done <"$ROWS"
	for q in "${pids[@]}"; do wait "$q"; done
}

# check_rows: every row's client verdict ("ok") and its UPSTREAM column.
check_rows() {
	local name p expect up req bad
	bad=$("$PY" - "$T" "$ROWS" <<'PYEOF'
import json, os, sys
t, rows = sys.argv[1], sys.argv[2]
for line in open(rows):
    name, p = line.split()[:2]
    f = os.path.join(t, "row-%s-%s.json" % (name, p))
    try:
        d = json.load(open(f))
    except (OSError, ValueError) as e:
        d = {"ok": False, "why": "no result (%s)" % e}
    print("# row %s (%s): %s" % (name, p, json.dumps(d, sort_keys=True)[:600]), file=sys.stderr)
    if d.get("ok") is not True:
        print("  %s (%s): %s" % (name, p, d.get("why")))
PYEOF
)
	[ -z "$bad" ] || fail "rows whose client saw the wrong thing:
$bad"
	UP_DEADLINE=$((SECONDS + 10))
	while read -r name p expect up req; do
		upstream_saw "$name" "$p" "$up" || bad="$bad
  $name ($p): $WHY"
	done <"$ROWS"
	[ -z "$bad" ] || fail "rows whose upstream saw the wrong thing:$bad"
}

# tag_cids TAG: the raw upstream connections that carried a request of TAG.
tag_cids() {
	cat "$T"/raw-*.log 2>/dev/null | awk -v t="tag=$1" '$1 == "TARGET" && (index($3, t "&") || substr($3, length($3) - length(t) + 1) == t) { print $2 }' | sort -u
}

# upstream_saw NAME PROTO UPSTREAM: sets WHY and fails when the upstream
# did not see what the row says (waits for closes until UP_DEADLINE, in
# $SECONDS, then 1 s a row).
upstream_saw() {
	local tag=$1-$2 cids c left
	WHY=
	case "$3" in
	-) return 0;;
	cut)
		# closed, and the request never arrived whole
		upstream_saw "$1" "$2" closed || return 1
		if grep -Eq "^BODY [0-9]+ $tag complete " "$RLOG"; then
			WHY="the upstream got a whole request body from a client that vanished halfway"
			return 1
		fi
		return 0;;
	dropped)
		# first met with a close on a stale kept-alive connection
		if awk -v t="tag=$tag" '$1 == "DROP" && substr($3, length($3) - length(t) + 1) == t { f = 1 } END { exit !f }' "$RLOG"; then
			return 0
		fi
		WHY="never sent on a stale connection (no DROP)"
		return 1;;
	none)
		cids=$(tag_cids "$tag")
		[ -z "$cids" ] && return 0
		WHY="reached the upstream (connections $(echo $cids))"
		return 1;;
	closed)
		cids=$(tag_cids "$tag")
		[ -n "$cids" ] || { WHY="never reached the upstream"; return 1; }
		for c in $cids; do
			left=$((UP_DEADLINE - SECONDS))
			wait_until $((left > 1 ? left : 1)) grep -q "^CLOSE $c\$" "$RLOG" || {
				WHY="upstream connection $c not closed"
				return 1
			}
		done
		return 0;;
	esac
	WHY="unknown upstream expectation $3"
	return 1
}

# ctl_json CMD...: h2gatectl --json CMD on the daemon's control socket.
ctl_json() {
	"$CTL" -s "$T/ctl.sock" --json "$@"
}

# fd_count: open file descriptors of the daemon.
fd_count() {
	ls "/proc/$H2G_PID/fd" | wc -l
}

# upstream_open: connections the raw upstreams see open (h2gate's pooled
# ones, once every request is over).
upstream_open() {
	local o c
	o=$(cat "$T"/raw-*.log 2>/dev/null | grep -c '^OPEN ')
	c=$(cat "$T"/raw-*.log 2>/dev/null | grep -c '^CLOSE ')
	echo $((o - c))
}

# fd_baseline: the daemon's descriptors with no client and no upstream
# connection (call right after start_h2gate).
fd_baseline() {
	wait_until 10 eval '[ "$(ctl_json status | json_get "d[\"connections\"]" /dev/stdin)" = 0 ]'
	FD0=$(fd_count)
}

_idle_now() {
	ctl_json status >"$T/status.json" 2>/dev/null || return 1
	IDLE=$(json_get '"%d %d %d %d %d" % (d["connections"], d["streams"], d["tunnels"], d["upstream_connections"]["open"], d["upstream_connections"]["idle"])' "$T/status.json")
	IDLE_FDS=$(fd_count)
	IDLE_UP=$(upstream_open)
	set -- $IDLE
	[ "$1 $2 $3" = "0 0 0" ] && [ "$4" = "$5" ] && [ "$4" = "$IDLE_UP" ] && [ "$IDLE_FDS" = $((FD0 + $4)) ]
}

# assert_idle WHAT: (bounded wait) no client connection, stream or tunnel
# left in the daemon's own counters; every upstream connection it counts
# open is idle in a pool, and is one the upstreams see open; and every
# descriptor it holds beyond those it started with is one of them: nothing
# of a failed exchange or a vanished client stays.
assert_idle() {
	if wait_until 10 _idle_now; then
		log "$1: idle (connections, streams, tunnels, upstream open, idle: $IDLE; $IDLE_FDS descriptors)"
		return 0
	fi
	log "sessions: $(ctl_json sessions 2>&1 | head -c 3000)"
	log "fds: $(ls -l "/proc/$H2G_PID/fd" 2>&1 | tail -n +2 | awk '{print $NF}' | tr '\n' ' ')"
	fail "$1: not back to idle: connections, streams, tunnels, upstream connections open, idle: $IDLE; the upstreams see $IDLE_UP open; $IDLE_FDS descriptors for $FD0 at start"
}
