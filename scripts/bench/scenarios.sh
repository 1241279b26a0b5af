# shellcheck shell=bash disable=SC2154,SC2034  # sourced by scripts/bench.sh, which sets the globals
# scenarios.sh: the benchmark scenarios (sourced by scripts/bench.sh). Each scen_NAME builds
# its payload and rig, runs every tool over its settings grid for ROUNDS rounds, tools in a
# different order each round, and appends its section of the report to $report.

# grid TOOL: the comma-separated settings of TOOL in the current scenario.
grid() {
	local v="grid_$1"
	echo "${!v:-default}"
}

# run_rounds N: every selected tool over its grid, $rounds times, in the same conditions: the
# tool order rotates each round (round r starts with tool r) and each tool's grid runs
# backwards every other round, so no tool or setting always follows the same one; every run's
# copies are deleted before the next run starts (drop_copies).
run_rounds() {
	local n=$1 r k t s order settings
	for r in $(seq 1 "$rounds"); do
		order=()
		for k in $(seq 0 $((${#tools[@]} - 1))); do
			order+=("${tools[$(((k + r - 1) % ${#tools[@]}))]}")
		done
		for t in "${order[@]}"; do
			IFS=, read -ra settings <<<"$(grid "$t")"
			[ $((r % 2)) = 0 ] && IFS=, read -ra settings <<<"$(grid "$t" | tr , '\n' | tac | paste -sd,)"
			for s in "${settings[@]}"; do
				"run_$t" "$s" "$n" "$r"
				drop_copies
			done
		done
	done
}

# default_grids: the rate settings of the unshaped scenarios (env overrides).
default_grids() {
	grid_lcsync=${LCSYNC_GRID:-"default,--bwlimit 1G,--bwlimit 2G,--bwlimit 3G"}
	grid_uftp=${UFTP_GRID:-"400000,800000,-1"}
	grid_udpcast=${UDPCAST_GRID:-"400m,600m,800m"}
	grid_rsync=${RSYNC_GRID:-default}
}

# begin_section NAME TITLE TEXT: start a report section and note the machine's load.
begin_section() {
	section=$1
	section_ideal=""
	echo "== $2" >&2
	{
		echo
		echo "## $2"
		echo
		echo "$3"
		echo
		echo "Before: $(load_note)."
	} >>"$report"
}

end_section() {
	{
		echo "After: $(load_note)."
		echo
		python3 scripts/bench/report.py "$results" "$section"
	} >>"$report"
}

# make_file: the random payload file, once per benchmark.
make_file() {
	srcdir=$work/data/src kind=file
	if [ ! -f "$srcdir/file.bin" ]; then
		mkdir -p "$srcdir"
		head -c $((size_mb << 20)) /dev/urandom >"$srcdir/file.bin"
		file_want=$(file_sum "$srcdir/file.bin")
	fi
	want=$file_want payload=$((size_mb << 20))
}

scen_full() {
	make_file
	default_grids
	# "signed": the share signed (--sign) and fetched with --trust, against "default".
	grid_lcsync=${LCSYNC_GRID:-"default,signed,--bwlimit 1G,--bwlimit 2G,--bwlimit 3G"}
	begin_section full "full: ${size_mb} MiB to N receivers" \
		"One random ${size_mb} MiB file, empty receivers, MTU 1500, no impairment; N = ${full_n// /, }. The lcsync \`signed\` row serves with \`--sign\` and fetches with \`--trust\` (otherwise as \`default\`)."
	local n
	for n in $full_n; do
		rig "$n"
		run_rounds "$n"
	done
	end_section
}

scen_shaped() {
	make_file
	local rate=${BENCH_RATE:-200mbit} bps
	bps=$(awk -v r="$rate" 'BEGIN { v = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
		m = u ~ /^g/ ? 1e9 : u ~ /^m/ ? 1e6 : u ~ /^k/ ? 1e3 : 1; print v * m }')
	grid_lcsync=${SHAPED_LCSYNC_GRID:-"default,--bwlimit 190M,--bwlimit 150M"}
	grid_uftp=${SHAPED_UFTP_GRID:-"150000,190000,-1"}
	grid_udpcast=${SHAPED_UDPCAST_GRID:-"150m,190m,400m"}
	grid_rsync=${RSYNC_GRID:-default}
	begin_section shaped "shaped: sender link at $rate, N=$shaped_n" \
		"The sender's uplink is shaped with tbf to $rate (\`netns.sh rate $rate\`); the same ${size_mb} MiB file to $shaped_n receivers. \"wall/ideal\" is the wall time over size×8/rate, the time the link alone needs (1.00 is perfect)."
	section_ideal=$bps
	rig "$shaped_n"
	bash scripts/netns.sh rate "$rate"
	run_rounds "$shaped_n"
	bash scripts/netns.sh clear
	end_section
}

scen_delta() {
	make_file
	local old=$work/data/old.bin
	# The outdated copy every receiver holds: 1% of the 4 KiB pieces, at random positions,
	# overwritten with random bytes.
	python3 - "$srcdir/file.bin" "$old" <<-'PY'
		import os, random, shutil, sys
		src, old = sys.argv[1], sys.argv[2]
		shutil.copyfile(src, old)
		pieces = os.path.getsize(src) // 4096
		with open(old, "r+b") as f:
		    for p in random.Random(1).sample(range(pieces), max(1, pieces // 100)):
		        f.seek(p * 4096)
		        f.write(os.urandom(4096))
	PY
	grid_lcsync=${DELTA_LCSYNC_GRID:-"--blocksz 4096,default"}
	grid_uftp=${DELTA_UFTP_GRID:-800000}
	grid_udpcast=${DELTA_UDPCAST_GRID:-600m}
	grid_rsync=${DELTA_RSYNC_GRID:-"default,--block-size=4096"}
	begin_section delta "delta: 1% of 4 KiB pieces changed, N=$delta_n" \
		"Every receiver already holds the same outdated copy of the ${size_mb} MiB file: 1% of its 4 KiB pieces (random positions) overwritten with random bytes, so about 1% of the file must travel. lcsync serves with \`--blocksz 4096\` and with its default 16 KiB blocks; rsync pulls with \`-a -I\` (all receivers in parallel) with its default block size and with \`--block-size=4096\`; uftp and udpcast have no delta and send the whole file (they are here for the bytes column). Here the lcsync/peer column is the ratio of bytes on the sender's link (below 1: lcsync sends less)."
	seed_file=$old
	rig "$delta_n"
	run_rounds "$delta_n"
	seed_file=""
	rm -f "$old"
	end_section
}

scen_loss() {
	make_file
	default_grids
	local pct
	for pct in $loss_pcts; do
		begin_section "loss $pct%" "loss: $pct% on every receiver downlink, N=$loss_n" \
			"Each receiver loses its own random $pct% of the packets the bridge forwards to it (\`netns.sh loss $pct\`, an nftables rule); the same ${size_mb} MiB file to $loss_n receivers."
		rig "$loss_n"
		bash scripts/netns.sh loss "$pct"
		run_rounds "$loss_n"
		bash scripts/netns.sh clear
		end_section
	done
}

scen_smallfiles() {
	srcdir=$work/tree/src kind=tree
	rm -rf "$work/tree"
	mkdir -p "$srcdir"
	# small_files files of 1..64 KiB (random sizes and bytes), 100 to a directory, in a
	# tree two directory levels deep.
	python3 - "$srcdir" "$small_files" <<-'PY'
		import os, random, sys
		root, count = sys.argv[1], int(sys.argv[2])
		rng = random.Random(2)
		for i in range(count):
		    d = os.path.join(root, "d%02d" % (i // 1000), "e%02d" % (i // 100 % 10))
		    os.makedirs(d, exist_ok=True)
		    with open(os.path.join(d, "f%05d.dat" % i), "wb") as f:
		        f.write(rng.randbytes(rng.randint(1, 64) * 1024))
	PY
	want=$(tree_sum "$srcdir")
	payload=$(du -sb --apparent-size "$srcdir" | cut -f1)
	default_grids
	begin_section smallfiles "smallfiles: $small_files files of 1–64 KiB, N=$small_n" \
		"A tree of $small_files files (random sizes of 1–64 KiB, $((payload >> 20)) MiB in all, 100 files to a directory, two levels of directories) to $small_n receivers. lcsync fetches \`src/\`; uftp sends the directory; udpcast streams \`tar c\` through \`udp-sender --pipe\` into \`tar x\` on each receiver (tar time included); rsync pulls with \`-a\`. MB/s counts file bytes."
	rig "$small_n"
	run_rounds "$small_n"
	end_section
	rm -rf "$work/tree"
}

# scen_index: tree building (lcsync --hex over the payload file) against one core of raw
# BLAKE2s over the same bytes, plus the merkle package's own benchmark.
scen_index() {
	make_file
	section=index
	echo "== index" >&2
	local raw hex
	raw=$(raw_blake2s)
	{
		echo
		echo "## index: building the merkle tree"
		echo
		echo "\`lcsync --hex\` over the ${size_mb} MiB file (default 16 KiB blocks, all cores; file on tmpfs), against one core running raw BLAKE2s over the same bytes (\`BenchmarkBlake2sRaw/bs=16KiB\`, from its CPU time: ${raw:-?} MB/s). x-vs-raw above 1 means the tree is built faster than one core can hash its bytes."
		echo
		echo "Before: $(load_note)."
		echo
		echo "| what | wall s | CPU s | MB/s | x-vs-raw |"
		echo "|---|---|---|---|---|"
	} >>"$report"
	local r out walls=()
	for r in $(seq 1 "$rounds"); do
		out=$(python3 scripts/iostat.py "$bin" --hex "$srcdir/file.bin" 2>&1 >/dev/null | tail -1)
		awk -v o="$out" -v b="$payload" -v raw="${raw:-0}" 'BEGIN {
			n = split(o, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
			w = v["wall"]; printf "| lcsync --hex (round '"$r"') | %.2f | %.2f | %.0f | %s |\n", w, v["cpu"], b / w / 1e6,
				(raw > 0 ? sprintf("%.2f", (b / (raw * 1e6)) / w) : "?") }' >>"$report"
		walls+=("$(awk -v o="$out" 'BEGIN { n = split(o, f, " "); for (i = 1; i <= n; i++) if (f[i] ~ /^wall=/) print substr(f[i], 6) }')")
	done
	if [ "$rounds" -gt 1 ]; then
		printf '%s\n' "${walls[@]}" | sort -g | awk -v b="$payload" -v raw="${raw:-0}" '{ w[NR] = $1 } END {
			m = NR % 2 ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
			printf "| **lcsync --hex, median of %d rounds** (wall %.2f–%.2f) | %.2f | | %.0f | %s |\n", NR, w[1], w[NR], m, b / m / 1e6,
				(raw > 0 ? sprintf("%.2f", (b / (raw * 1e6)) / m) : "?") }' >>"$report"
	fi
	awk -v b="$payload" -v raw="${raw:-0}" 'BEGIN { if (raw > 0) printf "| raw BLAKE2s, one core (computed) | %.2f | %.2f | %.0f | 1.00 |\n", b / raw / 1e6, b / raw / 1e6, raw }' >>"$report"
	{
		echo
		echo "\`go test -run '^\$' -bench 'Build|Raw' -benchtime 5x ./merkle\` (64 MiB in memory):"
		echo
		echo '```'
		go test -run '^$' -bench 'Build|Raw' -benchtime 5x -count 1 -timeout 10m ./merkle | grep -E '^Benchmark' || true
		echo '```'
		echo
		echo "After: $(load_note)."
	} >>"$report"
}

# scen_idle: an MLD-mode server with nobody joined, over idle_secs after indexing: CPU as a
# share of one core, resident memory, bytes on its link.
scen_idle() {
	make_file
	section=idle
	echo "== idle" >&2
	rig 1
	local before
	before=$(load_note)
	spawn ip netns exec lc-s "$bin" "$srcdir" >"$work/idle.log" 2>&1
	local srv=$spawned c0 c1 tx0 tx1 rss
	if ! wait_for "$work/idle.log" msg=serving "$srv"; then
		stop "$srv"
		echo "idle: the server did not start" >&2
		return
	fi
	sleep 2 # let start-up queries settle
	c0=$(cpu_of "$srv") tx0=$(txbytes)
	sleep "$idle_secs"
	c1=$(cpu_of "$srv") tx1=$(txbytes)
	rss=$(awk '/VmRSS/ { print $2 }' "/proc/$srv/status")
	stop "$srv"
	{
		echo
		echo "## idle: a server nobody listens to"
		echo
		echo "An MLD-mode server (\`lcsync DIR\`, DIR holding one ${size_mb} MiB file) with no receiver joined, measured over ${idle_secs} s after indexing. It should send nothing but stay ready."
		echo
		echo "Before: $before. After: $(load_note)."
		echo
		echo "| idle server over ${idle_secs}s | CPU % of a core | RSS MiB | bytes on its link |"
		echo "|---|---|---|---|"
		awk -v c0="$c0" -v c1="$c1" -v s="$idle_secs" -v rss="$rss" -v tx=$((tx1 - tx0)) -v size="$size_mb" 'BEGIN {
			printf "| lcsync (MLD mode, %d MiB share) | %.3f | %.1f | %d |\n", size, (c1 - c0) / s * 100, rss / 1024, tx }'
	} >>"$report"
}

# scen_live: the live-sync benchmark (scripts/bench/live.sh, its own rig with namespaces named
# after its pid), with this run's binary; --quick runs its --small sizes.
scen_live() {
	begin_section live "Live sync: lcsync --watch/--follow, lsyncd, Syncthing" \
		"Change → replica latency and bytes on the server's link, N followers (scripts/bench/live.sh)."
	if LIVE_SECTION=1 LIVE_OUT="$work/live.md" BENCH_BIN="$bin" LIVE_SMALL="${q:-0}" bash scripts/bench/live.sh >/dev/null; then
		cat "$work/live.md" >>"$report"
	else
		echo "live.sh failed (exit $?); run \`scripts/bench/live.sh\` by itself to see why." >>"$report"
	fi
	{
		echo
		echo "After: $(load_note)."
	} >>"$report"
}
