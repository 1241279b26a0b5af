#!/usr/bin/env bash
# bench.sh: multicast transfer benchmarks on the namespace rig (root; run on a quiet machine).
#
#   scenario "full": a SIZE MiB random file (default 512) to N receivers at once, for each N
#   in BENCH_N (default "1 4"), ROUNDS rounds (default 1).
#
# Per run it prints: wall seconds until every receiver has the file, MB/s per receiver, sender
# CPU seconds (user+system of the server process), bytes on the sender's link divided by the
# file size, and how many receivers verified (sha256). Files live on /dev/shm so the disk is
# not the limit. BENCH_TOOLS selects tools (default "lcsync").
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
bash scripts/deps.sh ip bridge tc nft sha256sum python3
size=${BENCH_SIZE_MB:-512}
ns_list=${BENCH_N:-"1 4"}
rounds=${ROUNDS:-1}
tools=${BENCH_TOOLS:-lcsync}
work=$(mktemp -d /dev/shm/lcsync-bench.XXXXXX)
bin=$work/lcsync
cleanup() {
	pkill -f "$work/" 2>/dev/null || true
	bash scripts/netns.sh down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$bin" ./cmd/lcsync
mkdir -p "$work/src"
head -c $((size << 20)) /dev/urandom >"$work/src/file.bin"
want=$(sha256sum <"$work/src/file.bin" | cut -d' ' -f1)
bytes=$((size << 20))

txbytes() { ip netns exec lc-s cat /sys/class/net/eth0/statistics/tx_bytes; }
cpu_of() { # user+system seconds of a pid (and its reaped children)
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}
now() { date +%s.%N; }

# lcsync N: serve the file from lc-s, fetch into lc-r1..N at once.
run_lcsync() {
	local n=$1 extra=${LCSYNC_SERVE_OPTS:-}
	# shellcheck disable=SC2086
	ip netns exec lc-s "$bin" -q $extra "$work/src" &
	local srv=$!
	sleep 1
	local srvpid
	srvpid=$(pgrep -f "^$bin -q" | head -1)
	local tx0 t0 ok=0
	tx0=$(txbytes)
	t0=$(now)
	local pids=()
	for i in $(seq 1 "$n"); do
		rm -rf "$work/r$i"
		ip netns exec "lc-r$i" "$bin" -q --stats --idle-timeout 30s src/file.bin "$work/r$i/" >"$work/r$i.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	local t1
	t1=$(now)
	local tx1 cpu
	tx1=$(txbytes)
	cpu=$(cpu_of "$srvpid")
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	for i in $(seq 1 "$n"); do
		[ "$(sha256sum <"$work/r$i/file.bin" 2>/dev/null | cut -d' ' -f1)" = "$want" ] && ok=$((ok + 1))
	done
	report lcsync "$n" "$t0" "$t1" "$cpu" $((tx1 - tx0)) "$ok"
	grep -h "kernel drops\|channels" "$work"/r*.log | sed "s/^/    /"
}

# idle: an MLD-mode server with nobody joined, measured over BENCH_IDLE_SECS (default 60)
# after indexing: CPU as a share of one core, resident memory, bytes on its link.
run_idle() {
	local secs=${BENCH_IDLE_SECS:-60}
	ip netns exec lc-s "$bin" "$work/src" >"$work/idle.log" 2>&1 &
	local srv=$!
	until grep -q msg=serving "$work/idle.log"; do sleep 0.2; done
	local pid c0 c1 tx0 tx1 rss
	pid=$(pgrep -f "^$bin $work/src" | head -1)
	sleep 2 # let start-up queries settle
	c0=$(cpu_of "$pid")
	tx0=$(txbytes)
	sleep "$secs"
	c1=$(cpu_of "$pid")
	tx1=$(txbytes)
	rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	echo
	echo "| idle server over ${secs}s | CPU % of a core | RSS MiB | bytes on its link |"
	echo "|---|---|---|---|"
	awk -v c0="$c0" -v c1="$c1" -v s="$secs" -v rss="$rss" -v tx=$((tx1 - tx0)) 'BEGIN {
		printf "| lcsync (MLD mode, %d MiB share) | %.3f | %.1f | %d |\n", '"$size"', (c1 - c0) / s * 100, rss / 1024, tx }'
}

report() { # tool n t0 t1 cpu txbytes ok
	awk -v tool="$1" -v n="$2" -v t0="$3" -v t1="$4" -v cpu="$5" -v tx="$6" -v ok="$7" -v size="$bytes" 'BEGIN {
		wall = t1 - t0
		printf "| %-8s | %2d | %7.2f | %8.1f | %7.2f | %6.3f | %d/%d |\n", tool, n, wall, size / wall / 1e6, cpu, tx / size, ok, n }'
}

echo "# lcsync network benchmark — $(date -u +%F), $(nproc) cores, $(uname -r), ${size} MiB"
if [ -n "${BENCH_IDLE:-1}" ] && [ "${BENCH_IDLE:-1}" != 0 ]; then
	bash scripts/netns.sh up 1 >/dev/null
	run_idle
	bash scripts/netns.sh down >/dev/null
fi
echo
echo "| tool | N | wall s | MB/s per receiver | sender CPU s | sender tx / size | verified |"
echo "|---|---|---|---|---|---|---|"
for n in $ns_list; do
	bash scripts/netns.sh up "$n" >/dev/null
	for _ in $(seq 1 "$rounds"); do
		for t in $tools; do "run_$t" "$n"; done
	done
	bash scripts/netns.sh down >/dev/null
done
