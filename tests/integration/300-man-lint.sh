#!/bin/sh
# Man pages: h2gate(8), h2gate.yaml(5), h2gatectl(8) are clean under
# `mandoc -Tlint -Wwarning` and `groff -ww -z -man`; h2gate.yaml(5)
# documents every key of the configuration contract (the keys of the
# YAML block in shared/spec/config.md and of the loader's schema table)
# and h2gatectl(8) every command of `h2gatectl -h`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need mandoc groff col

MAN=$TOP_SRCDIR/man
H2GATECTL=${H2GATECTL:-$(dirname "$H2GATE")/h2gatectl}
for f in h2gate.8 h2gate.yaml.5 h2gatectl.8; do
	[ -s "$MAN/$f" ] || fail "$MAN/$f missing or empty"
	out=$(mandoc -Tlint -Wwarning "$MAN/$f" 2>&1)
	[ -z "$out" ] || fail "mandoc -Tlint $f: $out"
	out=$(groff -ww -z -man "$MAN/$f" 2>&1)
	[ -z "$out" ] || fail "groff -ww $f: $out"
	mandoc -Tascii "$MAN/$f" | col -b >"$T/$f.txt" || fail "mandoc -Tascii $f"
done

# every key of the contract (the spec's YAML block) and of the loader's
# schema table (src/core/config_load.c), whichever are around
SPEC=
[ -f "$TOP_SRCDIR/../shared/spec/config.md" ] && SPEC=$TOP_SRCDIR/../shared/spec/config.md
{
	[ -n "$SPEC" ] && sed -n '/^```yaml/,/^```/p' "$SPEC" | sed -n 's/^[ -]*\([a-z_]\{2,\}\):.*/\1/p'
	sed -n 's/.*\.name = "\([a-z_]\{2,\}\)".*/\1/p; s/.*LIM(K_[A-Z]*, \([a-z_]\{2,\}\),.*/\1/p; s/.*TMO(\([a-z_]\{2,\}\),.*/\1/p' \
		"$TOP_SRCDIR/src/core/config_load.c"
} | sort -u >"$T/keys"
[ "$(wc -l <"$T/keys")" -gt 40 ] || fail "could not extract the contract's keys ($(wc -l <"$T/keys"))"
missing=
while read -r k; do
	grep -Eq "(^|[^a-z_])$k([^a-z_]|\$)" "$T/h2gate.yaml.5.txt" || missing="$missing $k"
done <"$T/keys"
[ -z "$missing" ] || fail "h2gate.yaml(5) does not document:$missing"
log "h2gate.yaml(5) documents all $(wc -l <"$T/keys") keys"

# every h2gatectl command, every h2gate option and signal
if [ -x "$H2GATECTL" ]; then
	cmds=$("$H2GATECTL" -h | sed -n '/^Commands/,/^Options/s/^  \([a-z]\+\).*/\1/p')
	[ -n "$cmds" ] || fail "no commands in h2gatectl -h"
	for c in $cmds; do
		grep -Eq "^ {7}$c( |\$)" "$T/h2gatectl.8.txt" || fail "h2gatectl(8) has no entry for command $c"
	done
fi
for o in -c -t -V -h SIGTERM SIGINT SIGHUP SIGUSR1 Type=notify; do
	grep -q -- "$o" "$T/h2gate.8.txt" || fail "h2gate(8) does not mention $o"
done
pass
