#!/bin/sh
# An upstream named by a host name is resolved by h2gate's resolver, kept
# for its TTL and re-resolved (config.md routes[].upstream): a tiny DNS
# server (backends/dnsserver.py, TTL 1 s, answers re-read from a file)
# says backend.test is 127.0.0.1, then 127.0.0.2, then both; every answer
# is followed (both: requests alternate between the two addresses); once
# the DNS server is gone the last addresses keep serving, a warning is
# logged once; `h2gatectl upstreams` shows the addresses.  An address
# that refuses connections is skipped (passive health per address).
#
# h2gate reads its nameservers from /etc/resolv.conf (evdns), which has
# no override: h2gate runs in its own user and mount namespaces
# (unshare -rm) with the test's resolv.conf bind-mounted over it.  No
# product switch exists for this; without user namespaces the test skips.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl unshare
unshare -rm sh -c "mount --bind /dev/null /etc/resolv.conf" 2>/dev/null ||
	skip "no user and mount namespaces here (unshare -rm)"

# Two backends on the same port, at 127.0.0.1 and 127.0.0.2.
BP=$(free_port)
for b in one:127.0.0.1 two:127.0.0.2; do
	"$PY" "$BACKENDS/httpbackend.py" --host "${b#*:}" --port "$BP" --name "${b%%:*}" \
		--ready "$T/ready-${b%%:*}" >"$T/backend-${b%%:*}.out" 2>&1 &
	_PIDS+=($!)
done
TWO_PID=$!
DP=$(free_port)
echo "A 127.0.0.1" >"$T/zone"
"$PY" "$BACKENDS/dnsserver.py" --port "$DP" --zone "$T/zone" --ttl 1 --log "$T/dns.log" \
	--ready "$T/ready-dns" >"$T/dns.out" 2>&1 &
DNS_PID=$!
_PIDS+=($DNS_PID)
for r in one two dns; do
	for _ in $(seq 1 $((H2G_WAIT * 20))); do [ -f "$T/ready-$r" ] && break; sleep 0.05; done
	[ -f "$T/ready-$r" ] || fail "$r did not start: $(cat "$T/backend-$r.out" "$T/dns.out" 2>/dev/null)"
done
printf 'nameserver 127.0.0.1:%s\noptions timeout:1 attempts:1\n' "$DP" >"$T/resolv.conf"
cat >"$T/h2gate-ns" <<EOF
#!/bin/sh
exec unshare -rm sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$T/resolv.conf" "$H2GATE" "\$@"
EOF
chmod +x "$T/h2gate-ns"

P=$(free_port)
write_config <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://backend.test:$BP"
EOF2
H2GATE_REAL=$H2GATE
H2GATE=$T/h2gate-ns start_h2gate "$P"
H2GATE=$H2GATE_REAL

get() { "${CURL[@]}" --http2-prior-knowledge -o /dev/null -w '%header{x-backend}' "http://127.0.0.1:$P/$1"; }
# seq N: the backends of N requests, space-separated
seq_of() {
	local i s=
	for i in $(seq 1 "$1"); do s="$s $(get "s$i")" || fail "request $i failed"; done
	echo "${s# }"
}
# until_answer WANT: requests until one goes to WANT (the TTL expired and
# the new answer came back), within 10 s
until_answer() {
	local i
	for i in $(seq 1 100); do
		[ "$(get "u$i")" = "$1" ] && return 0
		sleep 0.1
	done
	fail "no request went to $1 within 10 s (dns: $(tail -n 5 "$T/dns.log"))"
}

assert_eq "one one one one" "$(seq_of 4)" "backend.test is 127.0.0.1"
grep -q "^backend.test A 1" "$T/dns.log" || fail "h2gate did not ask our DNS server: $(cat "$T/dns.log")"

echo "A 127.0.0.2" >"$T/zone"
until_answer two
assert_eq "two two two two" "$(seq_of 4)" "backend.test is 127.0.0.2"
# re-resolved on expiry, not per request: a few queries, not one per request
sleep 1.2
get x >/dev/null
[ "$(grep -c "^backend.test A" "$T/dns.log")" -lt 20 ] || fail "resolved too often: $(wc -l <"$T/dns.log")"

printf 'A 127.0.0.2\nA 127.0.0.1\n' >"$T/zone"
until_answer one
s=$(seq_of 6)
log "both addresses: $s"
case "$s" in
"one two one two one two"|"two one two one two one") ;;
*) fail "not balanced across both addresses: $s";;
esac

CTLBIN=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
if [ -x "$CTLBIN" ]; then
	out=$("$CTLBIN" -s "$T/ctl.sock" upstreams 2>&1) || fail "h2gatectl upstreams: $out"
	log "$out"
	echo "$out" | grep -q "backend.test.*127.0.0.2.*127.0.0.1\|backend.test.*127.0.0.1.*127.0.0.2" ||
		fail "h2gatectl upstreams does not show both addresses: $out"
	"$CTLBIN" -s "$T/ctl.sock" --json upstreams >"$T/up.json" 2>&1 || fail "h2gatectl --json upstreams"
	log "$(cat "$T/up.json")"
	assert_eq '["127.0.0.1", "127.0.0.2"]' "$(json_get 'sorted(d[0]["addresses"])' "$T/up.json")" \
		"h2gatectl --json upstreams addresses"
fi

# The DNS server goes away: the last addresses keep serving.
kill "$DNS_PID"
wait "$DNS_PID" 2>/dev/null
sleep 3
s=$(seq_of 6)
case "$s" in
"one two one two one two"|"two one two one two one") ;;
*) fail "not the last addresses once DNS failed: $s";;
esac
sleep 2.5
s=$(seq_of 4)
case "$s" in
"one two one two"|"two one two one") ;;
*) fail "not the last addresses after retries: $s";;
esac
assert_eq 1 "$(grep -c "upstream backend.test: lookup failed" "$T/h2gate.err")" "the failure is logged once"
if [ -x "$CTLBIN" ]; then
	out=$("$CTLBIN" -s "$T/ctl.sock" upstreams 2>&1) || fail "h2gatectl upstreams: $out"
	echo "$out" | grep -q "backend.test.*\(failing\|resolving\)" || fail "h2gatectl upstreams: not failing: $out"
fi

# 127.0.0.2 goes away: after at most one failed request, it is skipped.
kill "$TWO_PID"
wait "$TWO_PID" 2>/dev/null
s=
for i in 1 2 3 4 5 6; do
	b=$(get "h$i") || fail "request h$i failed"
	s="$s ${b:-502}"
done
s=${s# }
log "127.0.0.2 down: $s"
case "$s" in
"one one one one one one"|"502 one one one one one"|"one 502 one one one one") ;;
*) fail "the address that refuses connections is not skipped: $s";;
esac
stop_h2gate
pass
