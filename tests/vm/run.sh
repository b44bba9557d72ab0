#!/usr/bin/env bash
# QEMU test of the NVMe passthrough path against a controller we did not write.
#
# Boots Debian's own cloud kernel in qemu-system-x86_64 (TCG) with an emulated NVMe
# namespace with small copy limits (4 KiB blocks, mssrl=16, mcl=32, msrc=3), runs
# vm_passthru_test inside a busybox initramfs (differential test against our
# EmulatedController, NvmeDevice splitting, ioctl fallback, nvme-cli vs f2sc-copy), powers
# off, and checks the image on the host against the hash the guest printed.
#
# Installs what it needs with apt-get (qemu-system-x86, busybox-static, nvme-cli, and the
# kernel package that linux-image-cloud-amd64 depends on, fetched with apt-get download).
# Exit: 0 passed, or SKIP (printed) when QEMU or the kernel cannot be had or run here;
# 1 when the test ran and failed.
#
# Environment: F2SC_BUILD_DIR (default: build), F2SC_VM_CACHE (kernel cache, default
# $F2SC_BUILD_DIR/vm-cache), F2SC_VM_TIMEOUT (seconds for the guest, default 150),
# F2SC_VM_ACCEL (default tcg; "kvm" where usable).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
build="${F2SC_BUILD_DIR:-build}"
cache="${F2SC_VM_CACHE:-$build/vm-cache}"
timeout_s="${F2SC_VM_TIMEOUT:-150}"
accel="${F2SC_VM_ACCEL:-tcg}"

skip() {
  echo "SKIP: tests/vm: $*"
  exit 0
}

# 1. Packages.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v nvme >/dev/null || need+=(nvme-cli)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    skip "missing ${need[*]} and cannot install them (not root or no apt-get)"
  fi
  echo "vm: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
      skip "apt-get could not install ${need[*]}"
  fi
fi

# 2. The kernel: the package linux-image-cloud-amd64 depends on, unpacked in the cache.
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
kpkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
  awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
[ -n "$kpkg" ] || skip "cannot resolve linux-image-cloud-amd64 (apt-cache has no index?)"
kdir="$cache/$kpkg"
if ! ls "$kdir"/boot/vmlinuz-* >/dev/null 2>&1; then
  (cd "$cache" && rm -f "${kpkg}"_*.deb && apt-get download "$kpkg" >/dev/null 2>&1) ||
    skip "apt-get download $kpkg failed"
  rm -rf "$kdir" && mkdir -p "$kdir"
  dpkg-deb -x "$cache/${kpkg}"_*.deb "$kdir"
fi
kernel="$(ls "$kdir"/boot/vmlinuz-* | head -1)"

# 3. Our binaries.
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target vm_passthru_test >/dev/null
test_bin="$build/tests/vm/vm_passthru_test"
copy_bin=""
if cmake --build "$build" -j "$(nproc)" --target f2sc-copy >/dev/null 2>&1; then
  copy_bin="$(find "$build/tools" -name f2sc-copy -type f -perm -u+x | head -1)"
fi

# 4. The initramfs: busybox, our binaries, nvme-cli, and the libraries ldd names.
work="$(mktemp -d "${TMPDIR:-/tmp}/f2sc-vm-XXXXXX")"
trap 'rm -rf "$work"' EXIT
initrd="$work/root"
mkdir -p "$initrd"/{bin,sbin,dev,proc,sys,tmp,usr/sbin}
cp /bin/busybox "$initrd/bin/busybox"
cp "$test_bin" "$initrd/vm_passthru_test"
bins=("$test_bin" "$(command -v nvme)")
cp "$(command -v nvme)" "$initrd/usr/sbin/nvme"
guest_copy=""
if [ -n "$copy_bin" ]; then
  cp "$copy_bin" "$initrd/f2sc-copy"
  bins+=("$copy_bin")
  guest_copy="--f2sc-copy /f2sc-copy"
fi
for b in "${bins[@]}"; do
  ldd "$b" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | while read -r lib; do
    mkdir -p "$initrd$(dirname "$lib")"
    cp -L "$lib" "$initrd$lib"
  done
done
mknod "$initrd/dev/console" c 5 1 2>/dev/null || true
cat >"$initrd/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1  # also when the archive has no dev/console (not root)
echo F2SC-VM-BOOTED
for i in \$(seq 100); do [ -e /dev/ng0n1 ] && break; sleep 0.1; done
/vm_passthru_test run /dev/ng0n1 --nvme-cli /usr/sbin/nvme $guest_copy
echo "F2SC-VM-EXIT \$?"
sync
poweroff -f
EOF
chmod +x "$initrd/init"
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz"

# 5. Boot. One image per run (QEMU locks it).
image="$work/nvme.img"
truncate -s 64M "$image"
log="$work/console.log"
echo "vm: booting $(basename "$kernel") under $accel with an NVMe namespace (mssrl=16 mcl=32 msrc=3)"
start=$(date +%s)
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1" \
  -drive "file=$image,if=none,id=nvm,format=raw" \
  -device nvme,serial=f2sc,id=nvme0 \
  -device "nvme-ns,drive=nvm,bus=nvme0,nsid=1,logical_block_size=4096,physical_block_size=4096,mssrl=16,mcl=32,msrc=3" \
  </dev/null >"$log" 2>&1
qemu_rc=$?
set -e
tr -d '\r' <"$log" | grep -E '^(PASS|FAIL|DEVIATION|DIFFERENCE|INFO|RESULT|F2SC-)' || true
echo "vm: guest ran $(($(date +%s) - start)) s, qemu exit $qemu_rc"

if ! grep -q F2SC-VM-BOOTED "$log"; then
  tail -20 "$log"
  [ "$qemu_rc" -eq 124 ] && { echo "FAIL: tests/vm: the guest did not boot in ${timeout_s} s"; exit 1; }
  skip "qemu could not boot the guest here (exit $qemu_rc)"
fi
guest_rc="$(tr -d '\r' <"$log" | sed -n 's/^F2SC-VM-EXIT \([0-9]*\).*/\1/p' | tail -1)"
if [ "$guest_rc" != "0" ]; then
  echo "FAIL: tests/vm: the guest test failed (exit ${guest_rc:-none}; timeout or crash if none)"
  exit 1
fi
# The image on the host must hold what the guest read back through passthrough.
guest_hash="$(tr -d '\r' <"$log" | grep '^F2SC-IMAGE-HASH' | tail -1)"
host_hash="$("$test_bin" hash "$image" 4096)"
if [ -z "$guest_hash" ] || [ "$guest_hash" != "$host_hash" ]; then
  echo "FAIL: tests/vm: image on the host ($host_hash) differs from the guest's ($guest_hash)"
  exit 1
fi
echo "PASS tests/vm: host image matches the guest ($host_hash)"
echo "OK: tests/vm passed"
