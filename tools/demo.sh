#!/usr/bin/env bash
# The main job on the embedded default (no device, no mount, no root beyond installing
# packages): installs what is missing, builds Release, and runs `f2sc-stress --copy-offload
# both`: the same seeded workload with GC copy offload on and then off, verified byte for
# byte, and a side-by-side table with ratios. Arguments are passed to f2sc-stress (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/deps.sh
build="${F2SC_BUILD_DIR:-build-release}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DF2SC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
exec "$build/tools/f2sc-stress/f2sc-stress" --copy-offload both "$@"
