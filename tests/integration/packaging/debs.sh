#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages of the tree, built once per tree content: prints the directory that
# holds sluice-{agent,controlplane,ceremony,tuf}_VERSION_ARCH.deb for the tree as it is now,
# building them with dpkg-buildpackage (DEB_BUILD_OPTIONS=nocheck) from a copy of the tree
# when that directory does not exist yet.
#
# The directory is $SLUICE_DEB_CACHE (default /var/tmp)/sluice-debs-<SHA-256 of the tree>:
# the packaging test and the systemd-units test, in all three CI build configurations, share
# one build. The hash covers every file of the copy dpkg-buildpackage builds from (names, modes,
# contents; no build directories, .git, node_modules or Python caches), so any change to the
# tree gives a new directory; older sluice-debs-* directories are removed.
#
#   debs.sh SOURCE_ROOT            print the directory (build if needed); log on stderr
#
# Exit 0 with the directory on stdout, 1 on failure.
set -euo pipefail

src=${1:?usage: debs.sh SOURCE_ROOT}
src=$(cd "$src" && pwd)
cache=${SLUICE_DEB_CACHE:-/var/tmp}
PACKAGES=(sluice-agent sluice-controlplane sluice-ceremony sluice-tuf)

say() { echo "debs: $*" >&2; }
fail() { echo "debs: FAIL: $*" >&2; exit 1; }

# What dpkg-buildpackage sees: the tree without VCS data, build directories (anything with
# meson-private/ or build.ninja), earlier package builds and caches.
excludes=(--exclude=./.git --exclude=./tests/interop/node_modules --exclude='./obj-*'
	--exclude=./debian/tmp --exclude=./debian/.debhelper --exclude=./debian/files
	--exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp
	--exclude=__pycache__ --exclude='*.pyc')
for p in "${PACKAGES[@]}"; do
	excludes+=(--exclude="./debian/$p" --exclude="./debian/$p-dbgsym")
done
for d in "$src"/*/; do
	if [ -e "$d/meson-private" ] || [ -e "$d/build.ninja" ]; then
		excludes+=(--exclude="./$(basename "$d")")
	fi
done
tree_tar() {
	(cd "$src" && tar "${excludes[@]}" --sort=name --mtime=@0 --owner=0 --group=0 \
		--numeric-owner -cf - .)
}

[ -f "$src/debian/changelog" ] || fail "$src has no debian/changelog"
hash=$(tree_tar | sha256sum | cut -c1-16)
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
dir="$cache/sluice-debs-$hash"

complete() {
	local p
	for p in "${PACKAGES[@]}"; do
		[ -f "$1/${p}_${version}_${arch}.deb" ] || return 1
	done
}

mkdir -p "$cache"
exec 9>"$cache/sluice-debs.lock"
flock 9

if complete "$dir"; then
	say "reusing $dir (tree $hash)"
	echo "$dir"
	exit 0
fi

tmp=$(mktemp -d "$cache/sluice-debs-$hash.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for t in dpkg-buildpackage dpkg-checkbuilddeps dh fakeroot; do
	command -v "$t" >/dev/null 2>&1 ||
		fail "'$t' is not installed (tools/install-deps.sh installs it)"
done
mkdir "$tmp/src"
tree_tar | tar -xf - -C "$tmp/src"
(cd "$tmp/src" && dpkg-checkbuilddeps -P nocheck) >&2 ||
	fail "build dependencies missing (tools/install-deps.sh installs them)"
say "dpkg-buildpackage -us -uc -b (nocheck) for tree $hash"
start=$(date +%s)
if ! (cd "$tmp/src" &&
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log" >&2
	fail "dpkg-buildpackage failed (log above)"
fi
say "built in $(($(date +%s) - start)) s"
rm -rf "$tmp/src" "$tmp"/*-dbgsym_*.deb "$tmp"/*.buildinfo "$tmp"/*.changes
complete "$tmp" || fail "the build did not produce every package"
rm -rf "$dir"
for old in "$cache"/sluice-debs-*; do
	case "$old" in
	*.lock | *.tmp.*) ;;
	*) [ -d "$old" ] && rm -rf "$old" ;;
	esac
done
mv "$tmp" "$dir"
trap - EXIT
say "stored in $dir"
echo "$dir"
