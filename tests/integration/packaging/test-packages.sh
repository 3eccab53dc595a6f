#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages of debian/: build them from a copy of the tree with dpkg-buildpackage,
# check what each holds (binaries, man pages, units, the agent's conffile, nothing else in
# /usr/bin), run the binaries and the default configuration from the packages, and, as root,
# install them with dpkg -i, run them from /usr/bin, start the units when systemd is PID 1,
# and purge them again.
#
# usage: test-packages.sh SOURCE_ROOT
# Exit 0 passed, 1 failed, 77 skipped (debhelper / dpkg-dev / fakeroot not installed).
set -euo pipefail

src=${1:?usage: test-packages.sh SOURCE_ROOT}
src=$(cd "$src" && pwd)

say() { echo "packaging: $*"; }
fail() { echo "packaging: FAIL: $*" >&2; exit 1; }
skip() { echo "packaging: SKIP: $*"; exit 77; }

for t in dpkg-buildpackage dpkg-deb dpkg-checkbuilddeps dh fakeroot; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "'$t' is not installed (apt-get install debhelper dpkg-dev fakeroot; tools/install-deps.sh installs them)"
done
[ -f /usr/share/perl5/Debian/Debhelper/Buildsystem/meson.pm ] ||
	skip "debhelper has no meson build system (debhelper >= 13 is needed)"

PACKAGES=(sluice-agent sluice-controlplane sluice-ceremony sluice-tuf)
declare -A FILES=(
	[sluice-agent]="./usr/bin/sluice-agent ./usr/share/man/man1/sluice-agent.1.gz
		./lib/systemd/system/sluice-agent.service ./etc/sluice/agent.conf
		./lib/systemd/system/sluice-agent.service.d/debian-unconfigured.conf"
	[sluice-controlplane]="./usr/bin/sluice-controlplane ./usr/share/man/man1/sluice-controlplane.1.gz
		./lib/systemd/system/sluice-controlplane.service
		./lib/systemd/system/sluice-controlplane.service.d/debian-unconfigured.conf
		./usr/lib/sysusers.d/sluice-controlplane.conf ./usr/lib/tmpfiles.d/sluice-controlplane.conf"
	[sluice-ceremony]="./usr/bin/sluice-ceremony ./usr/bin/sluice-provision
		./usr/share/man/man1/sluice-ceremony.1.gz ./usr/share/man/man1/sluice-provision.1.gz"
	[sluice-tuf]="./usr/bin/sluice-tuf ./usr/share/man/man1/sluice-tuf.1.gz"
)
BINARIES=(sluice-agent sluice-controlplane sluice-ceremony sluice-provision sluice-tuf)

work=$(mktemp -d /tmp/sluice-packaging.XXXXXX)
installed=0
cleanup() {
	if [ "$installed" = 1 ]; then
		dpkg --purge "${PACKAGES[@]}" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1-2. The packages of this tree, built by dpkg-buildpackage (nocheck) from a clean copy of it,
# once per tree content and shared with the systemd-units test (debs.sh).
debdir=$(bash "$(dirname "$0")/debs.sh" "$src") || fail "building the packages failed (above)"
say "packages in $debdir"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb() { echo "$debdir/${1}_${version}_${arch}.deb"; }

# 3. Contents: every expected file in its package, and no other program in /usr/bin.
declare -A owner=()
for p in "${PACKAGES[@]}"; do
	f=$(deb "$p")
	[ -f "$f" ] || fail "$p: $(basename "$f") was not built"
	dpkg-deb -c "$f" | awk '{print $6}' >"$work/$p.list"
	for want in ${FILES[$p]}; do
		grep -qxF -- "$want" "$work/$p.list" || fail "$p: $want is missing"
	done
	while read -r bin; do
		[ -n "${owner[$bin]:-}" ] && fail "$bin is in both ${owner[$bin]} and $p"
		owner[$bin]=$p
		case " $(echo ${FILES[$p]}) " in
		*" $bin "*) ;;
		*) fail "$p: unexpected program $bin" ;;
		esac
	done < <(grep -E '^\./usr/bin/.' "$work/$p.list" || true)
	grep -qE '^\./usr/(lib|include)/.*\.(a|h|pc)$' "$work/$p.list" &&
		fail "$p: ships build files: $(grep -E '^\./usr/(lib|include)/.*\.(a|h|pc)$' "$work/$p.list")"
	say "$p: $(grep -cv '/$' "$work/$p.list") files, expected ones present"
done
for bin in "${BINARIES[@]}"; do
	[ -n "${owner[./usr/bin/$bin]:-}" ] || fail "no package ships /usr/bin/$bin"
done
dpkg-deb -I "$(deb sluice-agent)" conffiles 2>/dev/null | grep -qx /etc/sluice/agent.conf ||
	fail "sluice-agent: /etc/sluice/agent.conf is not a conffile"
for p in sluice-agent sluice-controlplane; do
	dpkg-deb -I "$(deb "$p")" postinst | grep -q "deb-systemd-helper enable '$p.service'" ||
		fail "$p: postinst does not enable $p.service (dh_installsystemd did not see the unit)"
done
say "conffile and unit maintainer scripts present"

# 4. Run what the packages hold, unpacked: every binary answers --help, the units start
#    binaries their own package ships, and the default agent.conf is accepted (while the
#    same file with an unknown key is refused, so the check really reads it).
x="$work/unpacked"
mkdir "$x"
for p in "${PACKAGES[@]}"; do dpkg-deb -x "$(deb "$p")" "$x"; done
for bin in "${BINARIES[@]}"; do
	"$x/usr/bin/$bin" --help >/dev/null || fail "$bin --help (from the package) failed"
done
for p in sluice-agent sluice-controlplane; do
	for exe in $(sed -n 's/^Exec[A-Za-z]*=[-@!+]*\(\/[^ ]*\).*/\1/p' "$x/lib/systemd/system/$p.service"); do
		case "$exe" in
		/bin/kill) ;;
		*) grep -qxF ".$exe" "$work/$p.list" || fail "$p.service runs $exe, which $p does not ship" ;;
		esac
	done
done
mkdir -m 0700 "$work/agent-state"
"$x/usr/bin/sluice-agent" --config "$x/etc/sluice/agent.conf" --state-dir "$work/agent-state" \
	status >"$work/status.out" 2>&1 || { cat "$work/status.out" >&2; fail "the packaged agent.conf is refused"; }
{ cat "$x/etc/sluice/agent.conf"; printf '[agent]\nno_such_key = 1\n'; } >"$work/bad.conf"
if "$x/usr/bin/sluice-agent" --config "$work/bad.conf" --state-dir "$work/agent-state" \
	status >/dev/null 2>&1; then
	fail "sluice-agent accepted a config with an unknown key: the config check proves nothing"
fi
say "binaries run from the packages; the default agent.conf is accepted"

# 5. Install on this machine (root only), run from /usr/bin, start the units, purge.
if [ "$(id -u)" -ne 0 ]; then
	say "not root: skipping dpkg -i / dpkg --purge (build and contents checked)"
	exit 0
fi
for p in "${PACKAGES[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
		say "$p is installed on this machine already: not touching it, skipping the install part"
		exit 0
	fi
done
for bin in "${BINARIES[@]}"; do
	if [ -e "/usr/bin/$bin" ] || [ -e "/usr/local/bin/$bin" ]; then
		say "/usr{,/local}/bin/$bin exists outside a package (meson install?): skipping the install part"
		exit 0
	fi
done
installed=1
debs=()
for p in "${PACKAGES[@]}"; do debs+=("$(deb "$p")"); done
dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" | grep -qx 'install ok installed' || fail "$p is not installed"
done
for bin in "${BINARIES[@]}"; do
	[ "$(command -v "$bin")" = "/usr/bin/$bin" ] || fail "$bin is not /usr/bin/$bin after dpkg -i"
	"/usr/bin/$bin" --help >/dev/null || fail "/usr/bin/$bin --help failed"
done
mkdir -m 0700 "$work/agent-state2"
/usr/bin/sluice-agent --state-dir "$work/agent-state2" status >"$work/status2.out" 2>&1 ||
	{ cat "$work/status2.out" >&2; fail "sluice-agent refuses the installed /etc/sluice/agent.conf"; }
if command -v man >/dev/null 2>&1; then
	for bin in "${BINARIES[@]}"; do
		man -w "$bin" >/dev/null 2>&1 || fail "man $bin: no manual page after dpkg -i"
	done
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	for u in sluice-agent sluice-controlplane; do
		systemd-analyze verify "/lib/systemd/system/$u.service" >"$work/verify-$u.log" 2>&1 ||
			{ cat "$work/verify-$u.log" >&2; fail "systemd-analyze verify $u.service"; }
	done
	say "systemd-analyze verify: both units are valid"
fi
say "installed with dpkg -i; every binary runs from /usr/bin"

state=$(systemctl is-system-running 2>/dev/null || true)
if [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
	for u in sluice-agent sluice-controlplane; do
		[ "$(systemctl is-enabled "$u.service")" = enabled ] || fail "$u.service is not enabled"
		# Not configured yet: the unit's start condition fails, which is not an error.
		systemctl start "$u.service" || fail "systemctl start $u.service failed"
		[ "$(systemctl show -p ConditionResult --value "$u.service")" = no ] ||
			fail "$u.service started without its state (the Debian drop-in did not apply)"
	done
	say "units enabled; both skip their start until configured (ConditionPathExists)"
else
	say "systemd is not PID 1 here (is-system-running: ${state:-n/a}): not starting the units"
fi

dpkg --purge "${PACKAGES[@]}" >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
installed=0
for f in /usr/bin/sluice-agent /usr/bin/sluice-tuf /etc/sluice/agent.conf \
	/lib/systemd/system/sluice-agent.service /lib/systemd/system/sluice-controlplane.service; do
	[ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
done
say "purged; nothing left behind"
say "PASS"
