#!/usr/bin/env bash
# The main job on the embedded default (no device, no mount): installs what is missing,
# builds Release, and runs the copy benchmark, offload vs emulation, printing a result
# table. Arguments are passed to `f2sc-bench copy` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/deps.sh
build="${F2SC_BUILD_DIR:-build-release}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DF2SC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
exec "$build/tools/f2sc-bench/f2sc-bench" copy "$@"
