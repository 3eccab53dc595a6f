#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves README.md's claim that the two commands work on a fresh Debian 12 machine: builds a
# pristine Debian 12 (bookworm, debootstrap --variant=minbase: no compiler, no meson, no
# libraries), puts the committed tree (git archive HEAD) into /src inside it and runs the
# demo there in a chroot, as root, exactly as README.md says: `./tools/demo.sh`. With
# --tests it then runs `./tools/run-tests.sh` too (about 15 minutes on 2 cores).
#
# Usage: tools/fresh-debian.sh [--tests] [--keep] [ROOT]
#   ROOT     where the system is built (default /var/tmp/sluice-fresh-bookworm; must be absent
#            or empty — the point is a system nobody has touched)
#   --keep   leave ROOT in place afterwards (default: removed)
# Needs root, debootstrap and Debian's mirror (deb.debian.org) — the only network it uses.
# Output: the demo's own output, then one line "fresh-debian: demo OK in N s" (and the
# test summary line with --tests); exit status non-zero on the first failure.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run_tests=0
keep=0
root=/var/tmp/sluice-fresh-bookworm
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) run_tests=1 ;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "fresh-debian: unknown option $1" >&2
		exit 2
		;;
	*) root=$1 ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-debian: needs root (debootstrap, chroot, mounts)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "fresh-debian: debootstrap is not installed (apt-get install debootstrap)" >&2
	exit 1
}
if [ -e "$root" ] && [ -n "$(ls -A "$root" 2>/dev/null)" ]; then
	echo "fresh-debian: $root is not empty; give an absent or empty directory" >&2
	exit 1
fi

mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[$i]}" 2>/dev/null || true
	done
	if [ "$keep" -eq 0 ]; then
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT

t0=$(date +%s)
echo "fresh-debian: debootstrap bookworm (minbase) into $root"
mkdir -p "$root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 || {
	tail -n 30 "$root.debootstrap.log"
	echo "fresh-debian: debootstrap failed" >&2
	exit 1
}
rm -f "$root.debootstrap.log"
cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own trust store goes in with it: where the site reaches Debian's mirror and the
# npm registry through a TLS-inspecting proxy, its CA is in there (npm ci, --tests only).
chroot_env=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	mkdir -p "$root/usr/local/share/sluice-host-ca"
	cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/sluice-host-ca/ca-certificates.crt"
	chroot_env=(NODE_EXTRA_CA_CERTS=/usr/local/share/sluice-host-ca/ca-certificates.crt
		npm_config_cafile=/usr/local/share/sluice-host-ca/ca-certificates.crt)
fi
echo "fresh-debian: base system in $(($(date +%s) - t0)) s; $(chroot "$root" dpkg-query -W | wc -l) packages, no compiler: $(chroot "$root" sh -c 'command -v cc || echo absent')"

mkdir -p "$root/src"
git -C "$top" archive --format=tar HEAD | tar -x -C "$root/src"
echo "fresh-debian: /src holds $(git -C "$top" rev-parse --short HEAD) ($(git -C "$top" log -1 --format=%s | cut -c1-60))"

for m in proc sys dev dev/pts; do
	mkdir -p "$root/$m"
	case "$m" in
	proc) mount -t proc proc "$root/proc" ;;
	sys) mount -t sysfs sysfs "$root/sys" ;;
	dev) mount --bind /dev "$root/dev" ;;
	dev/pts) mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 ;;
	esac
	mounts+=("$root/$m")
done
mkdir -p "$root/dev/shm"
mount -t tmpfs tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")

t1=$(date +%s)
echo "fresh-debian: chroot $root: cd /src && ./tools/demo.sh"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 NO_COLOR=1 /bin/bash -c 'cd /src && ./tools/demo.sh'
echo "fresh-debian: demo OK in $(($(date +%s) - t1)) s (set-up included)"

if [ "$run_tests" -eq 1 ]; then
	t2=$(date +%s)
	echo "fresh-debian: chroot $root: cd /src && ./tools/run-tests.sh"
	chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 "${chroot_env[@]}" /bin/bash -c 'cd /src && ./tools/run-tests.sh' | tail -n 5
	echo "fresh-debian: tests finished in $(($(date +%s) - t2)) s"
fi
