#!/bin/sh
# The suite runs on a fresh machine where tools/deps installed everything:
# every command a test names in `need CMD...` is installed and comes from
# a Debian package that tools/deps lists (else it would be skipped, or
# fail under H2G_NO_SKIP=1, only on machines that lack it), and no tracked
# file points at a path that exists on one machine only (under /work, or a
# home directory).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

command -v dpkg-query >/dev/null 2>&1 || skip "not a Debian system (no dpkg-query)"
DEPS=$TOP_SRCDIR/tools/deps
listed=$(sh "$DEPS" --list) || fail "tools/deps --list failed"
[ "$(printf '%s\n' "$listed" | wc -l)" -gt 5 ] || fail "tools/deps --list printed too few packages: $listed"

# owner PATH: the package that installed PATH.  Merged /usr means a file
# installed as /bin/ss is found as /usr/bin/ss (and the other way round),
# and dpkg knows only the name the package shipped.
owner() {
	local p=$1 alt
	case "$p" in
	/usr/bin/* | /usr/sbin/*) alt=${p#/usr} ;;
	/bin/* | /sbin/*) alt=/usr$p ;;
	*) alt= ;;
	esac
	for p in "$p" $alt; do
		# "pkg[:arch][, pkg2]: /path"; "diversion by ..." lines say nothing
		dpkg-query -S "$p" 2>/dev/null | grep -v '^diversion' |
			sed -n 's/^\([^:,]*\)[:,].*/\1/p' | head -n 1 | grep . && return 0
	done
	return 1
}

# package CMD: the package that provides CMD (as `need` checks it).
package() {
	local c=$1 path real pkg
	if [ "$c" = h2 ]; then
		path=$("$PY" -c 'import h2, hyperframe, hpack; print(h2.__file__)' 2>/dev/null) ||
			{ echo "h2: python3 modules h2/hyperframe/hpack not importable" >&2; return 1; }
	elif [ "$c" = grpc ]; then
		path=$("$PY" -c 'import grpc; print(grpc.__file__)' 2>/dev/null) ||
			{ echo "grpc: python3 module grpc not importable" >&2; return 1; }
	else
		path=$(command -v "$c") || { echo "$c: not installed" >&2; return 1; }
	fi
	# The name on PATH may be a symlink (alternatives, e.g. node ->
	# /etc/alternatives/node -> nodejs's binary): the target's package
	# is the one that installs it; the link's is a fallback.
	real=$(readlink -f "$path")
	pkg=$(owner "$real") || pkg=$(owner "$path") ||
		{ echo "$c: $path ($real) belongs to no Debian package" >&2; return 1; }
	echo "$pkg"
}

needs=$(sed -n 's/^[[:space:]]*need[[:space:]]\+\([^#;|&]*\).*/\1/p' "$IT_DIR"/*.sh | tr -s ' \t' '\n\n' | grep -v '^$' | sort -u)
[ -n "$needs" ] || fail "found no 'need' line in $IT_DIR/*.sh"
bad=
for c in $needs; do
	if ! pkg=$(package "$c" 2>"$T/why"); then
		bad="$bad; $(cat "$T/why") (tools/deps installs nothing that provides it)"
		continue
	fi
	if printf '%s\n' "$listed" | grep -qxF "$pkg"; then
		log "$c: $pkg, listed"
	else
		bad="$bad; $c: package $pkg is not in tools/deps"
	fi
done

# Machine-specific absolute paths: what exists on this machine need not
# exist on CI's or a developer's (shared/ is reached as $TOP_SRCDIR/../shared).
# A variable before the slash ($T/root/...) is not absolute.
cd "$TOP_SRCDIR" || fail "cd $TOP_SRCDIR"
AREAS="tests tools bench src man conf systemd README.md"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z -- $AREAS >"$T/files"
else
	find $AREAS -type f -print0 >"$T/files" 2>/dev/null
fi
[ -s "$T/files" ] || fail "no files to check under $AREAS"
hits=$(xargs -0 grep -nIE '(^|[^A-Za-z0-9_.}$-])/(work|root|home)/' <"$T/files")
[ -z "$hits" ] || bad="$bad; machine-specific absolute paths: $hits"
[ -z "$bad" ] || fail "${bad#; }"
pass "$(printf '%s\n' "$needs" | wc -l) needed commands come from tools/deps' packages; no machine-specific path"
