#!/usr/bin/env bash
# bench.sh [--quick]: lcsync side by side with uftp, udpcast and rsync on the namespace rig
# (root; run on a quiet machine). `make bench-net` runs it. Writes BENCHMARKS.md.
#
# Scenarios (BENCH_SCENARIOS, default all, in this order):
#   full        a random file (BENCH_SIZE_MB, default 512 MiB) to N = BENCH_N ("1 4 8 16") receivers
#   shaped      the sender's link shaped to BENCH_RATE (200mbit), N = BENCH_SHAPED_N (8)
#   delta       receivers hold the file with 1% of its 4 KiB pieces changed, N = BENCH_DELTA_N (4)
#   loss        BENCH_LOSS ("1 5") percent loss on every receiver downlink, N = BENCH_LOSS_N (4)
#   smallfiles  BENCH_SMALL_FILES (10000) files of 1-64 KiB in nested dirs, N = BENCH_SMALL_N (4)
#   index       lcsync --hex over the file vs one core of raw BLAKE2s; go test -bench ./merkle
#   idle        an MLD-mode server nobody listens to, over BENCH_IDLE_SECS (60) seconds
#   live        scripts/bench/live.sh: lcsync --watch/--follow beside lsyncd and Syncthing,
#               N = LIVE_N ("1 4 8") followers; its LIVE_* settings apply (see its header).
#               Not in the default list (it needs lsyncd, openssh and syncthing): ask for it.
#
# Every transfer is verified (sha256 of each receiver's copy). Each tool runs over a small grid
# of rate settings (LCSYNC_GRID, UFTP_GRID, UDPCAST_GRID, RSYNC_GRID: comma-separated; the
# shaped and delta scenarios have SHAPED_* and DELTA_* grids), ROUNDS (3) times; the report gives
# each row's median and the spread (min-max) of its rounds. Every tool gets the same conditions:
# the tool order rotates each round and each grid runs backwards every other round, every run's
# copies are deleted before the next, and memory for the largest run is touched once before the
# first (on a VM, memory touched for the first time is about twice as slow to fill).
# BENCH_TOOLS ("lcsync uftp udpcast rsync") selects tools. Every process
# runs under a timeout (BENCH_TIMEOUT seconds, default 120 + size in MiB / 2); processes,
# namespaces and files are cleaned up on any exit. BENCH_OUT sets the report path
# (BENCHMARKS.md at the repo root); BENCH_BIN uses that lcsync binary instead of building
# ./cmd/lcsync. --quick (or BENCH_QUICK=1): 32 MiB, N = 1 and 2, 1000 small files, 10 s idle,
# ROUNDS=1 unless set, report to BENCHMARKS.quick.md: for development.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
--quick) BENCH_QUICK=1 ;;
"") ;;
-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
*) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: run as root (network namespaces, raw MLD socket)" >&2; exit 1; }
bash scripts/deps.sh ip bridge tc nft ss sha256sum python3 time timeout tar \
	rsync uftp uftpd udp-sender udp-receiver iperf

quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] && q="" || q=1
size_mb=${BENCH_SIZE_MB:-${q:+32}}
size_mb=${size_mb:-512}
full_n=${BENCH_N:-${q:+1 2}}
full_n=${full_n:-1 4 8 16}
shaped_n=${BENCH_SHAPED_N:-${q:+2}}
shaped_n=${shaped_n:-8}
delta_n=${BENCH_DELTA_N:-${q:+2}}
delta_n=${delta_n:-4}
loss_n=${BENCH_LOSS_N:-${q:+2}}
loss_n=${loss_n:-4}
loss_pcts=${BENCH_LOSS:-1 5}
small_n=${BENCH_SMALL_N:-${q:+2}}
small_n=${small_n:-4}
small_files=${BENCH_SMALL_FILES:-${q:+1000}}
small_files=${small_files:-10000}
idle_secs=${BENCH_IDLE_SECS:-${q:+10}}
idle_secs=${idle_secs:-60}
rounds=${ROUNDS:-${q:+1}}
rounds=${rounds:-3}
case $rounds in '' | *[!0-9]* | 0) echo "bench.sh: ROUNDS must be a positive integer" >&2; exit 2 ;; esac
run_timeout=${BENCH_TIMEOUT:-$((120 + size_mb / 2))}
scenarios=${BENCH_SCENARIOS:-full shaped delta loss smallfiles index idle}
read -ra tools <<<"${BENCH_TOOLS:-lcsync uftp udpcast rsync}"
out=${BENCH_OUT:-$([ -n "$q" ] && echo BENCHMARKS.quick.md || echo BENCHMARKS.md)}

for s in $scenarios; do
	case $s in full | shaped | delta | loss | smallfiles | index | idle | live) ;;
	*) echo "bench.sh: unknown scenario $s" >&2; exit 2 ;;
	esac
done
for t in "${tools[@]}"; do
	case $t in lcsync | uftp | udpcast | rsync) ;;
	*) echo "bench.sh: unknown tool $t" >&2; exit 2 ;;
	esac
done
if ip netns list | grep -qE '^lc-(br|s|r[0-9]+)'; then
	echo "bench.sh: the lc-* rig is already up (another run?); 'bash scripts/netns.sh down' first" >&2
	exit 1
fi

. scripts/bench/lib.sh
. scripts/bench/tools.sh
. scripts/bench/scenarios.sh

work=$(mktemp -d /dev/shm/lcsync-bench.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$work/results.tsv
report=$work/report.md
bin=$work/lcsync
: >"$results"
: >"$report"
: >"$work/failures.md"
if [ -n "${BENCH_BIN:-}" ]; then
	cp "$BENCH_BIN" "$bin"
else
	go build -trimpath -ldflags "-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" \
		-o "$bin" ./cmd/lcsync
fi
buffers_up
# The most tmpfs a run fills: the payload and its old copy (delta), plus each receiver's copy
# (twice in delta: the outdated copy and the temporary file), plus slack.
most_n=$(echo "$full_n $shaped_n $((2 * delta_n)) $loss_n" | tr ' ' '\n' | sort -n | tail -1)
prefault_memory "$(awk -v mib=$(((most_n + 3) * size_mb)) -v avail="$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)" \
	'BEGIN { cap = int(avail / 1024 * 0.6); print (mib < cap ? mib : cap) }')"
raw_blake2s >/dev/null # one core of x/crypto/blake2s, the yardstick of the hashing figures

started=$(date -u '+%F %T UTC')
for s in $scenarios; do "scen_$s"; done

{
	echo "# lcsync benchmarks${q:+ — QUICK RUN (small sizes, for development; not representative)}"
	echo
	if [ -n "$q" ]; then how="\`scripts/bench.sh --quick\`"; else how="\`scripts/bench.sh\` (\`make bench-net\`)"; fi
	echo "Generated by $how, started $started."
	echo
	if [ -n "$q" ]; then
		echo "> Quick run: small payloads on a shared machine, so fixed start-up costs dominate and the"
		echo "> figures are noisy. It checks that every tool works on the rig; for real figures run"
		echo "> \`make bench-net\` (3 rounds) on a quiet machine."
		echo
	fi
	echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "- $("$bin" --version 2>/dev/null | head -1), $(go version | cut -d' ' -f3); peers: uftp $(dpkg-query -W -f '${Version}' uftp 2>/dev/null), udpcast $(dpkg-query -W -f '${Version}' udpcast 2>/dev/null), rsync $(dpkg-query -W -f '${Version}' rsync 2>/dev/null)"
	echo "- settings: file ${size_mb} MiB, ROUNDS=$rounds, timeout ${run_timeout} s a run, scenarios: $scenarios"
	echo "- rig: \`scripts/netns.sh\` (one sender lc-s and N receivers on a Linux bridge with MLD snooping and an MLDv2 querier, MTU 1500, veth links, files on /dev/shm); net.core.rmem_max/wmem_max raised to 64 MiB during the run"
	echo
	cat <<-'EOF'
		Columns: **wall s** from the start of the transfer until every receiver is done (session
		set-up included); **MB/s per receiver** = payload bytes / wall; **sender CPU s** = user+system
		of the sender process tree during the transfer (softirq work of the bridge and the receivers
		is not in it); **sender tx / size** = bytes on the sender's link (tx_bytes of lc-s eth0) over
		the payload size; **wall min–max** = the fastest and slowest of the row's rounds (the other
		columns are medians over the rounds); **verified** = receivers whose copy has the source's
		sha256 over all rounds; **lcsync/peer**
		= MB/s of the best lcsync row over the peer row's (above 1: lcsync is faster), in the delta
		scenario the ratio of sender bytes (below 1: lcsync sends less). Each tool runs over a small
		grid of rate settings; **pick** marks its best setting per N ("best", also in bold) and the
		other grid rows ("grid").
	EOF
	cat "$report"
	if [ -s "$work/failures.md" ]; then
		echo
		echo "## Failed runs (last log lines)"
		echo
		cat "$work/failures.md"
	fi
	echo
	cat <<-'EOF'
		## Notes

		- The rig runs the sender, the bridge and every receiver on the same cores, so it measures
		  CPU cost per packet more than link capacity: multicast wall times grow with N although the
		  sender's bytes do not. rsync (TCP with segmentation offload over veth) is cheap per byte
		  here and wins on wall time at small N; on a real network its sender bytes (N × size) are
		  what limit it. The fair multicast figure is the sender tx / size column.
		- lcsync and rsync serve from a daemon that is up before the transfer starts (lcsync has
		  indexed the share by then: its index CPU is in the note column); uftp's announce and
		  udpcast's rendezvous are inside the wall time, as they are part of every transfer.
		- udpcast is IPv4 only (the rig gives every node an IPv4 address for it); uftp and lcsync
		  use IPv6 multicast, rsync IPv6 TCP. udpcast's rendezvous costs about 2.5 s in every
		  transfer (the sender starts about 2 s after the last receiver connected and the receivers
		  end about 0.5 s after it), which dominates small payloads. Under loss, udp-receiver
		  sometimes aborts at once with "Receiver error" (a lost rendezvous packet); the sender then
		  drops it after `--retries-until-drop 20` and that copy counts as not verified.
		- The delta scenario's lcsync bytes include the parts of the merkle tree the receivers
		  fetch to find what changed (the `tree` figure of `lcsync --stats`).
		- lcsync's note column sums the receivers' `--stats`: channel rejoins (repair after loss)
		  and wasted bytes (duplicates and data nobody needed). Its receiver cpu is a receiver's
		  user+system time (mean over the receivers), and in brackets its ratio to the time one
		  core of x/crypto/blake2s takes to hash the payload, measured in the same run (below 1:
		  receiving, verifying and writing cost less than one plain hash pass).
		- Fair rounds: every tool runs under the same conditions. The tool order rotates each round
		  and each tool's grid runs backwards every other round; each run's copies are deleted
		  before the next run starts, and the memory of the largest run is touched once before the
		  first run. On this kind of VM, tmpfs memory touched for the first time costs about twice
		  as much to fill: a run following one that left 2 GiB of copies behind ran at half speed.
		- Each row is the median of its rounds (wall, CPU, bytes); the wall min–max column is the
		  spread of the rounds. Figures from a loaded machine are noisy: compare the load lines of
		  each scenario and the spreads before drawing conclusions.
	EOF
} >"$work/final.md"
cp "$work/final.md" "$out"
cat "$out"
echo "bench.sh: wrote $out" >&2
