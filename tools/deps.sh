#!/usr/bin/env bash
# Installs what f2sc needs to build and test, with apt-get, on Debian 12. Idempotent: does
# nothing when everything is present. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libtbb-dev libboost-dev catch2 libfuse3-dev liburing-dev libcli11-dev libexpected-dev
  zlib1g-dev nlohmann-json3-dev libxxhash-dev libbenchmark-dev libblkid-dev
  f2fs-tools fuse3 xfsprogs e2fsprogs util-linux gnuplot-nox
  fio fuse2fs bindfs jq
)
# Extra packages a caller may ask for (e.g. the QEMU test): F2SC_EXTRA_PACKAGES="a b".
read -r -a extra <<< "${F2SC_EXTRA_PACKAGES:-}"
packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
