#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# usage: test-fresh-debian.sh SOURCE_ROOT BUILD_ROOT
# Runs tools/fresh-debian.sh (debootstrap bookworm minbase, the committed tree in a chroot,
# ./tools/demo.sh there) and checks the demo's closing lines. Exit 0 passed, 1 failed,
# 77 skipped: not root, no debootstrap, no git checkout, or not the build that runs it.
set -euo pipefail
src=$(cd "${1:?usage: test-fresh-debian.sh SOURCE_ROOT BUILD_ROOT}" && pwd)
build=${2:?usage: test-fresh-debian.sh SOURCE_ROOT BUILD_ROOT}

skip() { echo "fresh-debian-demo: SKIP: $*"; exit 77; }
fail() { echo "fresh-debian-demo: FAIL: $*" >&2; exit 1; }

if [ "${SLUICE_TEST_FRESH_DEBIAN:-}" != 1 ] && [ "$(basename "$build")" != build-ci-openssl ]; then
	skip "runs once per CI run, in build-ci-openssl (set SLUICE_TEST_FRESH_DEBIAN=1 to run it here)"
fi
[ "$(id -u)" -eq 0 ] || skip "needs root for debootstrap and chroot"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (tools/install-deps.sh installs it)"
git -C "$src" rev-parse --verify -q HEAD >/dev/null || skip "$src is not a git checkout (the test uses git archive HEAD)"
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
	echo "fresh-debian-demo: note: the work tree has uncommitted changes; the fresh system gets HEAD only"
fi

root=$(mktemp -d /var/tmp/sluice-fresh-XXXXXX)
log=$root.log
trap 'rm -f "$log"' EXIT
rmdir "$root"
if ! "$src/tools/fresh-debian.sh" "$root" >"$log" 2>&1; then
	tail -n 40 "$log"
	fail "tools/fresh-debian.sh failed (above: the end of its output)"
fi
grep '^fresh-debian:' "$log"
# What a fresh machine must have shown: no compiler before, the packages installed by the
# demo's own set-up, every step, the fleet's state and the audit chain at the end.
grep -q '^fresh-debian: base system .* no compiler: absent$' "$log" ||
	fail "the base system was not pristine (a compiler was present before the demo)"
grep -q '^install-deps: installing .*meson.*gcc' "$log" ||
	fail "the demo's set-up did not install the build tools itself"
grep -q '^== Step 13: The fleet' "$log" || fail "the demo did not reach its last step"
grep -q 'chain intact' "$log" || fail "the demo's audit chain check is missing"
grep -q '^demo finished in ' "$log" || fail "the demo did not finish"
echo "fresh-debian-demo: OK"
