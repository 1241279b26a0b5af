# shellcheck shell=bash disable=SC2154,SC2034  # sourced by scripts/bench.sh, which sets the globals
# tools.sh: one function per tool (sourced by scripts/bench.sh): run_TOOL SETTING N ROUND
# moves the current payload from lc-s to lc-r1..lc-rN once and records the run.
#
# The payload is $srcdir, a directory named src: in the file scenarios it holds file.bin,
# in smallfiles a tree ($kind is "file" or "tree"); $want is its checksum (see lib.sh).
# Wall time runs from the moment the transfer is started (first fetch, uftp, udp-sender or
# first rsync pull) until every receiver and the sender are done. lcsync and rsync serve from
# a daemon started (and, for lcsync, indexed) before that moment, as they are used; the
# lcsync index time is recorded in the note column. Every process runs under `timeout`.

srv_addr=fd00:6c63::1

rcv_addr() { echo "fd00:6c63::$((100 + $1))"; }

# wait_for FILE PATTERN PID: until PATTERN shows in FILE (0), PID dies or $run_timeout (1).
wait_for() {
	local end=$((SECONDS + run_timeout))
	until grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# wait_all PID...: wait for each; $waited is the worst exit status (124 is timeout's).
# (Not through $(...): a subshell cannot wait for this shell's children.)
wait_all() {
	local p rc
	waited=0
	for p in "$@"; do
		rc=0
		wait "$p" || rc=$?
		[ "$rc" -gt "$waited" ] && waited=$rc
	done
	forget "$@"
}

# verify_pattern TOOL: where receiver @ ends up with the payload.
verify_pattern() {
	case "$kind:$1" in
	file:*) echo "$work/r@/file.bin" ;;
	tree:lcsync | tree:rsync) echo "$work/r@/" ;;
	tree:*) echo "$work/r@/src/" ;;
	esac
}

# watchdog SENDER RECEIVER...: a last resort against a hung udp-sender. Once every receiver
# has exited and the sender is still there 5 s later, stop the sender: SENDER is the
# /usr/bin/time wrapper, its child is `timeout`, which leads the process group of udp-sender.
# (--retries-until-drop already makes udp-sender drop a receiver that died.) Background only.
watchdog() {
	local s=$1 p live g
	shift
	while [ -d "/proc/$s" ]; do
		live=0
		for p in "$@"; do
			[ -d "/proc/$p" ] && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ] && live=1
		done
		if [ "$live" = 0 ]; then
			sleep 5
			g=$(pgrep -P "$s" || true)
			[ -n "$g" ] || return 0
			echo "bench: udp-sender still running 5 s after every receiver ended; stopping it" >&2
			kill -TERM -- "-$g" 2>/dev/null || true
			sleep 2
			kill -KILL -- "-$g" 2>/dev/null || true
			return 0
		fi
		sleep 0.5
	done
}

# lcsync_note: the receivers' repair effort from their --stats lines: rejoins and wasted
# (duplicate or useless) bytes, summed over receivers.
lcsync_note() {
	cat "$work"/r[0-9]*.log 2>/dev/null | awk '
		function bytes(v, u) { return v * (u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1) }
		/wasted/ { for (i = 1; i < NF; i++) if ($i == "wasted") { w += bytes($(i + 1), substr($(i + 2), 1, 3)) } }
		/rejoined/ { for (i = 1; i < NF; i++) if ($i == "rejoined") { r += $(i + 1) + 0 } }
		END { printf "rejoins %d, wasted %.1f MiB", r, w / 1048576 }'
}

# receiver_cpu N: "receiver cpu 1.23 s (0.65x raw), ": the mean user+system time of the N
# receivers (from their /usr/bin/time files) and its ratio to one core of raw BLAKE2s over the
# payload (raw_blake2s).
receiver_cpu() {
	local i sum=0 raw
	for i in $(seq 1 "$1"); do sum=$(awk -v s="$sum" -v c="$(time_cpu "$work/r$i.time")" 'BEGIN { print s + c }'); done
	raw=$(raw_blake2s)
	awk -v s="$sum" -v n="$1" -v b="$payload" -v raw="${raw:-0}" 'BEGIN { c = s / n
		printf "receiver cpu %.2f s%s, ", c, (raw > 0 ? sprintf(" (%.2fx raw)", c / (b / (raw * 1e6))) : "") }'
}

note_rc() { [ "$2" -ne 0 ] && echo "$1 exit $2"; true; }

# run_lcsync SET N ROUND: one lcsync transfer. SET is "default", server options, or "signed":
# the share signed with a key made for the benchmark and every receiver fetching with --trust.
run_lcsync() {
	local set=$1 n=$2 round=$3 opts=() ropts=() i
	if [ "$set" = signed ]; then
		[ -f "$work/bench.key" ] || "$bin" --keygen "$work/bench.key" >"$work/bench.pub" 2>/dev/null
		opts=(--sign "$work/bench.key" --state "$work/state-s")
		ropts=(--trust "$(cat "$work/bench.pub")")
	elif [ "$set" != default ]; then
		read -ra opts <<<"$set"
	fi
	fresh_dsts "$n"
	spawn ip netns exec lc-s "$bin" "${opts[@]}" "$srcdir" >"$work/s.log" 2>&1
	local srv=$spawned
	if ! wait_for "$work/s.log" msg=serving "$srv"; then
		stop "$srv"
		record lcsync "$set" "$n" "$round" 0 0 0 0 "server did not start"
		fail_log "lcsync $set N=$n" "$work/s.log"
		return
	fi
	local idx cpu0 tx0 t0 name=src/file.bin pids=()
	[ "$kind" = tree ] && name=src/
	idx=$(cpu_of "$srv")
	cpu0=$idx tx0=$(txbytes) t0=$(now)
	for i in $(seq 1 "$n"); do
		spawn ip netns exec "lc-r$i" /usr/bin/time -f '%U %S' -o "$work/r$i.time" \
			timeout -k 5 "$run_timeout" "$bin" -q --stats --idle-timeout 30s \
			"${ropts[@]}" ${ropts[0]:+--state "$work/state-r$i"} "$name" "$work/r$i/" >"$work/r$i.log" 2>&1
		pids+=("$spawned")
	done
	local rc t1 tx1 cpu1
	wait_all "${pids[@]}"
	rc=$waited
	t1=$(now) tx1=$(txbytes) cpu1=$(cpu_of "$srv")
	stop "$srv"
	local ok
	ok=$(verified "$n" "$(verify_pattern lcsync)" "$want")
	record lcsync "$set" "$n" "$round" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" $((tx1 - tx0)) "$ok" \
		"index cpu ${idx}s, $(receiver_cpu "$n")$(lcsync_note)$(note_rc ', fetch' "$rc")"
	[ "$ok" -eq "$n" ] || fail_log "lcsync $set N=$n round $round" "$work/s.log" "$work"/r[0-9]*.log
	grep -h "kernel drops" "$work"/r[0-9]*.log 2>/dev/null | sed 's/^/    /' >&2 || true
}

run_uftp() {
	local rate=$1 n=$2 round=$3 i hosts="" pids=()
	fresh_dsts "$n"
	for i in $(seq 1 "$n"); do
		hosts+="${hosts:+,}$(printf '0x%x' $((0x100 + i)))"
		spawn ip netns exec "lc-r$i" timeout -k 5 "$run_timeout" uftpd -d -U "$(printf '0x%08x' $((0x100 + i)))" \
			-I "$(rcv_addr "$i")" -M ff15::6c63:10 -D "$work/r$i" -q -B 104857600 -c 20971520 -x 1 \
			>"$work/r$i.log" 2>&1
		pids+=("$spawned")
	done
	sleep 0.5
	local what=$srcdir/file.bin tx0 t0
	[ "$kind" = tree ] && what=$srcdir
	tx0=$(txbytes) t0=$(now)
	spawn ip netns exec lc-s /usr/bin/time -f '%U %S' -o "$work/s.time" \
		timeout -k 5 "$run_timeout" uftp -I "$srv_addr" -M ff15::6c63:10 -P ff15::6c63:11 -Y none \
		-R "$rate" -B 104857600 -H "$hosts" -x 1 -S "$work/s.status" "$what" >"$work/s.log" 2>&1
	local rc t1 tx1
	wait_all "$spawned"
	rc=$waited
	t1=$(now) tx1=$(txbytes)
	stop "${pids[@]}"
	local ok
	ok=$(verified "$n" "$(verify_pattern uftp)" "$want")
	record uftp "-R $rate" "$n" "$round" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(time_cpu "$work/s.time")" $((tx1 - tx0)) "$ok" "$(note_rc uftp "$rc")"
	[ "$ok" -eq "$n" ] || fail_log "uftp -R $rate N=$n round $round" "$work/s.log" "$work"/r[0-9]*.log
}

run_udpcast() {
	local rate=$1 n=$2 round=$3 i pids=()
	fresh_dsts "$n"
	for i in $(seq 1 "$n"); do
		local out=(--file "$work/r$i/file.bin")
		[ "$kind" = tree ] && out=(--file /dev/null --pipe "tar -C $work/r$i -xf -")
		spawn ip netns exec "lc-r$i" timeout -k 5 "$run_timeout" udp-receiver --interface eth0 --nokbd \
			"${out[@]}" --start-timeout 30 --receive-timeout 20 >"$work/r$i.log" 2>&1
		pids+=("$spawned")
	done
	sleep 0.5
	local in=(--file "$srcdir/file.bin") tx0 t0
	[ "$kind" = tree ] && in=(--file /dev/null --pipe "tar -C ${srcdir%/*} -cf - src")
	tx0=$(txbytes) t0=$(now)
	spawn ip netns exec lc-s /usr/bin/time -f '%U %S' -o "$work/s.time" \
		timeout -k 5 "$run_timeout" udp-sender --interface eth0 --nokbd "${in[@]}" --min-receivers "$n" \
		--max-wait 20 --start-timeout 30 --retries-until-drop 20 --max-bitrate "$rate" --nopointopoint >"$work/s.log" 2>&1
	local snd=$spawned rc t1 tx1
	spawn watchdog "$snd" "${pids[@]}"
	local dog=$spawned
	wait_all "$snd" "${pids[@]}"
	rc=$waited
	t1=$(now) tx1=$(txbytes)
	stop "$dog"
	local ok
	ok=$(verified "$n" "$(verify_pattern udpcast)" "$want")
	record udpcast "--max-bitrate $rate" "$n" "$round" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(time_cpu "$work/s.time")" $((tx1 - tx0)) "$ok" "$(note_rc udpcast "$rc")"
	[ "$ok" -eq "$n" ] || fail_log "udpcast $rate N=$n round $round" "$work/s.log" "$work"/r[0-9]*.log
}

run_rsync() {
	local set=$1 n=$2 round=$3 opts=() i pids=()
	[ "$set" = default ] || read -ra opts <<<"$set"
	[ -n "${seed_file:-}" ] && opts=(-I "${opts[@]}")
	fresh_dsts "$n"
	cat >"$work/rsyncd.conf" <<-EOF
		use chroot = no
		uid = root
		gid = root
		[data]
		path = $srcdir
		read only = yes
	EOF
	spawn ip netns exec lc-s rsync --daemon --no-detach --ipv6 --address="$srv_addr" --port 8730 \
		--config "$work/rsyncd.conf" >"$work/s.log" 2>&1
	local srv=$spawned end=$((SECONDS + 10))
	until ip netns exec lc-s ss -Hltn 'sport = :8730' | grep -q 8730; do
		[ $SECONDS -ge $end ] && break
		sleep 0.1
	done
	local from="rsync://[$srv_addr]:8730/data/file.bin" to=file.bin cpu0 tx0 t0
	[ "$kind" = tree ] && from="rsync://[$srv_addr]:8730/data/" to=""
	cpu0=$(cpu_of "$srv") tx0=$(txbytes) t0=$(now)
	for i in $(seq 1 "$n"); do
		spawn ip netns exec "lc-r$i" timeout -k 5 "$run_timeout" rsync -a "${opts[@]}" "$from" "$work/r$i/$to" \
			>"$work/r$i.log" 2>&1
		pids+=("$spawned")
	done
	local rc t1 tx1 cpu1
	wait_all "${pids[@]}"
	rc=$waited
	t1=$(now) tx1=$(txbytes)
	sleep 0.3 # let the daemon reap its children, so their CPU time is counted
	cpu1=$(cpu_of "$srv")
	stop "$srv"
	local ok
	ok=$(verified "$n" "$(verify_pattern rsync)" "$want")
	record rsync "${opts[*]:-default}" "$n" "$round" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" $((tx1 - tx0)) "$ok" "$(note_rc rsync "$rc")"
	[ "$ok" -eq "$n" ] || fail_log "rsync $set N=$n round $round" "$work/s.log" "$work"/r[0-9]*.log
}
