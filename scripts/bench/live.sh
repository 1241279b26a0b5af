#!/usr/bin/env bash
# live.sh [--small]: the "live" benchmark of issue 16: lcsync --watch / --follow beside lsyncd
# (rsync over ssh to each target) and Syncthing, on the same rig in the same run (root; run on
# a quiet machine). `make bench-live` runs it; `BENCH_SCENARIOS=live scripts/bench.sh` runs it
# as a section of BENCHMARKS.md.
#
# Rig: a bridge namespace (MLD snooping, MLDv2 querier, as scripts/netns.sh), a server
# namespace and LIVE_N's largest number of follower namespaces, named lvPID-* (unique to the
# run); every process is started by this script, recorded by PID and stopped on exit, when the
# namespaces and the scratch directory on /dev/shm are removed too. For each N in LIVE_N and
# each tool in LIVE_TOOLS: a fresh copy of the share (LIVE_FILES files of 1-16 KiB in
# directories of 100, one LIVE_BIG_MIB MiB file), the tool started on the server and N
# followers, the first full copy awaited, then the workloads, in this order:
#
#   rewrite     a 4 KiB file rewritten every 2 s, LIVE_REWRITES times: p50/p99/max latency
#   block       4 KiB written in the middle of the big file: latency, bytes
#   untar       LIVE_UNTAR files of 1-8 KiB untarred into the share: latency from tar's exit
#   renamefile  the big file renamed: latency, bytes (the data need not move)
#   renamedir   the untarred directory renamed: latency, bytes
#   delete      that directory removed: latency, bytes
#   storm       LIVE_STORM (20000) small files made at once (over inotify's default queue of
#               16,384 events): latency from the last close until every follower has them
#   log         a line appended to a log every 100 ms for LIVE_LOG_SECS: replicas seen torn
#               (not a prefix of the log at a line end), latency after the last line
#   idle        LIVE_IDLE_SECS with no change: CPU of the server and followers, bytes
#   shrink      60% of the share's files deleted: how many followers applied it within
#               LIVE_SHRINK_WAIT (10) s (lcsync's guards should hold it: --allow-shrink and
#               --force-delete are not given; the peers have no such guard, but may also
#               just be slower than the wait)
# After each workload (idle and shrink aside) the followers are awaited until they hold the
# share again (LIVE_SETUP_TIMEOUT), so a tool still busy is not measured twice.
#
# Latency is change -> replica on one clock: scripts/bench/live.py writes (t0) and polls every
# follower's copy every 5 ms until its content (sha256) is the new one (t1); bytes are both
# directions of the server namespace's link (eth0 rx + tx) from t0 until 1 s after the last
# follower was done. Tools and their settings:
#   lcsync     lcsync --watch SRC (defaults: --settle 100ms) and lcsync --follow live/ DST
#   lsyncd     one default.rsyncssh sync per follower with delay = 0 (its shortest), rsync
#              -a over ssh to an sshd in the follower's namespace (moves done with ssh mv),
#              one ssh connection per follower kept open (ControlMaster, ControlPersist)
#   syncthing  a send-only folder on the server shared with N receive-only devices (star:
#              followers know only the server), fsWatcherDelayS = 1 (the shortest), static
#              tcp:// addresses, no discovery, relays, NAT, usage reports or GUI
#
# Needs: iproute2, python3, tar, and for the peers lsyncd, rsync, openssh-server,
# openssh-client and syncthing (installed with scripts/deps.sh if missing; Debian packages).
# Environment (defaults are the issue's sizes): LIVE_N ("1 4 8"), LIVE_TOOLS ("lcsync lsyncd
# syncthing"), LIVE_FILES (10000), LIVE_BIG_MIB (512), LIVE_UNTAR (1000), LIVE_REWRITES (100),
# LIVE_IDLE_SECS (60), LIVE_TIMEOUT (60 s a workload waits for the followers),
# LIVE_SETUP_TIMEOUT (900 s for the first copy), LIVE_OUT (BENCHMARKS.live.md, or
# BENCHMARKS.live.small.md with --small), BENCH_BIN (an lcsync binary instead of building
# ./cmd/lcsync), LIVE_SECTION=1 (write only the table and notes, for bench.sh).
# LIVE_STORM (20000), LIVE_LOG_SECS (60), LIVE_SHRINK_WAIT (10), LIVE_WORKLOADS (all, in the
# order above), LIVE_KEEP_LOGS (an existing directory the tools' logs are copied into, as
# logs-TOOL-N, after each run).
# --small (or LIVE_SMALL=1): 500 files, 16 MiB, 200 untarred, 5 rewrites, 10 s idle, 10 s of
# log, N = "1 4": about ten minutes, to check the rig; not figures to publish.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
--small) LIVE_SMALL=1 ;;
"") ;;
-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
*) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "live.sh: run as root (network namespaces)" >&2; exit 1; }

small=${LIVE_SMALL:-0}
[ "$small" = 0 ] && s="" || s=1
n_list=${LIVE_N:-${s:+1 4}}
n_list=${n_list:-1 4 8}
read -ra tools <<<"${LIVE_TOOLS:-lcsync lsyncd syncthing}"
files=${LIVE_FILES:-${s:+500}}
files=${files:-10000}
big_mib=${LIVE_BIG_MIB:-${s:+16}}
big_mib=${big_mib:-512}
untar=${LIVE_UNTAR:-${s:+200}}
untar=${untar:-1000}
rewrites=${LIVE_REWRITES:-${s:+5}}
rewrites=${rewrites:-100}
idle=${LIVE_IDLE_SECS:-${s:+10}}
idle=${idle:-60}
log_secs=${LIVE_LOG_SECS:-${s:+10}}
log_secs=${log_secs:-60}
storm=${LIVE_STORM:-20000}
shrink_wait=${LIVE_SHRINK_WAIT:-10}
wl_timeout=${LIVE_TIMEOUT:-60}
setup_timeout=${LIVE_SETUP_TIMEOUT:-900}
out=${LIVE_OUT:-$([ -n "$s" ] && echo BENCHMARKS.live.small.md || echo BENCHMARKS.live.md)}
for t in "${tools[@]}"; do
	case $t in lcsync | lsyncd | syncthing) ;;
	*) echo "live.sh: unknown tool $t (lcsync, lsyncd, syncthing)" >&2; exit 2 ;;
	esac
done
maxn=$(echo "$n_list" | tr ' ' '\n' | sort -n | tail -1)
case $maxn in '' | *[!0-9]* | 0) echo "live.sh: LIVE_N must list positive integers" >&2; exit 2 ;; esac

need=(ip bridge python3 tar)
for t in "${tools[@]}"; do
	case $t in
	lsyncd) need+=(lsyncd rsync sshd ssh ssh-keygen) ;;
	syncthing) need+=(syncthing) ;;
	esac
done
bash scripts/deps.sh "${need[@]}"

p=lv$$ # namespace prefix: lvPID-br, lvPID-s, lvPID-f1 ...
work=$(mktemp -d /dev/shm/lcsync-live.XXXXXX)
made_ns=()
bg_pids=()

# spawn CMD...: run CMD in the background, its pid recorded (in $spawned and for clean-up).
spawn() {
	"$@" &
	spawned=$!
	bg_pids+=("$spawned")
}

# stop PID...: SIGTERM, wait up to 5 s, SIGKILL.
stop() {
	local q i
	for q in "$@"; do kill "$q" 2>/dev/null || true; done
	for q in "$@"; do
		for i in $(seq 1 50); do kill -0 "$q" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$q" 2>/dev/null || true
		wait "$q" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$? ns
	trap - EXIT INT TERM
	[ ${#bg_pids[@]} -gt 0 ] && stop "${bg_pids[@]}" >/dev/null 2>&1
	# Children of what we started (an rsync, a syncthing child) live in our namespaces only.
	for ns in "${made_ns[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- rig ---------------------------------------------------------------------------------------

addr4() { if [ "$1" = s ]; then echo 10.98.0.1; else echo "10.98.0.$((100 + ${1#f}))"; fi; }

node() { # node NAME (s or fI): a namespace on the bridge, eth0 with IPv6 and IPv4 addresses
	local ns=$p-$1 six
	ip netns add "$ns"
	made_ns+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth0 mtu 1500 type veth peer name "$1" mtu 1500 netns "$p-br"
	ip -n "$p-br" link set "$1" master br0 up
	if [ "$1" = s ]; then six=fd00:6c64::1; else six=fd00:6c64::$((100 + ${1#f})); fi
	ip -n "$ns" addr add "$six/64" dev eth0 nodad
	ip -n "$ns" addr add "$(addr4 "$1")/24" dev eth0
	ip -n "$ns" link set eth0 up
}

rig_up() {
	local i
	ip netns add "$p-br"
	made_ns+=("$p-br")
	ip netns exec "$p-br" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$p-br" link set lo up
	ip -n "$p-br" link add br0 type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 1 mcast_mld_version 2 mcast_igmp_version 3 \
		mcast_query_interval 1250 mcast_query_response_interval 100 \
		mcast_startup_query_interval 100 mcast_startup_query_count 3
	ip -n "$p-br" link set br0 up
	node s
	ip -n "$p-br" link set dev s type bridge_slave mcast_router 2
	for i in $(seq 1 "$maxn"); do node "f$i"; done
	ip -n "$p-br" link set br0 type bridge mcast_querier 1
	sleep 1.5
}

# --- tools -------------------------------------------------------------------------------------
# start_TOOL N: start the server side and N followers; sets srv_pids and fol_pids.

start_lcsync() {
	local i
	spawn ip netns exec "$p-s" "$bin" --watch "$src" >"$logs/lcsync-server.log" 2>&1
	srv_pids=("$spawned")
	fol_pids=()
	for i in $(seq 1 "$1"); do
		spawn ip netns exec "$p-f$i" "$bin" --follow live/ "$work/r$i" >"$logs/lcsync-f$i.log" 2>&1
		fol_pids+=("$spawned")
	done
}

ssh_setup() {
	[ -f "$work/ssh/id" ] && return
	mkdir -p "$work/ssh" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host"
	ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/id"
	cp "$work/ssh/id.pub" "$work/ssh/authorized_keys"
	cat >"$work/ssh/sshd_config" <<-EOF
		HostKey $work/ssh/host
		AuthorizedKeysFile $work/ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile none
	EOF
}

start_lsyncd() {
	local i cfg=$work/lsyncd.lua ok
	ssh_setup
	fol_pids=()
	for i in $(seq 1 "$1"); do
		spawn ip netns exec "$p-f$i" /usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" -o "ListenAddress=$(addr4 "f$i")" \
			>"$logs/sshd-f$i.log" 2>&1
		fol_pids+=("$spawned")
	done
	for i in $(seq 1 "$1"); do
		ok=0
		for _ in $(seq 1 50); do
			ip netns exec "$p-s" ssh -i "$work/ssh/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
				-o LogLevel=ERROR -o BatchMode=yes "$(addr4 "f$i")" true 2>/dev/null && { ok=1; break; }
			sleep 0.1
		done
		[ "$ok" = 1 ] || { echo "live.sh: ssh to follower $i does not work; see $logs/sshd-f$i.log" >&2; return 1; }
	done
	{
		echo "settings { nodaemon = true, insist = true, logfile = \"$logs/lsyncd.log\", statusFile = \"$work/lsyncd.status\", statusInterval = 3600 }"
		for i in $(seq 1 "$1"); do
			cat <<-EOF
				sync {
					default.rsyncssh, source = "$src", host = "$(addr4 "f$i")", targetdir = "$work/r$i", delay = 0,
					rsync = { archive = true, compress = false, whole_file = false },
					ssh = { identityFile = "$work/ssh/id",
						options = { StrictHostKeyChecking = "no", UserKnownHostsFile = "/dev/null", LogLevel = "ERROR",
							ControlMaster = "auto", ControlPath = "$work/ssh/cm-%h", ControlPersist = "600" } },
				}
			EOF
		done
	} >"$cfg"
	spawn ip netns exec "$p-s" lsyncd "$cfg" >"$logs/lsyncd.out" 2>&1
	srv_pids=("$spawned")
}

# st_home NAME: a Syncthing home with its key and certificate; prints the device ID.
st_home() {
	local home=$work/st/$1
	rm -rf "$home"
	syncthing generate --home="$home" --no-default-folder --skip-port-probing 2>&1 |
		sed -n 's/.*Device ID: *\([A-Z0-9-]*\).*/\1/p'
}

# st_config HOME FOLDERTYPE PATH ADDR DEVICES...: config.xml; DEVICES are "ID ADDR" pairs.
st_config() {
	local home=$1 type=$2 path=$3 listen=$4 d
	shift 4
	{
		echo '<configuration version="36">'
		echo "  <folder id=\"live\" label=\"live\" path=\"$path\" type=\"$type\" rescanIntervalS=\"3600\" fsWatcherEnabled=\"true\" fsWatcherDelayS=\"1\" ignorePerms=\"false\" autoNormalize=\"true\">"
		for d in "$@"; do echo "    <device id=\"${d%% *}\"></device>"; done
		echo '  </folder>'
		for d in "$@"; do
			echo "  <device id=\"${d%% *}\" compression=\"metadata\"><address>tcp://${d#* }:22000</address></device>"
		done
		cat <<-EOF
			  <gui enabled="false"><address>127.0.0.1:8384</address></gui>
			  <options>
			    <listenAddress>tcp://$listen:22000</listenAddress>
			    <globalAnnounceEnabled>false</globalAnnounceEnabled>
			    <localAnnounceEnabled>false</localAnnounceEnabled>
			    <relaysEnabled>false</relaysEnabled>
			    <natEnabled>false</natEnabled>
			    <urAccepted>-1</urAccepted>
			    <startBrowser>false</startBrowser>
			    <crashReportingEnabled>false</crashReportingEnabled>
			    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
			    <setLowPriority>false</setLowPriority>
			  </options>
			</configuration>
		EOF
	} >"$home/config.xml"
}

start_syncthing() {
	local i sid fid fids=()
	mkdir -p "$src/.stfolder"
	sid=$(st_home s)
	for i in $(seq 1 "$1"); do
		fid=$(st_home "f$i")
		fids+=("$fid $(addr4 "f$i")")
		mkdir -p "$work/r$i/.stfolder"
		st_config "$work/st/f$i" receiveonly "$work/r$i" "$(addr4 "f$i")" "$fid $(addr4 "f$i")" "$sid $(addr4 s)"
	done
	st_config "$work/st/s" sendonly "$src" "$(addr4 s)" "$sid $(addr4 s)" "${fids[@]}"
	spawn env STNOUPGRADE=1 STNORESTART=1 ip netns exec "$p-s" syncthing serve --home="$work/st/s" --no-browser \
		--no-restart --logfile="$logs/syncthing-s.log" >"$logs/syncthing-s.out" 2>&1
	srv_pids=("$spawned")
	fol_pids=()
	for i in $(seq 1 "$1"); do
		spawn env STNOUPGRADE=1 STNORESTART=1 ip netns exec "$p-f$i" syncthing serve --home="$work/st/f$i" \
			--no-browser --no-restart --logfile="$logs/syncthing-f$i.log" >"$logs/syncthing-f$i.out" 2>&1
		fol_pids+=("$spawned")
	done
}

# --- run ---------------------------------------------------------------------------------------

if [ -n "${BENCH_BIN:-}" ]; then
	bin=$BENCH_BIN
else
	bin=$work/lcsync
	go build -trimpath -ldflags "-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" \
		-o "$bin" ./cmd/lcsync
fi
logs=$work/logs
mkdir -p "$logs"
results=$work/live.tsv
: >"$results"
echo "live: seeding $files files, a $big_mib MiB file and a $untar-file tarball in $work" >&2
python3 scripts/bench/live.py seed "$work" --files "$files" --big-mib "$big_mib" --untar "$untar"
rig_up
started=$(date -u '+%F %T UTC')
failures=""
src=$work/live
for n in $n_list; do
	for t in "${tools[@]}"; do
		echo "== live: $t, N = $n" >&2
		rm -rf "$src" "$work"/r[0-9]*
		cp -a "$work/seed" "$src"
		replicas=()
		for i in $(seq 1 "$n"); do mkdir -p "$work/r$i"; replicas+=("$work/r$i"); done
		sync
		srv_pids=() fol_pids=()
		t_start=$(date +%s.%N)
		if ! "start_$t" "$n"; then
			failures+="$t N=$n: did not start"$'\n'
			stop "${srv_pids[@]}" "${fol_pids[@]}"
			continue
		fi
		if ! took=$(python3 scripts/bench/live.py initial "$src" "$setup_timeout" --since "$t_start" "${replicas[@]}"); then
			echo "live: $t N=$n: the first copy did not complete within $setup_timeout s ($took)" >&2
			failures+="$t N=$n: first copy incomplete after $setup_timeout s ($took)"$'\n'
			stop "${srv_pids[@]}" "${fol_pids[@]}"
			continue
		fi
		echo "live: first copy done in $took s after the start" >&2
		sleep 2 # let the tool settle after the first copy
		for w in ${LIVE_WORKLOADS:-rewrite block untar renamefile renamedir delete storm log idle shrink}; do
			python3 scripts/bench/live.py run "$w" --src "$src" --work "$work" --link "$p-s" --tool "$t" --n "$n" \
				--out "$results" --rewrites "$rewrites" --idle "$idle" --timeout "$wl_timeout" \
				--storm "$storm" --log-secs "$log_secs" --shrink-wait "$shrink_wait" \
				--pids "$(IFS=,; echo "${srv_pids[*]}")" --follower-pids "$(IFS=,; echo "${fol_pids[*]}")" \
				"${replicas[@]}" || failures+="$t N=$n: workload $w failed"$'\n'
			# The next workload starts from followers that hold the share (a tool still busy
			# with the last one would be measured twice).
			case $w in idle | shrink) ;;
			*)
				if ! took=$(python3 scripts/bench/live.py initial "$src" "$setup_timeout" "${replicas[@]}"); then
					failures+="$t N=$n: the followers did not converge after $w within $setup_timeout s"$'\n'
				elif [ -n "$(echo "$took" | awk '$NF > 1')" ]; then
					echo "live: $t N=$n: the followers converged $took s after $w's measurement" >&2
				fi
				;;
			esac
			sleep 1
		done
		stop "${srv_pids[@]}" "${fol_pids[@]}"
		for ns in "$p-s" $(for i in $(seq 1 "$maxn"); do echo "$p-f$i"; done); do
			ip netns pids "$ns" | xargs -r kill -9 2>/dev/null || true # a straggling rsync or syncthing child
		done
		[ -n "${LIVE_KEEP_LOGS:-}" ] && cp -r "$logs" "$LIVE_KEEP_LOGS/logs-$t-$n"
	done
done

{
	if [ -z "${LIVE_SECTION:-}" ]; then
		echo "# lcsync live-sync benchmark${s:+ — SMALL RUN (for checking the rig; not representative)}"
		echo
		echo "Generated by \`scripts/bench/live.sh${s:+ --small}\` (\`make bench-live\`), started $started."
		echo
	fi
	echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
	echo "- $("$bin" --version 2>/dev/null | head -1); peers: lsyncd $(dpkg-query -W -f '${Version}' lsyncd 2>/dev/null), rsync $(dpkg-query -W -f '${Version}' rsync 2>/dev/null), openssh $(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null), syncthing $(dpkg-query -W -f '${Version}' syncthing 2>/dev/null)"
	echo "- share: $files files of 1-16 KiB in directories of 100, one $big_mib MiB file; $untar files untarred; $rewrites rewrites; a storm of $storm files; $log_secs s of log; idle $idle s; N = $n_list"
	echo "- rig: one bridge namespace (MLD snooping and querier), a server namespace and N follower namespaces, veth links, MTU 1500, files on /dev/shm"
	echo
	cat <<-'EOF'
		Columns: **done** = follower copies that reached the new content within the workload's
		timeout (rewrite: over all rewrites); **p50 / p99 / max ms** = change → replica latency over
		the followers (and rewrites), one clock; **server link bytes** = rx + tx of the server's
		link from the change until 1 s after the last follower was done (rewrite: per rewrite);
		lcsync sends multicast once for every follower, lsyncd runs one rsync over ssh per
		follower, Syncthing serves every device over its own TLS connection.
	EOF
	echo
	python3 scripts/bench/live.py report "$results"
	if [ -n "$failures" ]; then
		echo
		echo "Failures:"
		echo
		printf '%s' "$failures" | sed 's/^/- /'
	fi
	echo
	cat <<-'EOF'
		Notes: lsyncd's delay = 0 still batches events it sees together; its rsync compares the
		whole tree of a sync (a checksum pass over changed files both sides). Syncthing's watcher
		waits at least fsWatcherDelayS = 1 s (its least) before it scans; deletes wait longer
		(its watcher delays them). Renames: lcsync renames by content on the follower (no data),
		lsyncd runs `mv` over ssh, Syncthing reuses local blocks. The 100,000-file row of the
		issue's table (server memory) is scripts/bench/watch-rss.sh.
	EOF
} >"$work/live.md"
cp "$work/live.md" "$out"
cat "$out"
echo "live.sh: wrote $out" >&2
