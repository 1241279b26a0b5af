#!/usr/bin/env bash
# soak.sh (root): a long run of the real binary across network namespaces, under faults.
#   SOAK_MINUTES    length of the run (default 30)
#   SOAK_RECEIVERS  receiver namespaces (default 4)
#   SOAK_RESTART    mean seconds between server restarts (default 180, from half to 1.5 times that;
#                   SIGTERM and kill -9 alternate)
#   SOAK_MUTATE     mean seconds between changes to the served files (default 20)
#   SOAK_BIG_MIB    size of the big served file (default 8)
#
# Builds bin into a scratch directory, creates its own rig (namespaces named lcsk<PID>-*, a
# snooping bridge with an MLDv2 querier, as scripts/netns.sh does, but never its lc-* names) and
# serves a share (one big file, small files in nested directories) from the server namespace.
# Each receiver namespace loops: wait a random moment, fetch the share into its own DST, and
# either let it finish (60 %), SIGINT it (15 %) or kill -9 it (25 %) at a random moment within
# the time a full fetch takes; one fetch in five starts from an empty DST (a new receiver), and a
# signalled fetch always has the big file to transfer (missing, or an older version in DST). Every minute each
# receiver's downlink gets a new random loss of 1-5 % (nftables random drop on the bridge; the
# kernel may have no sch_netem). The server is restarted at random (SIGTERM or kill -9), and the
# served files change while receivers fetch them (new versions are renamed into place).
#
# Checked after every receiver exit:
#   - no torn file: every file in DST is byte for byte one version the source really had;
#   - a fetch that exits 0 holds every file, each a version that was current while it ran
#     (from 5 s before it started, the re-index lag, to its end);
#   - after a clean exit (0, or SIGINT's 130) no temporary file (.NAME.lcsync-*) that this run made
#     is left; temporaries left by an earlier kill -9 and not swept are counted and reported;
#   - exit status is 0 for a finished fetch and 130 for SIGINT; anything else is a failure.
# Every minute it prints the server's RSS (/proc) and goroutine count (go_goroutines from its
# --metrics endpoint on [::1] inside the server namespace) and the running totals. It fails if
# the server's RSS ever exceeds twice its first-minute value, or if goroutines keep growing
# (above twice the first-minute value plus 20, or rising at every sample of one server's life
# for at least 4 samples).
# Cleans up everything it made on exit (trap): only the PIDs it started and its own namespaces.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
[ "$(id -u)" -eq 0 ] || { echo "soak.sh: run as root (it creates network namespaces)" >&2; exit 1; }
bash scripts/deps.sh ip bridge nft sha256sum curl || exit 1

MINUTES=${SOAK_MINUTES:-30}
NREC=${SOAK_RECEIVERS:-4}
RESTART=${SOAK_RESTART:-180}
MUTATE=${SOAK_MUTATE:-20}
BIG_MIB=${SOAK_BIG_MIB:-8}
P=lcsk$$ # namespace prefix, unique to this run
MPORT=9142

work=$(mktemp -d /dev/shm/lcsync-soak.XXXXXX)
bin=$work/lcsync
src=$work/src/share
ev=$work/events # one line per event, appended by every worker
workers=()
spid=
cleanup() {
	local rc=$? p ns
	trap - EXIT INT TERM
	exec 2>/dev/null # no "Killed" job notices for what is stopped here
	for p in "${workers[@]}"; do kill "$p" 2>/dev/null; done
	# Whatever still runs in our own namespaces was started by this script.
	for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	{
		for p in "${workers[@]}"; do wait "$p"; done
		[ -n "$spid" ] && wait "$spid"
	} 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-" || true); do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
rnd() { echo $((RANDOM % ($2 - $1 + 1) + $1)); } # rnd LO HI: an integer in [LO, HI]
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

echo "== build"
CGO_ENABLED=0 go build -o "$bin" ./cmd/lcsync || exit 1
"$bin" --version

echo "== rig: $P-br (bridge), $P-s (server), $P-r1..$P-r$NREC"
node() { # node NS PORT ADDR6
	ip netns add "$1" &&
		ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding=0 &&
		ip -n "$1" link set lo up &&
		ip -n "$1" link add eth0 mtu 1500 type veth peer name "$2" mtu 1500 netns "$P-br" &&
		ip -n "$P-br" link set "$2" master br0 up &&
		ip -n "$1" addr add "$3/64" dev eth0 nodad &&
		ip -n "$1" link set eth0 up
}
ip netns add "$P-br" &&
	ip netns exec "$P-br" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 &&
	ip -n "$P-br" link set lo up &&
	ip -n "$P-br" link add br0 type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 1 mcast_mld_version 2 mcast_igmp_version 3 \
		mcast_query_interval 1250 mcast_query_response_interval 100 \
		mcast_startup_query_interval 100 mcast_startup_query_count 3 &&
	ip -n "$P-br" link set br0 up &&
	node "$P-s" s fd00:6c63::1 &&
	ip -n "$P-br" link set dev s type bridge_slave mcast_router 2 || exit 1
for i in $(seq 1 "$NREC"); do node "$P-r$i" "r$i" "fd00:6c63::$((100 + i))" || exit 1; done
ip -n "$P-br" link set br0 type bridge mcast_querier 1
ip netns exec "$P-br" nft add table bridge soak &&
	ip netns exec "$P-br" nft add chain bridge soak downlink '{ type filter hook forward priority 0; policy accept; }' || exit 1
loss_pct=()
set_loss() { # a new random 1-5 % (in steps of 0.5 %) for every receiver's downlink
	local i th rules=""
	for i in $(seq 1 "$NREC"); do
		th=$(rnd 2 10) # half percents
		loss_pct[i]=$(awk -v t="$th" 'BEGIN { printf "%.1f", t / 2 }')
		rules+="add rule bridge soak downlink oifname \"r$i\" numgen random mod 100000 < $((th * 500)) counter drop"$'\n'
	done
	printf 'flush chain bridge soak downlink\n%s' "$rules" | ip netns exec "$P-br" nft -f -
}
set_loss
sleep 1.5 # the bridge floods until its other-querier delay has passed

echo "== share: one ${BIG_MIB} MiB file and 40 small files in nested directories"
mkdir -p "$work/dst"
: >"$ev"
: >"$work/versions" # "ms sha256 REL" for every version a served file ever had, in order
# record REL FILE: add FILE, the next version of source file REL, to $work/versions, under
# the lock, before the new version becomes visible (rename), so a check never misses it.
record() { # record REL FILE-WITH-NEW-CONTENT
	local sum; sum=$(sha256sum <"$2" | cut -d' ' -f1)
	echo "$(now_ms) $sum $1" >>"$work/versions"
}
put() { # put REL: write a new version of REL (big.bin: change a few blocks; others: new content)
	local rel=$1 f=$src/$1 tmp
	tmp=$work/src/.new # outside the share, on the same file system: mv is a rename
	if [ "$rel" = big.bin ]; then
		cp "$f" "$tmp" && for _ in 1 2 3; do
			head -c 4096 /dev/urandom | dd of="$tmp" bs=4096 seek="$(rnd 0 $((BIG_MIB * 256 - 1)))" conv=notrunc status=none
		done
	else
		head -c "$(rnd 0 65536)" /dev/urandom >"$tmp"
	fi
	(
		flock 9
		record "$rel" "$tmp"
		mv -f "$tmp" "$f"
	) 9>"$work/lock"
}
mkdir -p "$src"
head -c $((BIG_MIB << 20)) /dev/urandom >"$src/big.bin.init" && mv "$src/big.bin.init" "$src/big.bin"
record big.bin "$src/big.bin"
cp "$src/big.bin" "$work/big.v0" # an old version, put back into DSTs before a signalled fetch
rels=(big.bin)
for i in $(seq 1 40); do
	rel=d$((i % 4))/s$((i % 3))/f$i.dat
	mkdir -p "$src/$(dirname "$rel")"
	rels+=("$rel")
	put "$rel"
done

# check NAME DST RC START_MS END_MS PRE_TMPS KIND: verify one receiver's DST after an exit
# (one sha256sum and one awk: cheap enough to run after every fetch on a loaded machine).
check() {
	local name=$1 dst=$2 rc=$3 t0=$4 t1=$5 pre=$6 kind=$7 f bad=0 stale=0 new=0 names=()
	# No torn file: every regular file is a version the source had. A finished fetch holds
	# every file, each a version current at some moment while it ran.
	(cd "$dst" && find . -type f ! -name '.*.lcsync-*' -print0 | xargs -0 -r sha256sum) >"$work/$name.sums"
	awk -v rc="$rc" -v t0=$((t0 - 5000)) -v t1="$t1" -v who="$name" -v kind="$kind" '
		FNR == NR { n[$3]++; at[$3, n[$3]] = $1; h[$3, n[$3]] = $2; known[$3, $2] = 1; next }
		{
			sum = $1; rel = substr($0, index($0, "./") + 2); seen[rel] = 1
			if (!((rel, sum) in known)) { print "FAIL " who " torn-or-foreign " rel " " sum " (" kind " rc=" rc ")"; bad = 1; next }
			if (rc != 0) next
			ok = 0
			for (i = 1; i <= n[rel]; i++) {
				upto = i < n[rel] ? at[rel, i + 1] : 1e18
				if (h[rel, i] == sum && at[rel, i] <= t1 && upto >= t0) ok = 1
			}
			if (!ok) { print "FAIL " who " stale " rel " (" kind " rc=0)"; bad = 1 }
		}
		END {
			if (rc == 0) for (r in n) if (!(r in seen)) { print "FAIL " who " missing " r " (" kind " rc=0)"; bad = 1 }
			exit bad
		}' "$work/versions" "$work/$name.sums" >>"$ev" || bad=1
	# Temporary files: none made by this run after a clean exit.
	while IFS= read -r -d '' f; do
		if grep -qxF "$f" <<<"$pre"; then stale=$((stale + 1)); else new=$((new + 1)) names+=("${f#"$dst"/}"); fi
	done < <(find "$dst" -name '.*.lcsync-*' -print0 2>/dev/null)
	if [ "$kind" != kill9 ] && [ $new -gt 0 ]; then
		echo "FAIL $name leftover-temp $new ($kind rc=$rc): ${names[*]:0:3}" >>"$ev"
		echo "FAIL $name leftover-temp $new ($kind rc=$rc): ${names[*]}" >"$work/fail-$name-tmp.log"
		cat "$work/$name.log" >>"$work/fail-$name-tmp.log"
		bad=1
	fi
	[ "$kind" != kill9 ] && [ $stale -gt 0 ] && echo "STALE $name $stale" >>"$ev"
	return $bad
}

# receiver I: fetch the share again and again until END, finishing, interrupted or killed.
receiver() {
	local i=$1 end=$2 name=r$1 dst=$work/dst/r$1 n=0 kind pid rc t0 t1 pre r fresh last=3000
	mkdir -p "$dst"
	trap '[ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; exit 0' TERM
	while [ "$(date +%s)" -lt "$end" ]; do
		msleep "$(rnd 100 3000)"
		n=$((n + 1))
		r=$(rnd 1 100)
		if [ "$r" -le 60 ]; then kind=finish; elif [ "$r" -le 85 ]; then kind=kill9; else kind=sigint; fi
		# A new receiver joins (empty DST) one time in five; a signalled fetch always has the
		# big file to fetch again (one time in three as an older version it replaces,
		# otherwise from nothing), so that the signal lands mid-transfer.
		fresh=0
		if [ "$(rnd 1 5)" -eq 1 ]; then
			find "$dst" -mindepth 1 -delete
			fresh=1
		elif [ "$kind" != finish ]; then
			if [ "$(rnd 1 3)" -eq 1 ]; then
				cp "$work/big.v0" "$dst/.soak-old" && mv -f "$dst/.soak-old" "$dst/big.bin"
			else
				rm -f "$dst/big.bin"
			fi
			fresh=1
		fi
		pre=$(find "$dst" -name '.*.lcsync-*' 2>/dev/null)
		t0=$(now_ms)
		ip netns exec "$P-$name" "$bin" -a --idle-timeout 30s --timeout 240s share/ "$dst/" >"$work/$name.log" 2>&1 &
		pid=$!
		if [ "$kind" != finish ]; then
			msleep "$(rnd 50 $((last > 600 ? last * 4 / 5 : 500)))" # within the last full fetch's time
			if [ "$kind" = kill9 ]; then kill -9 "$pid" 2>/dev/null; else kill -INT "$pid" 2>/dev/null; fi
		fi
		{ wait "$pid"; } 2>/dev/null # no "Killed" job notice
		rc=$?
		pid=
		t1=$(now_ms)
		[ "$kind" = finish ] && [ $rc -eq 0 ] && [ $fresh -eq 1 ] && last=$((t1 - t0))
		# A fetch may finish before the signal arrives: then it is a finished fetch.
		[ "$kind" = kill9 ] && [ $rc -ne 137 ] && kind=finish
		[ "$kind" = sigint ] && [ $rc -ne 130 ] && kind=finish
		case "$kind/$rc" in
		finish/0 | sigint/130 | kill9/137) ;;
		*)
			echo "FAIL $name exit-$rc ($kind, $(date -u -d "@$((t0 / 1000))" +%T)-$(date -u +%T)) $(tail -n 3 "$work/$name.log" | tr '\n' ' ')" >>"$ev"
			cp "$work/$name.log" "$work/fail-$name-$n.log"
			;;
		esac
		check "$name" "$dst" "$rc" "$t0" "$t1" "$pre" "$kind"
		echo "FETCH $name $kind $rc $((t1 - t0))" >>"$ev"
	done
}

restarts=0
server_kills=0
serve() {
	ip netns exec "$P-s" "$bin" --metrics "[::1]:$MPORT" "$src" >>"$work/server.log" 2>&1 &
	spid=$!
	echo "SERVER start $spid" >>"$ev"
}
stop_server() { # stop_server term|kill9
	if [ "$1" = kill9 ]; then
		kill -9 "$spid" 2>/dev/null
		{ wait "$spid"; } 2>/dev/null
		server_kills=$((server_kills + 1))
	else
		kill -TERM "$spid" 2>/dev/null
		local i
		for i in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$spid" 2>/dev/null && { echo "FAIL server ignored SIGTERM for 10 s" >>"$ev"; kill -9 "$spid"; }
		wait "$spid"
		local rc=$?
		case $rc in 0 | 130 | 143) ;; *) echo "FAIL server exit-$rc after SIGTERM" >>"$ev" ;; esac
	fi
	restarts=$((restarts + 1))
}
goroutines() {
	ip netns exec "$P-s" curl -s --max-time 5 "http://[::1]:$MPORT/metrics" | awk '$1 == "go_goroutines" { print $2 }'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$spid/status" 2>/dev/null; }

echo "== soak: $MINUTES min, $NREC receivers, loss 1-5 % per receiver (new every minute), server restart every ~${RESTART}s, a file changes every ~${MUTATE}s"
serve
sleep 1
start=$(date +%s)
end=$((start + MINUTES * 60))
for i in $(seq 1 "$NREC"); do
	receiver "$i" "$end" &
	workers+=($!)
done
next_restart=$((start + $(rnd $((RESTART / 2)) $((RESTART * 3 / 2)))))
next_mutate=$((start + $(rnd $((MUTATE / 2)) $((MUTATE * 3 / 2)))))
mutations=0
minute=0
rss0=
gor0=
inst_samples=() # goroutine samples of the current server
grow_fail=0
printf '%-4s %-8s %-9s %-10s %-6s %-7s %-7s %-6s %-6s %-8s %-8s %s\n' min server rss_MiB goroutines fetch finish sigint kill9 fails restarts mutates loss%
while :; do
	t=$(date +%s)
	if [ "$t" -ge $((start + (minute + 1) * 60)) ]; then
		minute=$((minute + 1))
		rss=$(rss_kib)
		gor=$(goroutines)
		rss=${rss:-0} gor=${gor:-0}
		[ -z "$rss0" ] && rss0=$rss gor0=$gor
		inst_samples+=("$gor")
		counts=$(awk '$1 == "FETCH" { n++; k[$3]++ } $1 == "FAIL" { f++ } END { printf "%d %d %d %d %d", n, k["finish"], k["sigint"], k["kill9"], f }' "$ev")
		read -r nf nfin nint nkill nfail <<<"$counts"
		printf '%-4s %-8s %-9s %-10s %-6s %-7s %-7s %-6s %-6s %-8s %-8s %s\n' "$minute" "$spid" \
			"$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$gor" "$nf" "$nfin" "$nint" "$nkill" "$nfail" \
			"$restarts" "$mutations" "${loss_pct[*]:1}"
		if [ "$rss" -gt $((rss0 * 2)) ]; then
			echo "FAIL server RSS ${rss} KiB > 2 x first-minute ${rss0} KiB" >>"$ev"
		fi
		if [ "$gor" -gt $((gor0 * 2 + 20)) ]; then
			echo "FAIL server goroutines $gor > 2 x first-minute $gor0 + 20" >>"$ev"
		fi
		if [ ${#inst_samples[@]} -ge 4 ]; then
			local_rise=1
			for j in $(seq 1 $((${#inst_samples[@]} - 1))); do
				[ "${inst_samples[j]}" -gt "${inst_samples[j - 1]}" ] || local_rise=0
			done
			[ $local_rise -eq 1 ] && [ $grow_fail -eq 0 ] && {
				echo "FAIL server goroutines rose at every sample: ${inst_samples[*]}" >>"$ev"
				grow_fail=1
			}
		fi
		[ "$t" -ge "$end" ] && break
		set_loss
	fi
	if [ "$t" -ge "$next_restart" ] && [ "$t" -lt $((end - 10)) ]; then
		if [ $((restarts % 2)) -eq 0 ]; then how=term; else how=kill9; fi
		say "server restart ($how)"
		stop_server "$how"
		serve
		inst_samples=()
		next_restart=$((t + $(rnd $((RESTART / 2)) $((RESTART * 3 / 2)))))
	fi
	if [ "$t" -ge "$next_mutate" ]; then
		put "${rels[$(rnd 0 $((${#rels[@]} - 1)))]}"
		mutations=$((mutations + 1))
		next_mutate=$((t + $(rnd $((MUTATE / 2)) $((MUTATE * 3 / 2)))))
	fi
	if ! kill -0 "$spid" 2>/dev/null; then
		wait "$spid"
		echo "FAIL server died by itself (exit $?)" >>"$ev"
		tail -n 5 "$work/server.log" >&2
		serve
		inst_samples=()
	fi
	sleep 1
done
say "waiting for the receivers' last fetches"
for p in "${workers[@]}"; do wait "$p"; done
workers=()

echo "== results"
awk '$1 == "FETCH" { n++; k[$3]++; if ($3 == "finish") { ms += $5 } }
	END { printf "fetches %d: finished %d (mean %.1f s), interrupted (SIGINT) %d, killed (kill -9) %d\n", n, k["finish"], k["finish"] ? ms / k["finish"] / 1000 : 0, k["sigint"], k["kill9"] }' "$ev"
echo "server: $restarts restarts ($server_kills by kill -9), $mutations source changes; first-minute RSS $(awk -v k="$rss0" 'BEGIN { printf "%.1f", k / 1024 }') MiB, goroutines $gor0"
stale=$(awk '$1 == "STALE" { n++ } END { print n + 0 }' "$ev")
left=$(find "$work/dst" -name '.*.lcsync-*' | wc -l)
[ "$stale" -gt 0 ] && echo "note: $stale clean exits found temporary files of an earlier kill -9 still in place (a receiver without a sweep, or one that spares temporaries younger than a few seconds); $left remain in the DSTs at the end (new-receiver resets remove the others)"
nfail=$(grep -c '^FAIL' "$ev")
if [ "$nfail" -gt 0 ]; then
	echo "== soak FAILED: $nfail failures"
	grep '^FAIL' "$ev" | sort | uniq -c | sort -rn | head -n 30
	for f in "$work"/fail-*.log; do [ -f "$f" ] && { echo "-- $f"; tail -n 5 "$f"; }; done | head -n 40
	exit 1
fi
echo "== soak passed"
