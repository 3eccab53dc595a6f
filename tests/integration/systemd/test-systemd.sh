#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages under a real systemd: a minimal Debian 12 root (debootstrap, cached
# under /var/tmp/sluice-systemd-root-<hash of its package list>) booted with systemd-nspawn;
# inside, sluice-selftest.service runs selftest.sh: apt installs the packages built from
# this tree (tests/integration/packaging/debs.sh, shared with other build directories), a
# control plane and a device are set up as the docs say, sluice-controlplane.service and
# sluice-agent.service are started (Type=notify: READY=1), inspected (systemctl show,
# hardening, watchdog, systemd-analyze security), reloaded, stopped, and the packages purged.
# The container powers itself off; this script prints its report.
#
# usage: test-systemd.sh SOURCE_ROOT default|other
#   default: this build configuration is the one that runs the test (meson.build decides:
#   crypto=openssl without sanitizers; the packages do not depend on the build options, so
#   one configuration is enough). SLUICE_SYSTEMD_TEST=1 runs it in any configuration,
#   SLUICE_SYSTEMD_TEST=0 skips it.
# Environment: SLUICE_SYSTEMD_CACHE (default /var/tmp) holds the root and the packages;
#   SLUICE_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Exit 0 passed, 1 failed, 77 skipped (not root, no systemd-nspawn or debootstrap, or not
# this build configuration).
set -euo pipefail

src=${1:?usage: test-systemd.sh SOURCE_ROOT default|other}
which=${2:-default}
src=$(cd "$src" && pwd)
here=$src/tests/integration/systemd
cache=${SLUICE_SYSTEMD_CACHE:-/var/tmp}
mirror=${SLUICE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# Seconds for the container's whole life (boot, selftest, poweroff).
BOOT_TIMEOUT=420

say() { echo "systemd: $*"; }
fail() { echo "systemd: FAIL: $*" >&2; exit 1; }
skip() { echo "systemd: SKIP: $*"; exit 77; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

case "${SLUICE_SYSTEMD_TEST:-}" in
0) skip "SLUICE_SYSTEMD_TEST=0" ;;
1) ;;
*) [ "$which" = default ] ||
	skip "runs only in the build with crypto=openssl and no sanitizer (the packages are" \
		"the same in every build; SLUICE_SYSTEMD_TEST=1 runs it here)" ;;
esac
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for t in debootstrap systemd-nspawn flock dpkg-deb dpkg-buildpackage dh fakeroot; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "'$t' is not installed (tools/install-deps.sh installs debootstrap," \
			"systemd-container, debhelper, dpkg-dev and fakeroot)"
done

t_all=$(now)

# 1. The packages of this tree.
t=$(now)
debs=$(SLUICE_DEB_CACHE="$cache" bash "$here/../packaging/debs.sh" "$src") ||
	fail "the packages could not be built"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
PACKAGES=(sluice-agent sluice-controlplane sluice-ceremony sluice-tuf)
say "packages: $debs ($(since "$t") s)"

# 2. The root: Debian's minbase, systemd, dbus and every library the packages depend on (from
#    their Depends: fields, so that apt installs them inside without a network).
includes=(systemd systemd-sysv dbus)
for p in "${PACKAGES[@]}"; do
	dpkg-deb -f "$debs/${p}_${version}_${arch}.deb" Depends |
		tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g'
done >"$cache/sluice-systemd-deps.$$"
while read -r dep; do
	case " ${includes[*]} " in *" $dep "*) continue ;; esac
	case "$dep" in "" | sluice-*) continue ;; esac
	includes+=("$dep")
done < <(sort -u "$cache/sluice-systemd-deps.$$")
rm -f "$cache/sluice-systemd-deps.$$"
# Bump ROOT_FORMAT when the preparation below changes.
ROOT_FORMAT=1
key=$(printf '%s\n' "$ROOT_FORMAT" "$suite" "$mirror" "$arch" "${includes[@]}" |
	sha256sum | cut -c1-16)
root=$cache/sluice-systemd-root-$key
mkdir -p "$cache"
exec 8>"$cache/sluice-systemd-root.lock"
flock 8
t=$(now)
if [ -f "$root/.sluice-root-complete" ]; then
	say "root: reusing $root"
else
	tmp=$root.tmp.$$
	rm -rf "$root" "$tmp"
	include=$(IFS=,; echo "${includes[*]}")
	say "root: debootstrap --variant=minbase --include=$include $suite $mirror"
	if ! debootstrap --variant=minbase --include="$include" \
		"$suite" "$tmp" "$mirror" >"$cache/sluice-systemd-debootstrap.log" 2>&1; then
		tail -n 30 "$cache/sluice-systemd-debootstrap.log" >&2
		rm -rf "$tmp"
		fail "debootstrap failed (log above; needs $mirror)"
	fi
	echo sluice-selftest >"$tmp/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
	: >"$tmp/etc/machine-id"
	# The console is read by this script, not by a person.
	ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
	touch "$tmp/.sluice-root-complete"
	for old in "$cache"/sluice-systemd-root-*; do
		case "$old" in "$tmp" | "$root") ;; *) rm -rf "$old" ;; esac
	done
	mv "$tmp" "$root"
	say "root: $root made in $(since "$t") s ($(du -sh "$root" | cut -f1))"
fi
flock -u 8

# 3. This run's copy of the root: an overlay on the cached one (a full copy where overlayfs
#    is not available), with the packages, the selftest and its unit.
work=$(mktemp -d "$cache/sluice-systemd-run.XXXXXX")
machine=sluice-selftest-$$
mounted=0
cleanup() {
	if [ "$mounted" = 1 ]; then
		umount "$work/merged" 2>/dev/null || umount -l "$work/merged" 2>/dev/null || true
	fi
	rm -rf "$work"
	# Left by systemd-nspawn when /run is not a tmpfs (it refuses to remove it there).
	rm -rf "/run/systemd/nspawn/propagate/$machine" "/run/systemd/nspawn/unix-export/$machine"
}
trap cleanup EXIT
mkdir "$work/merged" "$work/upper" "$work/ovl"
if mount -t overlay overlay \
	-o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl" "$work/merged" 2>/dev/null; then
	mounted=1
else
	say "overlayfs not available: copying the root"
	cp -a "$root/." "$work/merged/"
fi
R=$work/merged
mkdir -p "$R/sluice-test/debs" "$R/sluice-test/out"
for p in "${PACKAGES[@]}"; do cp "$debs/${p}_${version}_${arch}.deb" "$R/sluice-test/debs/"; done
install -m 0755 "$here/selftest.sh" "$R/sluice-test/selftest.sh"
cat >"$R/etc/systemd/system/sluice-selftest.service" <<'EOF'
[Unit]
Description=sluice: packages and units under systemd (tests/integration/systemd)
After=multi-user.target
SuccessAction=poweroff
FailureAction=poweroff

[Service]
# exec, not oneshot: the boot must finish (is-system-running) while the selftest runs.
Type=exec
ExecStart=/sluice-test/selftest.sh
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/sluice-selftest.service \
	"$R/etc/systemd/system/multi-user.target.wants/sluice-selftest.service"

# 4. Boot. --keep-unit --register=no: no systemd-machined is needed. Where systemd runs the
#    host, the container gets a delegated scope of its own; elsewhere (CI containers, VMs
#    without systemd) nspawn uses the cgroup it was started in.
scope=()
if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] &&
	command -v systemd-run >/dev/null 2>&1; then
	scope=(systemd-run --scope --quiet --collect -p Delegate=yes --)
fi
say "booting: ${scope[*]:+${scope[*]} }systemd-nspawn -b (timeout $BOOT_TIMEOUT s)"
t=$(now)
rc=0
timeout -k 15 "$BOOT_TIMEOUT" "${scope[@]}" systemd-nspawn --quiet --boot --directory="$R" \
	--machine="$machine" --keep-unit --register=no --private-network --console=read-only \
	--resolv-conf=off --timezone=off --link-journal=no \
	>"$work/console.log" 2>&1 || rc=$?
boot_s=$(since "$t")
say "container ran $boot_s s (systemd-nspawn exit $rc)"

if [ -f "$R/sluice-test/out/report" ]; then
	echo "---- report of the selftest inside the container"
	cat "$R/sluice-test/out/report"
	echo "----"
fi
if [ ! -f "$R/sluice-test/out/result" ]; then
	echo "---- console (last 80 lines)"
	sed 's/\x1b\[[0-9;]*m//g' "$work/console.log" | tail -n 80
	echo "----"
	[ "$rc" = 124 ] && fail "the container did not finish within $BOOT_TIMEOUT s"
	fail "the selftest wrote no result (systemd-nspawn exit $rc)"
fi
[ "$rc" = 0 ] || {
	sed 's/\x1b\[[0-9;]*m//g' "$work/console.log" | tail -n 40
	fail "systemd-nspawn exited $rc (the container did not power off cleanly)"
}
say "total $(since "$t_all") s"
if [ "$(head -n 1 "$R/sluice-test/out/result")" = PASS ]; then
	say "PASS"
	exit 0
fi
tail -n +2 "$R/sluice-test/out/result" | sed 's/^/systemd: failed: /' >&2
fail "checks failed inside the container"
