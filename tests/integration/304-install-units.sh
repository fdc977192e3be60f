#!/bin/sh
# make install DESTDIR=...: sbin/h2gate, bin/h2gatectl, the three man
# pages, etc/h2gate/h2gate.yaml and the systemd units land where they
# should; the service names the installed paths; `systemd-analyze verify`
# is silent on both units (in a --root holding the install plus a copy of
# the system's own units, so the ExecStart binaries and man pages are
# really checked; a unit with a missing binary or a misspelt key is shown
# to be caught); a reinstall keeps an edited h2gate.yaml; make uninstall
# leaves no file behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need make

BUILD=$(cd "$(dirname "$H2GATE")/.." && pwd)
[ -f "$BUILD/Makefile" ] || fail "no Makefile in $BUILD"
D=$T/inst
# a sub-make of its own: not the jobserver or flags of a surrounding make check
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$BUILD" install DESTDIR="$D" >"$T/install.out" 2>&1 ||
	fail "make install failed: $(tail -n 20 "$T/install.out")"

# one_file PATTERN: the single installed file whose path ends in PATTERN
one_file() {
	local f
	f=$(cd "$D" && find . -type f -path "*$1" | sed 's|^\.||')
	[ -n "$f" ] || fail "not installed: */$1 (installed: $(cd "$D" && find . -type f | tr '\n' ' '))"
	[ "$(printf '%s\n' "$f" | wc -l)" -eq 1 ] || fail "installed more than once: $f"
	printf '%s\n' "$f"
}
SBIN_H2GATE=$(one_file /sbin/h2gate) || exit 1
BIN_CTL=$(one_file /bin/h2gatectl) || exit 1
MAN8_H2GATE=$(one_file /man8/h2gate.8) || exit 1
MAN5=$(one_file /man5/h2gate.yaml.5) || exit 1
MAN8_CTL=$(one_file /man8/h2gatectl.8) || exit 1
CONFFILE=$(one_file /etc/h2gate/h2gate.yaml) || exit 1
SERVICE=$(one_file /systemd/system/h2gate.service) || exit 1
SOCKET=$(one_file /systemd/system/h2gate.socket) || exit 1
TEMPLATE=$(one_file '/systemd/system/h2gate@.service') || exit 1
log "installed: $SBIN_H2GATE $BIN_CTL $CONFFILE $SERVICE $SOCKET $MAN5"
[ -x "$D$SBIN_H2GATE" ] || fail "$SBIN_H2GATE not executable"
[ -x "$D$BIN_CTL" ] || fail "$BIN_CTL not executable"
"$D$SBIN_H2GATE" -V >/dev/null || fail "installed h2gate -V"
"$D$BIN_CTL" -V >/dev/null || fail "installed h2gatectl -V"
cmp -s "$TOP_SRCDIR/conf/h2gate.example.yaml" "$D$CONFFILE" || fail "installed h2gate.yaml differs from conf/h2gate.example.yaml"
"$H2GATE" -t -c "$D$CONFFILE" >/dev/null || fail "the installed configuration does not pass h2gate -t"
[ "$(dirname "$MAN8_H2GATE")" = "$(dirname "$MAN8_CTL")" ] || fail "man8 pages in different directories"
MANROOT=$D$(dirname "$(dirname "$MAN5")")

# --- the service names the installed files
grep -n '@[A-Za-z_]*@' "$D$SERVICE" && fail "unsubstituted @variables@ in $SERVICE"
assert_file_match "^ExecStartPre=$SBIN_H2GATE -t -c $CONFFILE\$" "$D$SERVICE" "ExecStartPre"
assert_file_match "^ExecStart=$SBIN_H2GATE -c $CONFFILE\$" "$D$SERVICE" "ExecStart"
assert_file_match "^ExecReload=$BIN_CTL( -s [^ ]+)? reload\$" "$D$SERVICE" "ExecReload"
for kv in Type=notify KillSignal=SIGTERM TimeoutStopSec=35 Restart=on-failure \
	AmbientCapabilities=CAP_NET_BIND_SERVICE CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
	NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service \
	LimitNOFILE=1048576 RuntimeDirectory=h2gate RuntimeDirectoryMode=0750; do
	grep -qxF "$kv" "$D$SERVICE" || fail "$SERVICE lacks $kv"
done
grep -Eqx 'DynamicUser=yes|User=h2gate' "$D$SERVICE" || fail "$SERVICE has neither DynamicUser=yes nor User=h2gate"
assert_file_match '^ListenStream=' "$D$SOCKET" "socket ListenStream"
assert_file_match '^Service=h2gate\.service$' "$D$SOCKET" "socket Service="
# the default control socket is inside the RuntimeDirectory
assert_file_match '^ExecReload=.* -s /run/h2gate/' "$D$SERVICE" "ExecReload socket in /run/h2gate"
# the template: instance NAME reads NAME.yaml and has a runtime directory
# (and control socket) of its own; the rest is the service's
grep -n '@[A-Za-z_]*@' "$D$TEMPLATE" && fail "unsubstituted @variables@ in $TEMPLATE"
CONFDIR=$(dirname "$CONFFILE")
assert_file_match "^ExecStartPre=$SBIN_H2GATE -t -c $CONFDIR/%i.yaml\$" "$D$TEMPLATE" "template ExecStartPre"
assert_file_match "^ExecStart=$SBIN_H2GATE -c $CONFDIR/%i.yaml\$" "$D$TEMPLATE" "template ExecStart"
assert_file_match "^ExecReload=$BIN_CTL -s /run/h2gate-%i/control.sock reload\$" "$D$TEMPLATE" "template ExecReload"
grep -qxF 'RuntimeDirectory=h2gate-%i' "$D$TEMPLATE" || fail "$TEMPLATE: RuntimeDirectory is not per instance"
diff <(grep -v '^#' "$D$SERVICE" | sed -e '/^Exec/s|h2gate\.yaml|%i.yaml|' -e 's|/run/h2gate/|/run/h2gate-%i/|' \
	-e 's/^RuntimeDirectory=h2gate$/&-%i/' -e 's/^LogsDirectory=h2gate$/&-%i/' -e 's/^Description=.*$/& (instance %i)/') \
	<(grep -v '^#' "$D$TEMPLATE") >"$T/template.diff" ||
	fail "the template differs from the service beyond the instance: $(cat "$T/template.diff")"

# --- systemd-analyze verify
if command -v systemd-analyze >/dev/null 2>&1; then
	R=$T/root
	mkdir -p "$R/usr/lib/systemd/system"
	SYSUNITS=
	for d in /usr/lib/systemd/system /lib/systemd/system; do
		[ -f "$d/sysinit.target" ] && SYSUNITS=$d && break
	done
	[ -n "$SYSUNITS" ] || skip "no systemd unit directory with sysinit.target"
	cp -a "$SYSUNITS/." "$R/usr/lib/systemd/system/" 2>/dev/null
	cp -a "$D/." "$R/"
	verify() { # UNIT...: output of systemd-analyze verify (empty = clean), rc in VRC
		MANPATH=$MANROOT SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$R" "$@" >"$T/verify.out" 2>&1
		VRC=$?
	}
	verify "$R$SERVICE" "$R$SOCKET"
	log "systemd-analyze verify: rc=$VRC $(cat "$T/verify.out")"
	[ "$VRC" -eq 0 ] && [ ! -s "$T/verify.out" ] ||
		fail "systemd-analyze verify is not clean (rc $VRC): $(cat "$T/verify.out")"
	# a template is verified as one of its instances
	cp "$R$TEMPLATE" "$R$(dirname "$TEMPLATE")/h2gate@edge1.service"
	verify "$R$(dirname "$TEMPLATE")/h2gate@edge1.service"
	log "systemd-analyze verify h2gate@edge1: rc=$VRC $(cat "$T/verify.out")"
	[ "$VRC" -eq 0 ] && [ ! -s "$T/verify.out" ] ||
		fail "systemd-analyze verify h2gate@edge1 is not clean (rc $VRC): $(cat "$T/verify.out")"
	rm -f "$R$(dirname "$TEMPLATE")/h2gate@edge1.service"
	# controls: the same verify does catch a misspelt key and a missing binary
	sed 's/^Type=notify/Tpye=notify/' "$R$SERVICE" >"$R$(dirname "$SERVICE")/h2gate-typo.service"
	verify "$R$(dirname "$SERVICE")/h2gate-typo.service"
	grep -q "Unknown key 'Tpye'" "$T/verify.out" || fail "control: a misspelt key went unnoticed: $(cat "$T/verify.out")"
	rm -f "$R$(dirname "$SERVICE")/h2gate-typo.service"
	mv "$R$SBIN_H2GATE" "$R/h2gate.moved"
	verify "$R$SERVICE"
	[ "$VRC" -ne 0 ] && grep -q "$SBIN_H2GATE is not executable" "$T/verify.out" ||
		fail "control: a missing ExecStart binary went unnoticed: $(cat "$T/verify.out")"
	mv "$R/h2gate.moved" "$R$SBIN_H2GATE"
	if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
		systemd-analyze security --offline=yes --root="$R" "$R$SERVICE" 2>&1 | tail -n 1 >"$T/security.out"
		log "systemd-analyze security: $(cat "$T/security.out")"
	fi
else
	[ "${H2G_NO_SKIP:-}" = 1 ] && fail "systemd-analyze not installed"
	log "systemd-analyze not installed: units not verified"
fi

# --- reinstall keeps an edited configuration; uninstall removes everything else
echo "# edited" >>"$D$CONFFILE"
make -C "$BUILD" install DESTDIR="$D" >"$T/install2.out" 2>&1 || fail "second make install failed"
assert_file_match '^# edited$' "$D$CONFFILE" "reinstall keeps the edited h2gate.yaml"
make -C "$BUILD" uninstall DESTDIR="$D" >"$T/uninstall.out" 2>&1 || fail "make uninstall failed: $(tail "$T/uninstall.out")"
left=$(cd "$D" && find . -type f)
assert_eq "./${CONFFILE#/}" "$left" "only the edited h2gate.yaml is left after uninstall"
cp "$TOP_SRCDIR/conf/h2gate.example.yaml" "$D$CONFFILE"
make -C "$BUILD" uninstall DESTDIR="$D" >"$T/uninstall2.out" 2>&1 || fail "second make uninstall failed"
left=$(cd "$D" && find . -type f)
assert_eq "" "$left" "no file left after uninstalling the shipped h2gate.yaml"
pass
