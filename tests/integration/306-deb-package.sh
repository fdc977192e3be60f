#!/bin/sh
# The Debian package (debian/): dpkg-buildpackage -us -uc -b, in a copy of
# the source tree, builds h2gate_*.deb holding the binaries, the three man
# pages, /etc/h2gate/h2gate.yaml and the logrotate snippet as conffiles,
# the systemd units where systemd's pkg-config file says; its control
# fields are the ones debian/control gives; the packaged h2gate runs; and
# lintian reports no error.  Built with nocheck (no unit tests either) to
# keep it short: the tests are run by the suite itself.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need dpkg-buildpackage dpkg-parsechangelog lintian dpkg-deb rsync

[ -f "$TOP_SRCDIR/debian/rules" ] || fail "no debian/rules in $TOP_SRCDIR"
# A copy of the tree (a git checkout or an unpacked tarball alike), less
# build directories, VCS data and anything configured in place.
S=$T/src/h2gate
mkdir -p "$S"
rsync -a --exclude='/build*/' --exclude=/.git --exclude=/_build --exclude='/h2gate-*/' \
	"$TOP_SRCDIR/" "$S/" || fail "copying $TOP_SRCDIR"
[ -f "$S/config.status" ] && fail "$TOP_SRCDIR is configured in place: dpkg-buildpackage needs a clean tree"
chmod -R u+w "$S" # a distcheck tree is read-only
# a sub-make of its own: not the jobserver or flags of a surrounding make check
unset MAKEFLAGS MFLAGS MAKELEVEL
(cd "$S" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$T/build.out" 2>&1 ||
	fail "dpkg-buildpackage failed: $(tail -n 30 "$T/build.out")"
DEB=$(ls "$T"/src/h2gate_*.deb 2>/dev/null)
[ -n "$DEB" ] && [ "$(printf '%s\n' "$DEB" | wc -l)" -eq 1 ] || fail "expected one h2gate_*.deb, got: $(ls "$T/src")"
log "built $(basename "$DEB")"

# --- control fields
field() { dpkg-deb -f "$DEB" "$1"; }
assert_eq h2gate "$(field Package)" "Package"
VERSION=$(dpkg-parsechangelog -l "$TOP_SRCDIR/debian/changelog" -S Version)
assert_eq "$VERSION" "$(field Version)" "Version (debian/changelog)"
assert_eq httpd "$(field Section)" "Section"
assert_eq optional "$(field Priority)" "Priority"
assert_eq "$(dpkg --print-architecture)" "$(field Architecture)" "Architecture"
for lib in libevent libnghttp2 libssl libyaml libjansson libsystemd; do
	assert_match "(^|, )$lib" "$(field Depends)" "Depends on $lib (shlibs)"
done
[ -n "$(field Description)" ] || fail "no Description"
# the upstream version is configure.ac's
UPSTREAM=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
assert_eq "$UPSTREAM" "${VERSION%-*}" "debian/changelog's upstream version is configure.ac's"

# --- files
X=$T/x
dpkg -x "$DEB" "$X" || fail "dpkg -x"
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
[ -n "$UNITDIR" ] || UNITDIR=/usr/lib/systemd/system
for f in usr/sbin/h2gate usr/bin/h2gatectl \
	usr/share/man/man8/h2gate.8.gz usr/share/man/man8/h2gatectl.8.gz usr/share/man/man5/h2gate.yaml.5.gz \
	etc/h2gate/h2gate.yaml etc/logrotate.d/h2gate \
	"${UNITDIR#/}/h2gate.service" "${UNITDIR#/}/h2gate@.service" "${UNITDIR#/}/h2gate.socket"; do
	[ -f "$X/$f" ] || fail "not in the package: /$f (it has: $(cd "$X" && find . -type f | tr '\n' ' '))"
done
[ -x "$X/usr/sbin/h2gate" ] && [ -x "$X/usr/bin/h2gatectl" ] || fail "binaries not executable"
cmp -s "$TOP_SRCDIR/conf/h2gate.example.yaml" "$X/etc/h2gate/h2gate.yaml" ||
	fail "the packaged h2gate.yaml is not conf/h2gate.example.yaml"
cmp -s "$TOP_SRCDIR/debian/h2gate.logrotate" "$X/etc/logrotate.d/h2gate" || fail "the logrotate file is not debian/h2gate.logrotate"
assert_file_match '^/var/log/h2gate/\*\.log' "$X/etc/logrotate.d/h2gate" "logrotate covers /var/log/h2gate/*.log"
assert_file_match 'kill .*-s USR1 h2gate\.service' "$X/etc/logrotate.d/h2gate" "logrotate signals SIGUSR1"
# the units name the packaged paths
assert_file_match '^ExecStart=/usr/sbin/h2gate -c /etc/h2gate/h2gate\.yaml$' "$X/$UNITDIR/h2gate.service" "ExecStart"
assert_file_match '^ExecReload=/usr/bin/h2gatectl .*reload$' "$X/$UNITDIR/h2gate.service" "ExecReload"
"$X/usr/sbin/h2gate" -V >"$T/v.out" 2>&1 || fail "the packaged h2gate -V: $(cat "$T/v.out")"
assert_file_match "$UPSTREAM" "$T/v.out" "h2gate -V shows the version"
"$X/usr/bin/h2gatectl" -V >/dev/null 2>&1 || fail "the packaged h2gatectl -V"
"$X/usr/sbin/h2gate" -t -c "$X/etc/h2gate/h2gate.yaml" >/dev/null 2>&1 || fail "the packaged h2gate.yaml does not pass h2gate -t"

# --- maintainer scripts: conffiles; the service neither enabled nor started
C=$T/control
dpkg-deb -e "$DEB" "$C" || fail "dpkg-deb -e"
assert_file_match '^/etc/h2gate/h2gate\.yaml$' "$C/conffiles" "conffiles lists h2gate.yaml"
assert_file_match '^/etc/logrotate\.d/h2gate$' "$C/conffiles" "conffiles lists the logrotate file"
# (dh_installsystemd --no-enable --no-start: no deb-systemd-invoke at all,
# and units are enabled again only when they were before, i.e. every
# enable is under a was-enabled test inside a debian-installed one)
grep -n 'deb-systemd-invoke' "$C/postinst" && fail "postinst starts a unit"
grep -q "deb-systemd-helper debian-installed 'h2gate.service'" "$C/postinst" ||
	fail "postinst does not keep the operator's enable state only: $(cat "$C/postinst")"
assert_eq "$(grep -c 'deb-systemd-helper enable ' "$C/postinst")" "$(grep -c 'was-enabled' "$C/postinst")" \
	"postinst enables only units that were enabled"
grep -q 'deb-systemd-helper .*purge' "$C/postrm" || fail "postrm does not forget the units on purge"

# --- lintian
lintian "$DEB" >"$T/lintian.out" 2>&1
log "lintian: $(grep -E '^[EWI]:' "$T/lintian.out" | tr '\n' ';')"
grep -q '^E:' "$T/lintian.out" && fail "lintian errors: $(grep '^E:' "$T/lintian.out")"
pass
