#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command of README.md: installs dependencies, builds with warnings as errors in
# three configurations (OpenSSL backend, mbedTLS backend, OpenSSL under ASan+UBSan), runs
# every test suite in each, and ends with one line "N passed, M failed[, K skipped]".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/tools/install-deps.sh" || exit 1

builds=(
	"build-ci-openssl|-Dcrypto=openssl"
	"build-ci-mbedtls|-Dcrypto=mbedtls"
	"build-ci-sanitize|-Dcrypto=openssl -Db_sanitize=address,undefined -Db_lundef=false"
)
status=0
dirs=()
for b in "${builds[@]}"; do
	dir=${b%%|*}
	opts=${b#*|}
	dirs+=("$dir")
	echo "=== $dir ($opts)"
	rm -rf "$dir"
	# shellcheck disable=SC2086
	if ! meson setup "$dir" -Dwerror=true -Dtests=true $opts >"$dir.setup.log" 2>&1; then
		cat "$dir.setup.log"
		echo "meson setup failed for $dir"
		status=1
		continue
	fi
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		tail -n 60 "$dir.build.log"
		echo "build failed for $dir"
		status=1
		continue
	fi
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done

/usr/bin/python3 "$top/tools/test-summary.py" "${dirs[@]}" || status=1
exit $status
