#!/bin/sh
# SIGUSR1 reopens the access log (logrotate's "rename, then signal"): after
# the file is renamed, lines still go to the renamed file until SIGUSR1;
# then a new file appears at the configured path (mode 0640) with the next
# request's line, and the renamed file gets no more lines.  Twice, with the
# daemon serving throughout.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
need curl

start_backend A
P=$(free_port)
write_config <<EOF
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_A"
EOF
start_h2gate "$P"
U=http://127.0.0.1:$P

req() { # PATH
	out=$(curl -sS --max-time 10 --http2-prior-knowledge "$U$1" 2>&1)
	assert_eq "backend=A path=$1" "$out" "request $1"
}
in_file() { grep -q "path=\"$1\"" "$2" 2>/dev/null; }

req /before-rotate
wait_until 5 in_file /before-rotate "$ACCESS" || fail "no access line for /before-rotate in $ACCESS"

for gen in 1 2; do
	mv "$ACCESS" "$ACCESS.$gen"
	# still open: the line lands in the renamed file
	req "/renamed-$gen"
	wait_until 5 in_file "/renamed-$gen" "$ACCESS.$gen" || fail "gen $gen: the line for /renamed-$gen is not in the renamed file"
	[ -e "$ACCESS" ] && fail "gen $gen: $ACCESS exists again before SIGUSR1"
	before=$(err_count 'SIGUSR1: reopening the access log')
	kill -USR1 "$H2G_PID"
	wait_err 'SIGUSR1: reopening the access log' $((before + 1)) || fail "gen $gen: no 'SIGUSR1: reopening the access log' in stderr"
	req "/after-usr1-$gen"
	wait_until 5 in_file "/after-usr1-$gen" "$ACCESS" || fail "gen $gen: no new $ACCESS with the line for /after-usr1-$gen ($(ls -l "$T" | grep access))"
	assert_eq 640 "$(stat -c %a "$ACCESS")" "gen $gen: mode of the new access log"
	assert_eq 1 "$(grep -c 'path="/after-usr1-' "$ACCESS")" "gen $gen: lines of the new file"
	if grep -q "path=\"/after-usr1-$gen\"" "$ACCESS.$gen"; then fail "gen $gen: the renamed file still gets lines after SIGUSR1"; fi
done
# access.log.1: /before-rotate + /renamed-1; access.log.2: /after-usr1-1 + /renamed-2
assert_eq "/before-rotate /renamed-1" "$(sed -n 's/.*path="\([^"]*\)".*/\1/p' "$ACCESS.1" | tr '\n' ' ' | sed 's/ $//')" "lines of the first rotated file"
assert_eq "/after-usr1-1 /renamed-2" "$(sed -n 's/.*path="\([^"]*\)".*/\1/p' "$ACCESS.2" | tr '\n' ' ' | sed 's/ $//')" "lines of the second rotated file"
assert_eq "/after-usr1-2" "$(sed -n 's/.*path="\([^"]*\)".*/\1/p' "$ACCESS" | tr '\n' ' ' | sed 's/ $//')" "lines of the current file"
stop_h2gate
pass
