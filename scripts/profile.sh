#!/usr/bin/env bash
# profile.sh: regenerate profiles/ — CPU profiles (--cpuprofile) of one PROFILE_SIZE_MB (512) MiB
# transfer to PROFILE_N (4) receivers on the namespace rig (scripts/netns.sh), default settings:
# profiles/n4-sender.pprof (indexing included), profiles/n4-receiver.pprof (receiver 1) and
# profiles/n4-top.txt (the top entries of both, with the run's figures). Root; run on a quiet
# machine. `make profiles` runs it. Every process it starts is stopped by PID on any exit, the rig
# is taken down and the file and copies are deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "profile.sh: run as root (network namespaces, raw MLD socket)" >&2; exit 1; }
bash scripts/deps.sh ip bridge nft sha256sum

n=${PROFILE_N:-4}
size_mb=${PROFILE_SIZE_MB:-512}
out=${PROFILE_OUT:-profiles}
work=$(mktemp -d /dev/shm/lcsync-profile.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	bash scripts/netns.sh down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/lcsync" ./cmd/lcsync
bash scripts/netns.sh down >/dev/null 2>&1 || true
bash scripts/netns.sh up "$n" >/dev/null
mkdir -p "$work/share" "$out"
head -c $((size_mb << 20)) /dev/urandom >"$work/share/file.bin"
want=$(sha256sum <"$work/share/file.bin" | cut -d' ' -f1)

ip netns exec lc-s "$work/lcsync" --cpuprofile "$work/sender.pprof" "$work/share" 2>"$work/s.log" &
pids+=($!)
server=$!
sleep 1
start=$(date +%s.%N)
rpids=()
for i in $(seq 1 "$n"); do
	mkdir -p "$work/r$i"
	prof=()
	[ "$i" = 1 ] && prof=(--cpuprofile "$work/receiver.pprof")
	ip netns exec "lc-r$i" timeout 300 "$work/lcsync" "${prof[@]}" --stats share/file.bin "$work/r$i/file.bin" \
		2>"$work/r$i.log" &
	rpids+=($!)
	pids+=($!)
done
for p in "${rpids[@]}"; do wait "$p" || { echo "profile.sh: a receiver failed:" >&2; cat "$work"/r*.log >&2; exit 1; }; done
wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
kill -INT "$server"
wait "$server" || true
for i in $(seq 1 "$n"); do
	[ "$(sha256sum <"$work/r$i/file.bin" | cut -d' ' -f1)" = "$want" ] || { echo "profile.sh: copy $i differs" >&2; exit 1; }
done

cp "$work/sender.pprof" "$out/n$n-sender.pprof"
cp "$work/receiver.pprof" "$out/n$n-receiver.pprof"
{
	echo "lcsync $(git rev-parse --short HEAD), $(go env GOVERSION), $(date -u '+%Y-%m-%d %H:%M UTC'):"
	echo "$size_mb MiB to $n receivers in $wall s (profiling on), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "== sender (indexing included)"
	go tool pprof -top -nodecount=25 "$work/lcsync" "$work/sender.pprof" 2>/dev/null
	echo
	echo "== receiver 1"
	go tool pprof -top -nodecount=25 "$work/lcsync" "$work/receiver.pprof" 2>/dev/null
} >"$out/n$n-top.txt"
echo "profile.sh: $size_mb MiB to $n receivers in $wall s; wrote $out/n$n-{sender,receiver}.pprof and $out/n$n-top.txt"
