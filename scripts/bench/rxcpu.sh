#!/usr/bin/env bash
# rxcpu.sh: a receiver's CPU (user+system) for one 1-receiver fetch, against one core of raw
# BLAKE2s (x/crypto/blake2s over 16 KiB blocks, merkle's BenchmarkBlake2sRaw) over the same
# bytes: issue 17's "receiver CPU <= 0.7x raw" target, measured alone and quickly.
#
#   scripts/bench/rxcpu.sh [--cpuprofile FILE] [--bin BINARY]...
#
# Environment: RXCPU_SIZE_MB (512) the random file's size, ROUNDS (3) measured fetches,
# RXCPU_WARMUP (1) unmeasured fetches first (they touch the tmpfs memory the measured ones
# reuse). Builds the binary from the tree unless --bin is given; with several --bin, each
# round fetches with each of them in turn (the order rotated every round; the first serves),
# so that binaries are compared under the same load. Makes its own rig, three namespaces
# named rx<pid>-b (a bridge with MLD snooping and a querier, as scripts/netns.sh), rx<pid>-s
# and rx<pid>-r (never the lc-* rig), serves the file once from rx<pid>-s, fetches it ROUNDS
# times into rx<pid>-r (the copy is checked and deleted after each), measures raw BLAKE2s
# after each round (the machine may be shared: each round has its own ratio) and prints every
# round and the medians. With --cpuprofile, one more fetch (with the first binary, not
# counted) runs with the receiver profiled and FILE.txt gets `go tool pprof -top`. Everything
# it starts is stopped by PID and the rig and files deleted, on any exit. Root. `make
# bench-rxcpu` runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "rxcpu.sh: run as root (network namespaces)" >&2; exit 1; }
bash scripts/deps.sh ip bridge time sha256sum timeout

profile="" bins=()
while [ $# -gt 0 ]; do
	case $1 in
	--cpuprofile) profile=$(realpath -m "$2"); shift 2 ;;
	--bin) bins+=("$(realpath "$2")"); shift 2 ;;
	*) echo "usage: rxcpu.sh [--cpuprofile FILE] [--bin BINARY]..." >&2; exit 2 ;;
	esac
done
size_mb=${RXCPU_SIZE_MB:-512}
rounds=${ROUNDS:-3}
warmup=${RXCPU_WARMUP:-1}
tag=rx$$
work=$(mktemp -d /dev/shm/lcsync-rxcpu.XXXXXX)
pids=()

# scripts/bench/lib.sh's measurement helpers (raw_blake2s, cpu_run, time_cpu; its cleanup is
# not used: it takes down the lc-* rig).
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh

finish() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in "$tag-r" "$tag-s" "$tag-b"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$work"
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

node() { # node NS PORT ADDR6
	ip netns add "$1"
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$1" link set lo up
	ip -n "$1" link add eth0 mtu 1500 type veth peer name "$2" mtu 1500 netns "$tag-b"
	ip -n "$tag-b" link set "$2" master br0 up
	ip -n "$1" addr add "$3/64" dev eth0 nodad
	ip -n "$1" link set eth0 up
}

# The rig of scripts/netns.sh with one receiver: a bridge with MLD snooping and a querier.
ip netns add "$tag-b"
ip netns exec "$tag-b" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$tag-b" link set lo up
ip -n "$tag-b" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 1 mcast_mld_version 2 \
	mcast_query_interval 1250 mcast_query_response_interval 100 mcast_startup_query_interval 100 \
	mcast_startup_query_count 3
ip -n "$tag-b" link set br0 up
node "$tag-s" s fd00:6c63::1
ip -n "$tag-b" link set dev s type bridge_slave mcast_router 2
node "$tag-r" r1 fd00:6c63::101
ip -n "$tag-b" link set br0 type bridge mcast_querier 1

if [ ${#bins[@]} -eq 0 ]; then
	bins=("$work/lcsync")
	CGO_ENABLED=0 go build -trimpath -o "${bins[0]}" ./cmd/lcsync
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
	[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && rev="$rev+dirty"
else
	rev="${bins[*]}"
fi
bin=${bins[0]}
mkdir -p "$work/src"
head -c $((size_mb << 20)) /dev/urandom >"$work/src/file.bin"
payload=$((size_mb << 20))
want=$(sha256sum <"$work/src/file.bin" | cut -d' ' -f1)
sleep 1.5 # the bridge floods until its other-querier delay has passed

ip netns exec "$tag-s" "$bin" "$work/src" >"$work/s.log" 2>&1 &
pids+=($!)
server=$!
end=$((SECONDS + 120))
until grep -qs msg=serving "$work/s.log"; do
	kill -0 "$server" 2>/dev/null || { echo "rxcpu.sh: the server died:" >&2; cat "$work/s.log" >&2; exit 1; }
	[ $SECONDS -lt $end ] || { echo "rxcpu.sh: the server did not start" >&2; exit 1; }
	sleep 0.1
done

# fetch BINARY [OPTION...]: one fetch into $work/r, checked and deleted; sets wall and cpu.
fetch() {
	local b=$1
	shift
	mkdir -p "$work/r"
	local t0 t1 p
	t0=$(date +%s.%N)
	ip netns exec "$tag-r" /usr/bin/time -f '%U %S' -o "$work/r.time" timeout -k 5 300 \
		"$b" -q --stats --idle-timeout 30s "$@" src/file.bin "$work/r/" >"$work/r.log" 2>&1 &
	p=$!
	pids+=("$p")
	wait "$p" || { echo "rxcpu.sh: the fetch failed:" >&2; cat "$work/r.log" >&2; exit 1; }
	t1=$(date +%s.%N)
	[ "$(sha256sum <"$work/r/file.bin" | cut -d' ' -f1)" = "$want" ] || { echo "rxcpu.sh: the copy differs" >&2; exit 1; }
	rm -rf "$work/r"
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	cpu=$(time_cpu "$work/r.time")
}

# raw_secs: one core of raw BLAKE2s over the payload, in seconds (measured afresh each call).
go test -c -o "$work/merkle.test" ./merkle >/dev/null
raw_secs() {
	rm -f "$work/raw.mbs"
	awk -v b="$payload" -v mbs="$(raw_blake2s)" 'BEGIN { if (mbs > 0) printf "%.3f\n", b / (mbs * 1e6); else print 0 }'
}

echo "rxcpu: lcsync $rev, $size_mb MiB, 1 receiver, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$warmup"); do fetch "$bin"; done
nb=${#bins[@]}
declare -A ratios cpus
raws=()
for i in $(seq 1 "$rounds"); do
	for k in $(seq 0 $((nb - 1))); do
		j=$(((k + i - 1) % nb))
		fetch "${bins[$j]}"
		cpus[$j]+="$cpu "
		done_cpu[j]=$cpu done_wall[j]=$wall
		note[j]=$(grep -o 'kernel drops [0-9]*\|wasted [^,]*' "$work/r.log" | head -2 | tr '\n' ' ')
	done
	raw=$(raw_secs)
	raws+=("$raw")
	for j in $(seq 0 $((nb - 1))); do
		ratio=$(awk -v c="${done_cpu[$j]}" -v r="$raw" 'BEGIN { printf "%.2f", (r > 0 ? c / r : 0) }')
		ratios[$j]+="$ratio "
		printf 'round %d%s: wall %s s, receiver cpu %s s, raw blake2s %s s, ratio %sx  (%s)\n' "$i" \
			"$([ "$nb" -gt 1 ] && echo " ${bins[$j]}")" "${done_wall[$j]}" "${done_cpu[$j]}" "$raw" "$ratio" "${note[$j]}"
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for j in $(seq 0 $((nb - 1))); do
	read -ra r <<<"${ratios[$j]}"
	read -ra c <<<"${cpus[$j]}"
	mc=$(median "${c[@]}") mr=$(median "${raws[@]}")
	printf 'median%s: receiver cpu %s s, raw %s s, ratio %sx (min %s, max %s; median cpu / median raw %sx); load %s\n' \
		"$([ "$nb" -gt 1 ] && echo " ${bins[$j]}")" "$mc" "$mr" "$(median "${r[@]}")" \
		"$(printf '%s\n' "${r[@]}" | sort -g | head -1)" "$(printf '%s\n' "${r[@]}" | sort -g | tail -1)" \
		"$(awk -v c="$mc" -v r="$mr" 'BEGIN { printf "%.2f", (r > 0 ? c / r : 0) }')" "$(cut -d' ' -f1-3 /proc/loadavg)"
done

if [ -n "$profile" ]; then
	fetch "$bin" --cpuprofile "$work/rx.pprof"
	cp "$work/rx.pprof" "$profile"
	go tool pprof -top -nodecount 40 "$bin" "$profile" >"$profile.txt" 2>/dev/null || true
	echo "profile: $profile ($profile.txt)"
fi
