#!/usr/bin/env bash
# bench-local.sh: local figures, side by side in one run.
#   1. merkle tree building on all cores vs one core of raw BLAKE2s over the same bytes;
#      SIMD kernels and bloom filter; wire codecs.
#   2. local sync of a SIZE MiB file (default 512): first copy, and again with 1% of its
#      16 KiB blocks changed, for lcsync (temp file and --inplace), cp and rsync (whole-file
#      and delta), with wall time, bytes read/written through syscalls and CPU time.
# Set BENCH_SIZE_MB to change the size, BENCH_DIR for where the files go (default: a temp
# dir under /var/tmp, a real file system; use /dev/shm to take the disk out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh rsync python3
size=${BENCH_SIZE_MB:-512}
dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lcsync-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/lcsync" ./cmd/lcsync
echo "# lcsync local benchmarks — $(date -u +%F) on $(nproc) cores, $(uname -r); files in $dir"

echo
echo "## Go benchmarks"
go test -run '^$' -bench 'Build|Raw' -benchtime 5x -count 1 ./merkle | grep -E '^Benchmark|x-vs-raw' || true
go test -run '^$' -bench 'Sweep/(avx2|generic)/2\^20|CountNonZero/(avx2|generic)/2\^20' -benchtime 200ms ./simd | grep -E '^Benchmark' || true
go test -run '^$' -bench 'Contains|FalsePositive' -benchtime 200ms ./mld/bloom | grep -E '^Benchmark' || true

echo
echo "## local sync, ${size} MiB"
head -c $((size << 20)) /dev/urandom >"$dir/src.bin"
run() { # label cmd...
	local label=$1
	shift
	sync
	local out
	out=$(python3 scripts/iostat.py "$@" 2>&1 >/dev/null | tail -1)
	# shellcheck disable=SC2086
	set -- $out
	printf "| %-28s | %8s | %10s | %10s | %6s |\n" "$label" "${1#wall=}" \
		"$(awk -v b="${2#read=}" 'BEGIN{printf "%.1f", b/1048576}')" \
		"$(awk -v b="${3#written=}" 'BEGIN{printf "%.1f", b/1048576}')" "${4#cpu=}"
}
header() {
	echo
	echo "| $1 | wall s | read MiB | written MiB | cpu s |"
	echo "|---|---|---|---|---|"
}
header "first copy"
run "lcsync" "$dir/lcsync" "$dir/src.bin" "$dir/l1.bin"
run "cp" cp "$dir/src.bin" "$dir/c1.bin"
run "rsync (local: whole file)" rsync "$dir/src.bin" "$dir/r1.bin"

# Change 1% of the 16 KiB blocks at random positions in the source.
blocks=$(((size << 20) / 16384))
python3 - "$dir/src.bin" "$blocks" <<'PY'
import os, random, sys
path, blocks = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
with open(path, "r+b") as f:
    for b in rng.sample(range(blocks), max(1, blocks // 100)):
        f.seek(b * 16384 + rng.randrange(16384 - 64))
        f.write(os.urandom(64))
PY
cp "$dir/l1.bin" "$dir/l2.bin"
cp "$dir/r1.bin" "$dir/r2.bin"
header "1% of blocks changed"
run "lcsync (temp file + rename)" "$dir/lcsync" "$dir/src.bin" "$dir/l1.bin"
run "lcsync --inplace" "$dir/lcsync" --inplace "$dir/src.bin" "$dir/l2.bin"
run "cp" cp "$dir/src.bin" "$dir/c1.bin"
run "rsync -I --no-whole-file" rsync -I --no-whole-file "$dir/src.bin" "$dir/r1.bin"
run "rsync -I --no-whole-file --inplace" rsync -I --no-whole-file --inplace "$dir/src.bin" "$dir/r2.bin"
for f in l1 l2 c1 r1 r2; do cmp -s "$dir/src.bin" "$dir/$f.bin" || { echo "MISMATCH: $f" >&2; exit 1; }; done
echo
echo "all copies verified identical to the source"
echo "(read/written count bytes moved by syscalls; lcsync's copy_file_range of unchanged blocks"
echo " counts as both, although the kernel copies them without user space, or shares extents on"
echo " reflink file systems; --inplace writes only the changed blocks)"
