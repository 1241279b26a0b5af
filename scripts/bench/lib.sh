# shellcheck shell=bash disable=SC2154,SC2034  # sourced by scripts/bench.sh, which sets the globals
# lib.sh: shared helpers of scripts/bench.sh (sourced, not run): process bookkeeping and
# clean-up, the rig, measurements (link bytes, CPU, load), verification and result records.
# Expects: $work (scratch dir on /dev/shm), $results (TSV of runs), $run_timeout (seconds).

# Every background process the benchmark starts is recorded here and killed by cleanup.
bg_pids=()
old_rmem=""
old_wmem=""

# spawn CMD...: run CMD in the background and record its pid in $spawned.
spawn() {
	"$@" &
	spawned=$!
	bg_pids+=("$spawned")
}

# forget PID...: drop reaped processes from bg_pids (their ids may be reused by others).
forget() {
	local p q keep=()
	for q in "${bg_pids[@]}"; do
		for p in "$@"; do [ "$p" = "$q" ] && continue 2; done
		keep+=("$q")
	done
	bg_pids=("${keep[@]}")
}

# stop PID...: SIGTERM the given processes, wait for them (bounded), SIGKILL stragglers.
stop() {
	local p
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		local i
		for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	forget "$@"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ ${#bg_pids[@]} -gt 0 ] && stop "${bg_pids[@]}" >/dev/null 2>&1
	bash scripts/netns.sh down >/dev/null 2>&1 || true
	[ -n "$old_rmem" ] && sysctl -qw net.core.rmem_max="$old_rmem" net.core.wmem_max="$old_wmem" 2>/dev/null
	[ -n "${work:-}" ] && rm -rf "$work"
	exit "$rc"
}

# buffers_up: the tools ask for several MiB of socket buffer; these limits are host-wide
# (not per namespace), so they are raised for the run and restored by cleanup.
buffers_up() {
	old_rmem=$(sysctl -n net.core.rmem_max)
	old_wmem=$(sysctl -n net.core.wmem_max)
	sysctl -qw net.core.rmem_max=67108864 net.core.wmem_max=67108864
}

# rig N: a fresh rig with N receivers, no impairment.
rig() {
	bash scripts/netns.sh up "$1" >/dev/null
}

now() { date +%s.%N; }
txbytes() { ip netns exec lc-s cat /sys/class/net/eth0/statistics/tx_bytes; }

# cpu_of PID: user+system seconds of a live process, reaped children included.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# time_cpu FILE: user+system seconds written by GNU time -f '%U %S' -o FILE.
time_cpu() { awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { s = $1 + $2 } END { printf "%.2f", s }' "$1" 2>/dev/null || echo 0; }

# machine_idle: percent of CPU time idle over one second, across all cores.
machine_idle() {
	local a b
	a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		d = y[2] - x[2]; printf "%.0f", (d > 0 ? (y[1] - x[1]) * 100 / d : 0) }'
}

# load_note: "load 0.52 0.61 0.70, 97% idle" — for the before/after lines of each scenario.
load_note() { echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(machine_idle)% idle"; }

# file_sum PATH: sha256 of a file. tree_sum DIR: one sha256 over the names and contents of
# every regular file below DIR (so a tree compares like a file).
file_sum() { if [ -f "$1" ]; then sha256sum <"$1" | cut -d' ' -f1; else echo missing; fi; }
tree_sum() {
	[ -d "$1" ] || { echo missing; return; }
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}

# verified N PATTERN WANT: how many receivers' copies match. PATTERN has @ for the receiver
# number, e.g. "$work/r@/file.bin"; a path ending in / is compared as a tree.
verified() {
	local n=$1 pat=$2 want=$3 ok=0 i p got
	for i in $(seq 1 "$n"); do
		p=${pat//@/$i}
		if [ "${p%/}" != "$p" ]; then got=$(tree_sum "$p"); else got=$(file_sum "$p"); fi
		[ "$got" = "$want" ] && ok=$((ok + 1))
	done
	echo "$ok"
}

# fresh_dsts N: no logs or copies of an earlier run; empty receiver directories r1..rN, or, when $seed_file is set, each holding
# a copy of it as file.bin (the delta scenario's outdated copies).
fresh_dsts() {
	local i
	rm -rf "$work"/r[0-9]* "$work"/s.*
	for i in $(seq 1 "$1"); do
		rm -rf "$work/r$i"
		mkdir -p "$work/r$i"
		[ -n "${seed_file:-}" ] && cp "$seed_file" "$work/r$i/file.bin"
	done
	sync
}

# drop_copies: delete the receivers' copies of the run just measured (their logs stay for the
# report), so that the next run finds the same free memory: on a VM, tmpfs pages touched for
# the first time cost about twice as much, and a run after one that left its copies behind
# was measured at half speed.
drop_copies() {
	rm -rf "$work"/r[0-9]*/
}

# prefault_memory MIB: write MIB MiB to tmpfs once and delete it, so that every run (the first
# one too) fills memory the guest has touched before.
prefault_memory() {
	local f=$work/prefault.bin
	echo "bench: touching ${1} MiB of memory once, so every run starts from the same state" >&2
	head -c $(($1 << 20)) /dev/zero >"$f" 2>/dev/null || true
	rm -f "$f"
}

# raw_blake2s: MB/s of one core running x/crypto/blake2s over 16 KiB blocks (merkle's
# BenchmarkBlake2sRaw, 64 MiB a pass), measured once per benchmark run from CPU time rather than
# wall time, so that a loaded machine skews it less: user+system of 9 passes minus that of 1
# (which also pays the set-up). Empty if it failed.
raw_blake2s() {
	if [ ! -f "$work/raw.mbs" ]; then
		local c1 c9
		if go test -c -o "$work/merkle.test" ./merkle >/dev/null 2>&1; then
			c1=$(cpu_run "$work/merkle.test" -test.run '^$' -test.bench 'Blake2sRaw/bs=16KiB' -test.benchtime 1x)
			c9=$(cpu_run "$work/merkle.test" -test.run '^$' -test.bench 'Blake2sRaw/bs=16KiB' -test.benchtime 9x)
			awk -v a="$c1" -v b="$c9" 'BEGIN { if (b > a) printf "%.1f\n", 8 * 64 * 1048576 / (b - a) / 1e6 }' >"$work/raw.mbs"
		fi
		touch "$work/raw.mbs"
	fi
	cat "$work/raw.mbs"
}

# cpu_run CMD...: run CMD (output discarded) and print its user+system seconds.
cpu_run() {
	/usr/bin/time -f '%U %S' -o "$work/cpu_run.time" "$@" >/dev/null 2>&1 || true
	time_cpu "$work/cpu_run.time"
}

# record TOOL SETTING N ROUND WALL CPU TX OK NOTE: one run, appended to $results with the
# current section, payload bytes and extra columns.
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$3" "$1" "$2" "$4" "$5" "$6" "$7" \
		"$payload" "$8" "${9:-}" "${section_ideal:-}" >>"$results"
	awk -v t="$1" -v s="$2" -v n="$3" -v w="$5" -v c="$6" -v tx="$7" -v b="$payload" -v ok="$8" -v note="${9:-}" 'BEGIN {
		printf "  %-8s %-22s N=%-2d %8.2f s %8.1f MB/s  cpu %6.2f s  tx/size %6.3f  %d/%d %s\n",
			t, s, n, w, b / w / 1e6, c, tx / b, ok, n, note }' >&2
}

# fail_log NAME FILE...: keep the tail of failed runs' logs for the report.
fail_log() {
	local name=$1 f
	shift
	{
		echo "#### $section: $name"
		echo '```'
		for f in "$@"; do [ -s "$f" ] && { echo "== ${f##*/}"; tail -n 5 "$f"; }; done
		echo '```'
	} >>"$work/failures.md"
}
