#!/usr/bin/env bash
# f2sc-bench fuse: fio on an f2sc-fuse mount against two FUSE peers in the same run.
#
#   tools/f2sc-bench/fuse_bench.sh [--long] [--json FILE] [--dir DIR] [--build DIR]
#                                  [--size MIB] [--runtime SEC] [--rounds N] [--only LIST]
#                                  [--jobs all|seq] [--keep]
#
#   --long     4 GiB images, 20 s random jobs (default: 1 GiB, 3 s; about 3 minutes)
#   --rounds   times each job runs on each target (default 3); the median is reported
#   --json     also write the summary (numbers, ratios, verdicts) as JSON
#   --only     comma-separated targets (default f2sc-offload,f2sc-emulate,fuse2fs,bindfs)
#   --jobs     all (default) or seq: only the sequential write and read jobs (the random
#              and GC columns then say n/a)
#   --keep     keep fio's JSON and the daemons' logs in DIR (images are always removed)
#
# All targets are mounted at once (each on its own fresh image or directory under DIR,
# default /var/tmp) and every job runs on each in turn, ROUNDS times, the order reversed
# every other round: a shared machine's load then falls on all of them alike. Targets:
#   f2sc-offload  mkfs.f2sc image through f2sc-fuse, copy_offload=on (bg_gc=on if supported)
#   f2sc-emulate  the same with copy_offload=off (the GC copies by read+write)
#   f2sc-file     (only with --only) the image as file:IMG?workers=0, copy_offload=on: the
#                 device I/O on the FUSE thread itself instead of the embedded NVMe
#                 controller's queue threads (see the README's FUSE benchmark)
#   f2sc-noxattr  (only with --only) f2sc-offload with xattr=off: no GETXATTR round trip
#                 before each write
#   fuse2fs       an ext4 image (mkfs.ext4) through fuse2fs, its default options
#   bindfs        bindfs -o big_writes over a directory on the same disk: the FUSE
#                 overhead ceiling (no filesystem work beyond the host's)
# Jobs, the same on every target (fio, ioengine=psync, one job, no fallocate):
#   seqwrite  1 MiB sequential writes, buffered, then fsync, all timed (SIZE/8 MiB, at
#             most 128 MiB; SIZE/4 with --long)
#   seqread   the same file read back with 1 MiB reads (fio drops the file's cached pages)
#   randw-empty  4 KiB random writes, O_DIRECT (every write reaches the FUSE daemon), over
#             a 64 MiB file on the empty filesystem: no GC (the baseline latency)
#   fill + age   a file to 80% of the capacity users can fill, then 16 KiB random
#             overwrites of a quarter of the image, so GC has partly valid segments to clean
#   randw-gc  4 KiB random O_DIRECT writes over the whole 80% file: f2sc's GC must run
#             (foreground when free space is short, and the background thread with bg_gc=on)
# Reported: medians over the rounds of MiB/s, IOPS and p99 write completion latency, and
# ratios taken within the run. Whether GC ran is checked two ways: `f2sc-ctl MNT status
# --json` before and after every measured random job (GC collections, victims and blocks
# moved inside the timed windows; when f2sc-ctl is built), and the daemon's /proc/PID/io:
# bytes it wrote to its image per byte fio wrote (GC moves show up as extra writes, copy
# offload included, since copy_file_range counts there too).
#
# Installs nothing (tools/deps.sh lists fio, fuse2fs, bindfs, jq). Needs root (mounts and
# /dev/fuse). Prints "SKIP: ..." and exits 0 when fio, jq, /dev/fuse or the f2sc binaries
# are missing; a missing peer is skipped alone (its column says why). Exit 1 when a job
# fails. Everything it mounts is unmounted and its directory removed on exit.
#
# Environment: F2SC_BUILD_DIR (default build-bench, then build), F2SC_FUSE, MKFS_F2SC,
# F2SC_CTL (binaries, overriding the build directory).

# The jq programs below name jq variables ($t, $k) inside single quotes.
# shellcheck disable=SC2016
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
long=0
json_out=""
base_dir="${TMPDIR_BENCH:-/var/tmp}"
build="${F2SC_BUILD_DIR:-}"
size_mib=""
runtime=""
only="f2sc-offload,f2sc-emulate,fuse2fs,bindfs"
keep=0
rounds=3
jobs=all

usage() {
  sed -n '2,/^$/p' "$0" | sed -e '/^$/d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --long) long=1 ;;
    --json) json_out="$2"; shift ;;
    --dir) base_dir="$2"; shift ;;
    --build) build="$2"; shift ;;
    --size) size_mib="$2"; shift ;;
    --runtime) runtime="$2"; shift ;;
    --only) only="$2"; shift ;;
    --keep) keep=1 ;;
    --rounds) rounds="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuse_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

case "$jobs" in
  all | seq) ;;
  *) echo "fuse_bench: --jobs $jobs: expected all or seq" >&2; exit 2 ;;
esac

if [ "$long" = 1 ]; then
  : "${size_mib:=4096}" "${runtime:=20}"
else
  : "${size_mib:=1024}" "${runtime:=3}"
fi
seq_mib=$((size_mib / 8 > 128 ? 128 : size_mib / 8))
[ "$long" = 1 ] && seq_mib=$((size_mib / 4))
rand_mib=64
age_mib=$((size_mib / 4))

skip() {
  echo "SKIP: f2sc-bench fuse: $*"
  exit 0
}

# --- what we need ---------------------------------------------------------------------
command -v fio >/dev/null || skip "fio is not installed (tools/deps.sh installs it)"
command -v jq >/dev/null || skip "jq is not installed (tools/deps.sh installs it)"
[ "$(id -u)" -eq 0 ] || skip "needs root to mount"
if ! [ -c /dev/fuse ] || ! [ -w /dev/fuse ]; then skip "/dev/fuse is missing or not writable"; fi
command -v fusermount3 >/dev/null || skip "fusermount3 is missing (Debian fuse3)"

find_bin() {  # NAME SUBDIR -> path of a built tool
  local name="$1" sub="$2" d
  for d in ${build:+"$build"} "$repo/build-bench" "$repo/build"; do
    case "$d" in /*) ;; *) d="$repo/$d" ;; esac
    if [ -x "$d/tools/$sub/$name" ]; then
      echo "$d/tools/$sub/$name"
      return 0
    fi
  done
  return 1
}
f2sc_fuse="${F2SC_FUSE:-$(find_bin f2sc-fuse f2sc-fuse || true)}"
mkfs_f2sc="${MKFS_F2SC:-$(find_bin mkfs.f2sc mkfs.f2sc || true)}"
f2sc_ctl="${F2SC_CTL:-$(find_bin f2sc-ctl f2sc-ctl || find_bin f2sc-ctl f2sc-fuse || true)}"
[ -x "$f2sc_fuse" ] || skip "f2sc-fuse is not built (cmake --build BUILD --target f2sc-fuse)"
[ -x "$mkfs_f2sc" ] || skip "mkfs.f2sc is not built (cmake --build BUILD --target mkfs.f2sc)"

fuse_help="$("$f2sc_fuse" --help 2>&1 || true)"
has_bg_gc=0
grep -q 'bg_gc' <<<"$fuse_help" && has_bg_gc=1
have_ctl=0
[ -n "$f2sc_ctl" ] && [ -x "$f2sc_ctl" ] && have_ctl=1

declare -A skip_reason=()
if ! command -v fuse2fs >/dev/null; then
  skip_reason[fuse2fs]="fuse2fs is not installed (Debian fuse2fs)"
elif ! command -v mkfs.ext4 >/dev/null; then
  skip_reason[fuse2fs]="mkfs.ext4 is not installed (Debian e2fsprogs)"
fi
command -v bindfs >/dev/null || skip_reason[bindfs]="bindfs is not installed (Debian bindfs)"

# --- work area, mounts, cleanup -------------------------------------------------------
mkdir -p "$base_dir"
work="$(mktemp -d "$base_dir/f2sc-fuse-bench.XXXXXX")"
mounts=()
pids=()

unmount_one() {  # MNT
  local mnt="$1"
  mountpoint -q "$mnt" 2>/dev/null || return 0
  fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null ||
    true
}

wait_pid() {  # PID SECONDS: waits for a daemon we started; kills it after SECONDS
  local pid="$1" t="$2" i
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "fuse_bench: daemon $pid did not exit; killing it" >&2
    kill "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null
}

cleanup() {
  local m p
  set +e
  for m in "${mounts[@]}"; do unmount_one "$m"; done
  for p in "${pids[@]}"; do wait_pid "$p" 30; done
  if [ "$keep" = 1 ]; then
    rm -rf "$work"/*.img "$work"/*.mnt "$work"/bindfs.src
    echo "kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a FUSE daemon in the foreground (in the background of this shell) and waits for
# its mount. Sets daemon_pid.
daemon_pid=""
start_daemon() {  # MNT LOG CMD...
  local mnt="$1" log="$2" i
  shift 2
  "$@" >"$log" 2>&1 &
  daemon_pid=$!
  pids+=("$daemon_pid")
  mounts+=("$mnt")
  for ((i = 0; i < 300; i++)); do
    mountpoint -q "$mnt" && return 0
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
      echo "fuse_bench: $* failed:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "fuse_bench: $mnt did not come up in 30 s" >&2
  return 1
}

stop_daemon() {  # MNT PID
  unmount_one "$1"
  wait_pid "$2" 120 || true
}

# --- fio ------------------------------------------------------------------------------
results="$work/results"
mkdir -p "$results"

run_fio() {  # TARGET JOB FIO-ARGS...
  local target="$1" job="$2"
  shift 2
  if ! fio --name="$job" --ioengine=psync --numjobs=1 --fallocate=none --group_reporting \
    --percentile_list=50:99:99.9 --output-format=json --output="$results/$target.$job.json" \
    "$@" >"$results/$target.$job.log" 2>&1; then
    echo "fuse_bench: fio $job on $target failed:" >&2
    cat "$results/$target.$job.log" "$results/$target.$job.json" >&2 2>/dev/null || true
    return 1
  fi
}

# Bytes users can still fill and already use (statfs through df, in bytes).
df_bytes() {  # MNT -> "used avail"
  df -B1 --output=used,avail "$1" | tail -1
}

# Daemon bytes written (wchar: write, pwrite and copy_file_range) of PID.
daemon_wchar() {
  awk '/^wchar:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0
}

# GC statistics from f2sc-ctl when present: prints the JSON or nothing.
ctl_status() {  # MNT
  [ "$have_ctl" = 1 ] || return 0
  "$f2sc_ctl" "$1" status --json 2>/dev/null || true
}

# --- targets: all mounted at once, each phase run round-robin over them ------------------
declare -A mnt_of=() pid_of=()

setup_f2sc() {  # TARGET on|off [file|noxattr]
  local target="$1" offload="$2" img="$work/$1.img" mnt="$work/$1.mnt" opts
  mkdir -p "$mnt"
  "$mkfs_f2sc" -f -q --size "${size_mib}M" "$img" >/dev/null
  opts="copy_offload=$offload"
  # file: pread/pwrite on the calling thread (workers=0), copy offload by copy_file_range.
  [ "${3:-}" = file ] && opts+=",backend=file:$img?workers=0"
  [ "${3:-}" = noxattr ] && opts+=",xattr=off"
  [ "$has_bg_gc" = 1 ] && opts+=",bg_gc=on"
  echo "$opts" >"$results/$target.opts"
  start_daemon "$mnt" "$work/$target.log" "$f2sc_fuse" -f "$img" "$mnt" -o "$opts"
  mnt_of[$target]="$mnt" pid_of[$target]="$daemon_pid"
}

setup_fuse2fs() {
  local img="$work/fuse2fs.img" mnt="$work/fuse2fs.mnt"
  mkdir -p "$mnt"
  truncate -s "${size_mib}M" "$img"
  mkfs.ext4 -q -F -m 0 "$img"
  echo "defaults (kernel_cache,big_writes)" >"$results/fuse2fs.opts"
  start_daemon "$mnt" "$work/fuse2fs.log" fuse2fs -f "$img" "$mnt"
  mnt_of[fuse2fs]="$mnt" pid_of[fuse2fs]="$daemon_pid"
}

setup_bindfs() {
  local src="$work/bindfs.src" mnt="$work/bindfs.mnt"
  mkdir -p "$src" "$mnt"
  echo "-o big_writes" >"$results/bindfs.opts"
  start_daemon "$mnt" "$work/bindfs.log" bindfs -f -o big_writes "$src" "$mnt"
  mnt_of[bindfs]="$mnt" pid_of[bindfs]="$daemon_pid"
}

# Targets in the order of round R: forward in odd rounds, backward in even ones, so no
# target always runs right after the same neighbour.
order() {  # ROUND
  local i
  if (($1 % 2)); then
    printf '%s\n' "${targets[@]}"
  else
    for ((i = ${#targets[@]} - 1; i >= 0; i--)); do echo "${targets[i]}"; done
  fi
}

# Adds what the daemon of TARGET wrote, and (f2sc) the GC statistics' growth, during one
# measured job to the job's totals.
measure() {  # TARGET JOB FIO-ARGS...
  local t="$1" job="$2" w0 w1 st0="" st1=""
  shift 2
  st0=$(ctl_status "${mnt_of[$t]}")
  w0=$(daemon_wchar "${pid_of[$t]}")
  run_fio "$t" "$job" "$@"
  w1=$(daemon_wchar "${pid_of[$t]}")
  st1=$(ctl_status "${mnt_of[$t]}")
  echo "$((w1 - w0))" >>"$results/$t.${job%.*}.wchar"
  if [ -n "$st0" ] && [ -n "$st1" ]; then
    jq -n -c --argjson a "$st0" --argjson b "$st1" \
      '$b.gc.stats as $y | $a.gc.stats as $x | $y | with_entries(select(.value | type ==
       "number") | .value -= $x[.key]) + {background: $b.gc.background}' \
      >>"$results/$t.${job%.*}.gc.jsonl" || true
  fi
}

phase_seq() {
  local r t m
  for ((r = 1; r <= rounds; r++)); do
    for t in $(order "$r"); do
      m="${mnt_of[$t]}"
      # fio times an fsync only between writes (not end_fsync), so one more write follows
      # it: the job's runtime covers seq_mib MiB written and made durable (plus 1 MiB).
      run_fio "$t" "seqwrite.$r" --filename="$m/seq.dat" --rw=write --bs=1M \
        --size="$((seq_mib + 1))M" --fsync="$seq_mib"
      run_fio "$t" "seqread.$r" --filename="$m/seq.dat" --rw=read --bs=1M \
        --size="${seq_mib}M" --invalidate=1
      rm -f "$m/seq.dat"
    done
  done
}

phase_randw_empty() {
  local r t
  # Laid out and synced first, outside the timed jobs, so the host's writeback of the
  # layout does not land inside a measurement.
  for t in "${targets[@]}"; do
    run_fio "$t" layout --filename="${mnt_of[$t]}/rand.dat" --rw=write --bs=1M \
      --size="${rand_mib}M" --end_fsync=1
  done
  sync
  for ((r = 1; r <= rounds; r++)); do
    for t in $(order "$r"); do
      measure "$t" "randw-empty.$r" --filename="${mnt_of[$t]}/rand.dat" --rw=randwrite \
        --bs=4k --size="${rand_mib}M" --direct=1 --time_based --runtime="$round_s" \
        --randseed="$((7 + r))"
    done
  done
  for t in "${targets[@]}"; do rm -f "${mnt_of[$t]}/rand.dat"; done
}

# Fills every target to 80% of what users can fill (bindfs, which has the host disk's
# capacity, gets the f2sc fill size) and ages it with random overwrites.
phase_fill() {
  local t m used avail cap fill f2sc_fill=""
  sync
  for t in "${targets[@]}"; do
    m="${mnt_of[$t]}"
    read -r used avail < <(df_bytes "$m")
    cap=$((used + avail))
    if [ "$t" = bindfs ]; then
      fill="${f2sc_fill:-$((size_mib * 1048576 * 8 / 10))}"
    else
      fill=$(((cap * 8 / 10 - used) / 1048576 * 1048576))
      case "$t" in f2sc-*) f2sc_fill="$fill" ;; esac
    fi
    echo "$cap $fill" >"$results/$t.fill"
    echo "== $t: fill $((fill / 1048576)) MiB (80% of $((cap / 1048576)) MiB), age" \
      "$age_mib MiB" >&2
    run_fio "$t" fill --filename="$m/fill.dat" --rw=write --bs=1M --size="$fill" --end_fsync=1
    run_fio "$t" age --filename="$m/fill.dat" --rw=randwrite --bs=16k --size="$fill" \
      --io_size="${age_mib}M" --direct=1 --randseed=11
  done
  sync
}

phase_randw_gc() {
  local r t fill
  for ((r = 1; r <= rounds; r++)); do
    for t in $(order "$r"); do
      read -r _ fill <"$results/$t.fill"
      measure "$t" "randw-gc.$r" --filename="${mnt_of[$t]}/fill.dat" --rw=randwrite --bs=4k \
        --size="$fill" --direct=1 --time_based --runtime="$round_s" --randseed="$((13 + r))"
    done
  done
  for t in "${targets[@]}"; do df_bytes "${mnt_of[$t]}" >"$results/$t.df-after"; done
}

# --- run ------------------------------------------------------------------------------
targets=()
IFS=, read -r -a wanted <<<"$only"
for t in "${wanted[@]}"; do
  case "$t" in
    f2sc-offload | f2sc-emulate | f2sc-file | f2sc-noxattr | fuse2fs | bindfs) ;;
    *) echo "fuse_bench: unknown target '$t'" >&2; exit 2 ;;
  esac
  if [ -n "${skip_reason[$t]:-}" ]; then
    echo "SKIP: $t: ${skip_reason[$t]}"
    continue
  fi
  targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || skip "no target left to run"

round_s="$runtime"
echo "f2sc-bench fuse: image ${size_mib} MiB, seq ${seq_mib} MiB, random jobs" \
  "${rounds}x${round_s} s per target, targets ${targets[*]}, dir $work" >&2
[ "$has_bg_gc" = 1 ] || echo "note: f2sc-fuse has no bg_gc option: only foreground GC runs" >&2
[ "$have_ctl" = 1 ] || echo "note: no f2sc-ctl: GC activity judged by the daemon's writes" >&2
for t in "${targets[@]}"; do
  case "$t" in
    f2sc-offload) setup_f2sc f2sc-offload on ;;
    f2sc-emulate) setup_f2sc f2sc-emulate off ;;
    f2sc-file) setup_f2sc f2sc-file on file ;;
    f2sc-noxattr) setup_f2sc f2sc-noxattr on noxattr ;;
    fuse2fs) setup_fuse2fs ;;
    bindfs) setup_bindfs ;;
  esac
done
echo "== sequential write and read, $rounds rounds" >&2
phase_seq
if [ "$jobs" = all ]; then
  echo "== 4 KiB random writes on the empty filesystems, $rounds rounds" >&2
  phase_randw_empty
  phase_fill
  echo "== 4 KiB random writes at 80% full (GC running on f2sc), $rounds rounds" >&2
  phase_randw_gc
fi
for t in "${targets[@]}"; do
  if [ "${t%%-*}" = f2sc ] && ! kill -0 "${pid_of[$t]}" 2>/dev/null; then
    echo "fuse_bench: the $t daemon died:" >&2
    cat "$work/$t.log" >&2
    exit 1
  fi
done

# --- report ---------------------------------------------------------------------------
# One JSON object: per target the median over the rounds of each number, then the ratios
# and the targets' verdicts.
summary="$work/summary.json"
sum_file() { awk '{s += $1} END {print s + 0}' "$1" 2>/dev/null || echo 0; }
{
  for t in "${targets[@]}"; do
    jq -n --arg t "$t" \
      --slurpfile sw <(cat "$results/$t".seqwrite.*.json) \
      --slurpfile sr <(cat "$results/$t".seqread.*.json) \
      --slurpfile re <(cat "$results/$t".randw-empty.*.json 2>/dev/null) \
      --slurpfile rg <(cat "$results/$t".randw-gc.*.json 2>/dev/null) \
      --slurpfile gce <(cat "$results/$t.randw-empty.gc.jsonl" 2>/dev/null) \
      --slurpfile gcg <(cat "$results/$t.randw-gc.gc.jsonl" 2>/dev/null) \
      --arg opts "$(cat "$results/$t.opts")" \
      --arg fill "$(cat "$results/$t.fill" 2>/dev/null || echo 0 0)" \
      --arg we "$(sum_file "$results/$t.randw-empty.wchar")" \
      --arg wg "$(sum_file "$results/$t.randw-gc.wchar")" '
      def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
      def mibps: .jobs[0] | (.write.io_bytes + .read.io_bytes) / 1048576
                 / ((.job_runtime // 1) / 1000);
      def p99us: .jobs[0].write.clat_ns.percentile["99.000000"] / 1000;
      def written(js): js | map(.jobs[0].write.io_bytes) | add;
      def gcsum(l): if (l | length) == 0 then null else
        {collections: (l | map(.collections // 0) | add),
         victims: (l | map(.victims // 0) | add),
         blocks_moved: (l | map(.blocks_moved // 0) | add),
         blocks_offloaded: (l | map(.blocks_offloaded // 0) | add),
         blocks_emulated: (l | map(.blocks_emulated // 0) | add),
         gc_ms: ((l | map(.time_ns // 0) | add) / 1e6),
         background: (l | map(.background) | any)} end;
      ($fill | split(" ") | map(tonumber)) as [$cap, $fb] |
      {($t): {
        options: $opts,
        rounds: ($sw | length),
        seqwrite_mibps: ($sw | map(mibps) | median),
        seqread_mibps: ($sr | map(mibps) | median),
        randw_empty_iops: ($re | map(.jobs[0].write.iops) | median),
        randw_empty_p99_us: ($re | map(p99us) | median),
        randw_gc_iops: ($rg | map(.jobs[0].write.iops) | median),
        randw_gc_p99_us: ($rg | map(p99us) | median),
        all_rounds: {seqwrite_mibps: ($sw | map(mibps)), seqread_mibps: ($sr | map(mibps)),
                     randw_empty_iops: ($re | map(.jobs[0].write.iops)),
                     randw_empty_p99_us: ($re | map(p99us)),
                     randw_gc_iops: ($rg | map(.jobs[0].write.iops)),
                     randw_gc_p99_us: ($rg | map(p99us))},
        capacity_bytes: $cap, fill_bytes: $fb,
        daemon_write_per_user_byte_empty:
          (if ($we | tonumber) > 0 then ($we | tonumber) / written($re) else null end),
        daemon_write_per_user_byte_gc:
          (if ($wg | tonumber) > 0 then ($wg | tonumber) / written($rg) else null end),
        gc_during_randw_empty: gcsum($gce),
        gc_during_randw_gc: gcsum($gcg)
      }}'
  done
} | jq -s 'add // {}' >"$work/targets.json"

jq --arg runtime "$runtime" --arg size "$size_mib" --arg seq "$seq_mib" --arg rounds "$rounds" '
  def r(a; b): if a == null or b == null or b == 0 then null else a / b end;
  . as $t |
  [("f2sc-offload", "f2sc-emulate", "f2sc-file", "f2sc-noxattr") | select($t[.])] as $ours |
  {
    config: {image_mib: ($size | tonumber), seq_mib: ($seq | tonumber),
             random_runtime_s: ($runtime | tonumber), rounds: ($rounds | tonumber)},
    targets: $t,
    ratios: [ $ours[] as $o | {
      ours: $o,
      seqwrite_vs_bindfs: r($t[$o].seqwrite_mibps; $t.bindfs.seqwrite_mibps),
      seqread_vs_bindfs: r($t[$o].seqread_mibps; $t.bindfs.seqread_mibps),
      seqwrite_vs_fuse2fs: r($t[$o].seqwrite_mibps; $t.fuse2fs.seqwrite_mibps),
      seqread_vs_fuse2fs: r($t[$o].seqread_mibps; $t.fuse2fs.seqread_mibps),
      randw_empty_vs_fuse2fs: r($t[$o].randw_empty_iops; $t.fuse2fs.randw_empty_iops),
      randw_gc_vs_fuse2fs: r($t[$o].randw_gc_iops; $t.fuse2fs.randw_gc_iops),
      randw_gc_vs_bindfs: r($t[$o].randw_gc_iops; $t.bindfs.randw_gc_iops),
      p99_gc_vs_empty: r($t[$o].randw_gc_p99_us; $t[$o].randw_empty_p99_us)
    } ]
  } |
  .targets_met = [ .ratios[] | {
      ours,
      seqwrite_at_least_bindfs:
        (if .seqwrite_vs_bindfs == null then null else .seqwrite_vs_bindfs >= 1 end),
      randw_gc_at_least_2x_fuse2fs:
        (if .randw_gc_vs_fuse2fs == null then null else .randw_gc_vs_fuse2fs >= 2 end),
      p99_gc_at_most_2x_empty:
        (if .p99_gc_vs_empty == null then null else .p99_gc_vs_empty <= 2 end)
    } ]' "$work/targets.json" >"$summary"

# Tables: absolute numbers of this run (for context) and the ratios (what we report).
table() {  # JQ-PROGRAM: rows as TSV, aligned
  jq -r "$1" "$summary" | column -t -s $'\t'
}
jq_defs='def f(x; d): if x == null then "n/a" else (x * pow(10; d) | round / pow(10; d) | tostring)
  end; def yn(x): if x == null then "n/a" elif x then "met" else "NOT met" end;'
echo
echo "per target (medians of $rounds rounds; absolute numbers are for context only)"
table "$jq_defs"'
  .targets as $t | ($t | keys_unsorted) as $k |
  (["", $k[]] | @tsv),
  (["seq write MiB/s"] + [$k[] | f($t[.].seqwrite_mibps; 0)] | @tsv),
  (["seq read MiB/s"] + [$k[] | f($t[.].seqread_mibps; 0)] | @tsv),
  (["4K rand write IOPS, empty"] + [$k[] | f($t[.].randw_empty_iops; 0)] | @tsv),
  (["4K rand write IOPS, 80% + GC"] + [$k[] | f($t[.].randw_gc_iops; 0)] | @tsv),
  (["p99 write us, empty"] + [$k[] | f($t[.].randw_empty_p99_us; 0)] | @tsv),
  (["p99 write us, 80% + GC"] + [$k[] | f($t[.].randw_gc_p99_us; 0)] | @tsv),
  (["daemon B written / user B, empty"] +
     [$k[] | f($t[.].daemon_write_per_user_byte_empty; 2)] | @tsv),
  (["daemon B written / user B, 80%"] +
     [$k[] | f($t[.].daemon_write_per_user_byte_gc; 2)] | @tsv),
  (["GC blocks moved in timed jobs, empty"] +
     [$k[] | f($t[.].gc_during_randw_empty.blocks_moved; 0)] | @tsv),
  (["GC blocks moved in timed jobs, 80%"] +
     [$k[] | f($t[.].gc_during_randw_gc.blocks_moved; 0)] | @tsv),
  (["GC collections in timed jobs, 80%"] +
     [$k[] | f($t[.].gc_during_randw_gc.collections; 0)] | @tsv)'
echo
echo "ratios (measured in this run)"
table "$jq_defs"'
  (["", (.ratios[] | .ours)] | @tsv),
  (["seq write / bindfs"] + [.ratios[] | f(.seqwrite_vs_bindfs; 2)] | @tsv),
  (["seq write / fuse2fs"] + [.ratios[] | f(.seqwrite_vs_fuse2fs; 2)] | @tsv),
  (["seq read / bindfs"] + [.ratios[] | f(.seqread_vs_bindfs; 2)] | @tsv),
  (["seq read / fuse2fs"] + [.ratios[] | f(.seqread_vs_fuse2fs; 2)] | @tsv),
  (["rand write IOPS empty / fuse2fs"] + [.ratios[] | f(.randw_empty_vs_fuse2fs; 2)] | @tsv),
  (["rand write IOPS 80%+GC / fuse2fs"] + [.ratios[] | f(.randw_gc_vs_fuse2fs; 2)] | @tsv),
  (["rand write IOPS 80%+GC / bindfs"] + [.ratios[] | f(.randw_gc_vs_bindfs; 2)] | @tsv),
  (["p99 80%+GC / p99 empty"] + [.ratios[] | f(.p99_gc_vs_empty; 2)] | @tsv)'
echo
echo "targets"
table "$jq_defs"'
  (["", (.targets_met[] | .ours)] | @tsv),
  (["seq write >= bindfs"] + [.targets_met[] | yn(.seqwrite_at_least_bindfs)] | @tsv),
  (["rand write with GC >= 2x fuse2fs"] +
     [.targets_met[] | yn(.randw_gc_at_least_2x_fuse2fs)] | @tsv),
  (["p99 with GC <= 2x without"] + [.targets_met[] | yn(.p99_gc_at_most_2x_empty)] | @tsv)'

if [ -n "$json_out" ]; then
  cp "$summary" "$json_out"
  echo "JSON: $json_out" >&2
fi
