#!/bin/sh
# Command line: -t -c good.yaml prints "FILE: configuration ok" (exit 0);
# -t on a file with two errors prints both as FILE:LINE:COLUMN: message
# (exit 1); -V and -h work, and -V of an AddressSanitizer build says it
# recycles no freed objects; running on a bad config exits 1 without
# listening.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

P=$(free_port)
write_config "$T/good.yaml" <<EOF2
$(config_common)
listen:
  - address: "127.0.0.1:$P"
    protocols: [h2, http/1.1]
origins:
  - hosts: ["example.test", "*.example.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:9"
      - path: /api
        upstream: ["http://127.0.0.1:10", "http://127.0.0.1:11"]
limits:
  initial_window_size: 64KiB
  max_request_body: 1MiB
timeouts:
  upstream_response: 500ms
  idle: 2m
EOF2
out=$("$H2GATE" -t -c "$T/good.yaml" 2>&1)
rc=$?
assert_eq 0 "$rc" "exit code of -t on a good file (output: $out)"
assert_match "^$T/good.yaml: configuration ok\$" "$out" "-t output on a good file"
if port_open "$P"; then fail "-t opened the listener"; fi

# two errors: unknown top-level key (line 2, col 1), unknown key in limits (line 12, col 3)
cat >"$T/bad.yaml" <<EOF2
workers: 1
workerz: 2
listen:
  - address: "127.0.0.1:$P"
origins:
  - hosts: ["*"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:9"
limits:
  initial_window_size: 64KiB
  max_frame_sise: 16KiB
EOF2
"$H2GATE" -t -c "$T/bad.yaml" >"$T/bad.out" 2>&1
rc=$?
log "bad.yaml output: $(cat "$T/bad.out")"
assert_eq 1 "$rc" "exit code of -t on a file with two errors"
assert_file_match "^$T/bad.yaml:2:1: .*workerz" "$T/bad.out" "first error (unknown key workerz at 2:1)"
assert_file_match "^$T/bad.yaml:12:3: .*max_frame_sise" "$T/bad.out" "second error (unknown key max_frame_sise at 12:3)"
if grep -q 'configuration ok' "$T/bad.out"; then fail "bad file reported ok"; fi

# a missing file is an error too
"$H2GATE" -t -c "$T/does-not-exist.yaml" >"$T/missing.out" 2>&1
assert_eq 1 "$?" "exit code of -t on a missing file"
assert_file_match 'does-not-exist\.yaml' "$T/missing.out" "missing file is named"

out=$("$H2GATE" -V 2>&1)
assert_eq 0 "$?" "-V exit code"
assert_match '[0-9]+\.[0-9]+' "$out" "-V prints a version"
# Caches of freed objects would hide a use-after-free from ASan.  Whether
# this binary has ASan is read from the binary, not from what it says.
if grep -q __asan_init "$H2GATE"; then
	assert_match 'freed objects are not recycled' "$out" "-V of an AddressSanitizer build"
else
	assert_no_match 'recycled' "$out" "-V of a build without AddressSanitizer"
fi
out=$("$H2GATE" -h 2>&1)
assert_eq 0 "$?" "-h exit code"
assert_match '-c' "$out" "-h mentions -c"
assert_match '-t' "$out" "-h mentions -t"

# running on the bad file: exit 1 (bounded wait), never listening
"$H2GATE" -c "$T/bad.yaml" >"$T/run.out" 2>&1 &
pid=$!
_PIDS+=("$pid")
wait_until "$H2G_WAIT" eval '! kill -0 $pid 2>/dev/null' || fail "daemon kept running on a bad config"
wait "$pid"
rc=$?
assert_eq 1 "$rc" "exit code when running on a bad config"
assert_file_match "bad.yaml:2:1:" "$T/run.out" "error printed when running on a bad config"
if port_open "$P"; then fail "port $P accepts connections"; fi
pass
