#!/usr/bin/env bash
# Installs what is missing (apt-get), builds, and runs every test with ctest.
#
# Environment knobs (all optional):
#   F2SC_BUILD_DIR    build directory (default: build)
#   F2SC_BUILD_TYPE   CMake build type (default: RelWithDebInfo)
#   F2SC_SANITIZE     e.g. address,undefined or thread (default: none)
#   F2SC_CTEST_ARGS   extra ctest arguments, e.g. "-R blockdev"
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/deps.sh

build="${F2SC_BUILD_DIR:-build}"
if [ "${F2SC_SANITIZE:-}" = thread ]; then
  # TBB's queues use fences TSan cannot see (tests/tsan.supp says which frames and why).
  export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 ${TSAN_OPTIONS:-}"
fi
jobs="$(nproc)"
cmake -S . -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE="${F2SC_BUILD_TYPE:-RelWithDebInfo}" \
  -DF2SC_SANITIZE="${F2SC_SANITIZE:-}" >/dev/null
cmake --build "$build" -j "$jobs"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j "$jobs" ${F2SC_CTEST_ARGS:-}
