#!/bin/bash
# The whole test suite, as CI runs it (README "Run all tests"):
#   1. install dependencies (as root),
#   2. build basalt and its guest images (Debian kernel, default guest,
#      CI test kernel: the first build of the test kernel takes ~10 min),
#   3. run every meson test,
#   4. run the unit and test-guest suites again under ASan+UBSan,
#   5. build the test-only sandbox self-test variant and check that a
#      forbidden system call in each thread role ends basalt with status 6.
# Exit status is non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BASALT_SKIP_DEPS:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
	scripts/install-deps.sh
fi

build=${BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build"
meson compile -C "$build"
meson compile -C "$build" guest-images

meson test -C "$build" --print-errorlogs --num-processes 2

asan=${build}-asan
[ -d "$asan" ] || meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
	-Dguest_kernel_dir="$(realpath "$build")/guest-images"
meson compile -C "$asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C "$asan" --suite unit --suite guest --print-errorlogs --num-processes 2

selftest=${build}-sandbox-selftest
[ -d "$selftest" ] || meson setup "$selftest" -Dsandbox_selftest=true \
	-Dguest_kernel_dir="$(realpath "$build")/guest-images"
meson compile -C "$selftest"
meson test -C "$selftest" --suite sandbox-selftest --print-errorlogs
