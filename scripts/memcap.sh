#!/bin/sh
# Build an index of a dump larger than the memory the build may use, inside a
# memory cgroup whose hard limit is below the dump's size, and show that:
#   1. the build finishes (the kernel never has to kill it),
#   2. its peak RSS stays under --memory,
#   3. the segment is byte-identical to one built with the default budget.
#
#   scripts/memcap.sh [RECORDS] [MEMORY] [CGROUP_LIMIT_MB]
#   defaults: 5000000 records (~800 MB of dump), --memory 256M, a 400 MB cgroup.
#
# Needs root and a cgroup memory controller (v2 at /sys/fs/cgroup or v1 at
# /sys/fs/cgroup/memory). Work files go to ${MEMCAP_DIR:-target/memcap}.
set -eu
records=${1:-5000000}
memory=${2:-256M}
limit_mb=${3:-400}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${MEMCAP_DIR:-$root/target/memcap}
bin=$root/target/release/leakscope
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml"
mkdir -p "$dir"
if [ ! -d "$dir/archive-$records/dump" ]; then
  "$bin" gen --records "$records" --out "$dir/archive-$records" > "$dir/gen.log" 2>&1
fi
dump=$dir/archive-$records/dump
dump_mb=$(du -sm "$dump" | cut -f1)

# A cgroup with a hard limit (memory + swap) on everything charged to the build:
# its own pages and the page cache it fills.
limit=$((limit_mb * 1024 * 1024))
if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
  cg=/sys/fs/cgroup/leakscope-memcap
  mkdir -p "$cg"
  echo "$limit" > "$cg/memory.max"
  echo 0 > "$cg/memory.swap.max" 2>/dev/null || true
  peak_file=$cg/memory.peak
elif [ -d /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/leakscope-memcap
  mkdir -p "$cg"
  echo "$limit" > "$cg/memory.limit_in_bytes"
  echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
  echo 0 > "$cg/memory.max_usage_in_bytes" 2>/dev/null || true
  peak_file=$cg/memory.max_usage_in_bytes
else
  echo "memcap: no cgroup memory controller here; cannot run" >&2
  exit 2
fi

echo "dump: $dump_mb MB in $dump"
echo "cgroup limit: $limit_mb MB (memory + swap); --memory $memory"
rm -rf "$dir/capped.idx" "$dir/free.idx"
# Free build first: its secret makes the capped build comparable byte for byte.
"$bin" index --out "$dir/free.idx" "$dump" >/dev/null 2>&1
sh -c "echo \$\$ > $cg/cgroup.procs; exec /usr/bin/time -v $bin index --memory $memory --secret $dir/free.idx/secret --out $dir/capped.idx $dump" \
  > "$dir/capped.log" 2>&1 || { echo "capped build FAILED (see $dir/capped.log)"; tail -5 "$dir/capped.log"; exit 1; }
rss_kb=$(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$dir/capped.log")
wall=$(awk '/Elapsed \(wall clock\)/{print $NF}' "$dir/capped.log")
echo "capped build: finished in $wall, peak RSS $((rss_kb / 1024)) MB, cgroup peak charge $(( $(cat "$peak_file") / 1048576 )) MB"
if cmp -s "$dir/free.idx/segment-0000.seg" "$dir/capped.idx/segment-0000.seg"; then
  echo "segment: byte-identical to the build with the default budget"
else
  echo "segment: DIFFERS from the build with the default budget"
  exit 1
fi
