#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install what building, testing and the demo need on Debian 12, from Debian's packages
# and the npm registry only. Idempotent: does nothing when everything is present.
set -euo pipefail

PKGS=(
	meson ninja-build pkg-config gcc
	libjson-c-dev libsodium-dev libssl-dev libmbedtls-dev libcurl4-openssl-dev
	libuv1-dev libsqlite3-dev libhttp-parser-dev libinih-dev libsystemd-dev libubootenv-dev
	python3 python3-nacl python3-cryptography python3-securesystemslib
	faketime time openssl curl tcpdump iproute2
	debhelper dpkg-dev fakeroot
	debootstrap systemd-container procps libubootenv-tool strace
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root or install them)" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js for the tuf-js interop tests: the machine's own when present (tuf-js 6 runs on
# node 20 with an engine warning), Debian's otherwise.
if [ "${SLUICE_DEPS_NPM:-1}" != 0 ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
	if [ "$(id -u)" -eq 0 ]; then
		apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || true
	fi
fi

# tuf-js for the interop tests (npm registry). Without node the interop tests skip and say why.
# SLUICE_DEPS_NPM=0 (the demo) skips this: nothing but the interop tests needs it.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${SLUICE_DEPS_NPM:-1}" != 0 ] && command -v npm >/dev/null 2>&1 && [ -f "$top/tests/interop/package-lock.json" ]; then
	if [ ! -d "$top/tests/interop/node_modules" ]; then
		echo "install-deps: npm ci in tests/interop"
		(cd "$top/tests/interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
fi
