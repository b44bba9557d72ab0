#!/usr/bin/env bash
# Fuzzes the F2FS image reader with libFuzzer for a bounded time.
#   tests/fuzz/run.sh [SECONDS]   (default 60; then fsck_fuzz.cc for F2SC_FSCK_FUZZ_SECONDS, 30)
# Installs clang and libclang-rt-14-dev through tools/deps.sh, builds the libraries with
# clang (ASan + UBSan) in build-fuzz/ outside the g++ build, makes a seed corpus with
# mkfs.f2sc and mkfs.f2fs, and runs the fuzzer. Exits non-zero on a crash, leak or timeout
# (libFuzzer writes the reproducer to build-fuzz/artifacts/).
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$root/build-fuzz"

F2SC_EXTRA_PACKAGES="clang libclang-rt-14-dev python3 ${F2SC_EXTRA_PACKAGES:-}" \
  "$root/tools/deps.sh"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DF2SC_BUILD_TESTS=OFF -DF2SC_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C "$build" -j2 segment mkfs.f2sc >/dev/null

libs=(segment blockdev nvme base)
link=()
for l in "${libs[@]}"; do link+=("$build/$l/lib$l.a"); done
clang++ -std=c++20 -O1 -g -I"$root" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "$root/tests/fuzz/image_reader_fuzz.cc" "${link[@]}" \
  $(pkg-config --libs liburing libxxhash) -ltbb -lz -lpthread \
  -o "$build/image_reader_fuzz"

corpus="$build/corpus"
mkdir -p "$corpus" "$build/artifacts"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
i=0
for args in "-s 1" "-s 4" "-o 5 -l fuzz"; do
  truncate -s 128M "$tmp/img"
  "$build/tools/mkfs.f2sc/mkfs.f2sc" -q -f $args "$tmp/img"
  python3 "$root/tests/fuzz/make_seed.py" "$tmp/img" "$corpus/ours-$i"
  rm -f "$tmp/img"; truncate -s 128M "$tmp/img"
  mkfs.f2fs -q -f $args "$tmp/img"
  python3 "$root/tests/fuzz/make_seed.py" "$tmp/img" "$corpus/theirs-$i"
  rm -f "$tmp/img"
  i=$((i + 1))
done

ASAN_OPTIONS=detect_leaks=1 "$build/image_reader_fuzz" "$corpus" \
  -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1

# fsck.f2sc's walk and repair over the same seeds, for a bounded time of its own. Its own
# build tree (fs/ with fsck.f2sc's core).
fsck_seconds="${F2SC_FSCK_FUZZ_SECONDS:-30}"
fsck_build="$build/fsck-tree"
cmake -S "$root" -B "$fsck_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DF2SC_BUILD_TESTS=OFF -DF2SC_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C "$fsck_build" -j2 fsck_f2sc_core fs segment blockdev nvme base >/dev/null
fsck_link=("$fsck_build/tools/fsck.f2sc/libfsck_f2sc_core.a" "$fsck_build/fs/libfs.a")
for l in "${libs[@]}"; do fsck_link+=("$fsck_build/$l/lib$l.a"); done
clang++ -std=c++20 -O1 -g -I"$root" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "$root/tests/fuzz/fsck_fuzz.cc" "${fsck_link[@]}" \
  $(pkg-config --libs liburing libxxhash) -ltbb -lz -lpthread \
  -o "$build/fsck_fuzz"
ASAN_OPTIONS=detect_leaks=1 "$build/fsck_fuzz" "$corpus" \
  -max_total_time="$fsck_seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/artifacts/fsck-" -print_final_stats=1
