#!/usr/bin/env bash
# memory.sh: how much memory a server and a receiver need, by file size (root; `make
# bench-memory` runs it). Issue 17's targets: a server's peak RSS after indexing a 16 GiB
# sparse file at most 48 MiB and flat up to 256 GiB; a receiver fetching a 16 GiB file at most
# 64 MiB.
#
# For each size in MEM_SIZES (default "1G 16G", may be empty; truncate's suffixes) it serves
# a sparse file of that size from a network namespace and reports the server's VmHWM (peak
# resident set, /proc/PID/status) once it says it is serving. A sparse file's subtrees are all alike and
# share their channels, so MEM_DISTINCT (default 16G; none to skip) is also served: a file of
# that size whose blocks all differ (each 16 KiB block starts with its number, the rest is a
# hole: a quarter of its size on disk), with a channel per node like real data. A receiver in
# a second namespace fetches it (MEM_FETCH=0 skips that), its VmHWM sampled every 20 ms, with
# MEM_FETCH_ARGS (default --fec 2); the server's VmHWM is reported again after the fetch.
# Files go to MEM_DIR (default /var/tmp/lcsync-memory: a disk, not tmpfs: the fetched copy is
# real bytes) and are deleted at the end; a fetch that would not fit is skipped. MEM_BIN uses
# that binary instead of building ./cmd/lcsync. Indexing reads zeros at about 0.1-0.2 GiB/s
# on a busy 2-core VM: 256G takes half an hour or more.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "memory.sh: run as root (network namespaces, raw MLD socket)" >&2; exit 1; }
bash scripts/deps.sh ip truncate python3

sizes=${MEM_SIZES-1G 16G}
distinct=${MEM_DISTINCT:-16G}
do_fetch=${MEM_FETCH:-1}
fetch_args=${MEM_FETCH_ARGS:---fec 2}
dir=${MEM_DIR:-/var/tmp/lcsync-memory}
bin=${MEM_BIN:-}
ns_s=lcmem-s-$$ ns_r=lcmem-r-$$
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns_s" 2>/dev/null || true
	ip netns del "$ns_r" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

if [ -z "$bin" ]; then
	bin=$(mktemp -d)/lcsync
	CGO_ENABLED=0 go build -o "$bin" ./cmd/lcsync
fi
mkdir -p "$dir/src" "$dir/dst"

# Two namespaces joined by a veth pair: the receiver's MLD reports reach the server directly.
ip netns add "$ns_s"
ip netns add "$ns_r"
ip -n "$ns_s" link set lo up
ip -n "$ns_r" link set lo up
ip -n "$ns_s" link add eth0 type veth peer name eth0 netns "$ns_r"
ip -n "$ns_s" addr add fd00:6d65::1/64 dev eth0 nodad
ip -n "$ns_r" addr add fd00:6d65::2/64 dev eth0 nodad
ip -n "$ns_s" link set eth0 up
ip -n "$ns_r" link set eth0 up

hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# serve FILE: start a server of FILE; sets spid, prints its peak RSS once it serves.
serve() {
	local log=$dir/serve.log start=$SECONDS
	ip netns exec "$ns_s" "$bin" --iface eth0 "$1" >"$log" 2>&1 &
	spid=$!
	pids+=("$spid")
	until grep -qs 'msg=serving' "$log"; do
		kill -0 "$spid" 2>/dev/null || { cat "$log" >&2; exit 1; }
		sleep 0.2
	done
	sleep 1
	printf '%-12s indexed in %4ds   server VmHWM %7s MiB\n' "$(basename "$1")" $((SECONDS - start)) "$(hwm "$spid")"
}

stop() { kill "$spid"; wait "$spid" 2>/dev/null || true; }

# fetch NAME BYTES: fetch NAME, report the receiver's and then the server's peak RSS.
fetch() {
	local avail
	avail=$(df -B1 --output=avail "$dir" | tail -1)
	if [ "$2" -gt $((avail - (1 << 30))) ]; then
		echo "fetch of $1 skipped: $2 bytes do not fit in $dir ($avail free)"
		return
	fi
	local start=$SECONDS peak=0 v
	# shellcheck disable=SC2086 # MEM_FETCH_ARGS is a list of options
	ip netns exec "$ns_r" "$bin" --iface eth0 -q --stats $fetch_args "$1" "$dir/dst/" >"$dir/fetch.log" 2>&1 &
	local fpid=$!
	pids+=("$fpid")
	while kill -0 "$fpid" 2>/dev/null; do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$fpid/status" 2>/dev/null || echo 0)
		[ "${v:-0}" -gt "$peak" ] && peak=$v
		sleep 0.02
	done
	local rc=0 how=fetched
	wait "$fpid" || rc=$?
	[ "$rc" = 0 ] || how="FAILED ($rc)"
	printf '%-12s %s in %4ds  receiver VmHWM %7s MiB, server VmHWM then %s MiB\n' "$1" "$how" \
		$((SECONDS - start)) "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" "$(hwm "$spid")"
	[ "$rc" = 0 ] || sed 's/^/    /' "$dir/fetch.log"
	rm -f "$dir/dst/"*
}

echo "lcsync memory by file size ($(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for sz in $sizes; do
	f=$dir/src/sparse$sz
	truncate -s "$sz" "$f"
	serve "$f"
	stop
	rm -f "$f"
done
if [ "$distinct" != none ]; then
	f=$dir/src/distinct$distinct
	truncate -s "$distinct" "$f"
	python3 - "$f" <<'PY'
import os, struct, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
n = os.fstat(fd).st_size // 16384
for i in range(n):
    os.pwrite(fd, struct.pack("<Q", i + 1), i * 16384)
os.close(fd)
PY
	serve "$f"
	[ "$do_fetch" = 0 ] || fetch "distinct$distinct" "$(stat -c %s "$f")"
	stop
	rm -f "$f"
fi
