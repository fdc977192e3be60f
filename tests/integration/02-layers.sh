#!/bin/sh
# src/ is cut into layers (ARCHITECTURE.md): tools/check-layers finds no
# include that goes up a layer and nothing impure in core/.  And it does
# find them: a copy of the tree with one include turned the wrong way,
# and one with a clock read in core/, each make it fail and name the line.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"


CHECK=$TOP_SRCDIR/tools/check-layers
out=$("$PY" "$CHECK" "$TOP_SRCDIR/src") || fail "tools/check-layers on src/: $out"
echo "$out"
case "$out" in *" 0 wrong-way"*) ;; *) fail "unexpected summary: $out" ;; esac

cp -r "$TOP_SRCDIR/src" "$T/up"
printf '#include "process/worker.h"\n' >>"$T/up/upstream/tunnel.h"
if out=$("$PY" "$CHECK" "$T/up"); then fail "an upward include was not caught: $out"; fi
echo "$out" | grep -q 'upstream/tunnel.h:[0-9]*: upstream/ includes process/worker.h' ||
	fail "the upward include was not named: $out"

cp -r "$TOP_SRCDIR/src" "$T/clock"
printf 'static long now_s(void) { return (long)time(0); }\n' >>"$T/clock/core/path.c"
if out=$("$PY" "$CHECK" "$T/clock"); then fail "a clock read in core/ was not caught: $out"; fi
echo "$out" | grep -q 'core/path.c:[0-9]*: core/ calls time()' || fail "the clock read was not named: $out"
pass
