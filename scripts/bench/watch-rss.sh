#!/usr/bin/env bash
# watch-rss.sh [BIN [TREE]]: the memory of `lcsync --watch` on a large share (issue 16's row
# "100,000 files in 10,000 directories: server RSS <= 128 MiB; watch setup <= 2 s"). Root.
#
# Makes TREE (default: a scratch tree on /dev/shm of WATCH_RSS_DIRS (10000) directories of 10
# files of about 100 bytes), serves it with --watch in a network namespace of its own (a veth
# pair, named after this script's pid and removed on exit with the server), and prints the
# server's VmHWM and VmRSS: once serving, after a storm that leaves the share as it was
# (20,000 files made and removed: an inotify queue overflow and a rescan that reuses every
# hash), and after every file is touched (every file hashed again). The Go collector's trace
# (GODEBUG=gctrace=1) follows: heap before -> after -> live of each collection, to tell live
# data from the collector's headroom. The watch setup is timed to the server's "watching" line
# (inotify watches on every directory, before the share is walked and hashed). BIN defaults to
# bin/lcsync (make build).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "watch-rss.sh: run as root (network namespace)" >&2; exit 1; }
bin=$(readlink -f "${1:-bin/lcsync}")
ns=lvrss$$
work=$(mktemp -d /dev/shm/lcsync-watchrss.XXXXXX)
pid=""
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tree=${2:-}
if [ -z "$tree" ]; then
	tree=$work/share
	python3 - "$tree" "${WATCH_RSS_DIRS:-10000}" <<-'EOF'
		import os, sys
		root, dirs = sys.argv[1], int(sys.argv[2])
		for d in range(dirs):
		    p = os.path.join(root, "d%02d" % (d // 100), "e%04d" % d)
		    os.makedirs(p, exist_ok=True)
		    for f in range(10):
		        with open(os.path.join(p, "f%d" % f), "wb") as fh:
		            fh.write(b"x" * (100 + f))
	EOF
fi
tree=$(readlink -f "$tree")
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" link set d1 up
ip -n "$ns" link set d0 up
ip -n "$ns" addr add fd00:77::1/64 dev d0 nodad
t0=$(date +%s.%N)
GODEBUG=gctrace=1 ip netns exec "$ns" "$bin" --watch "$tree" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 2400); do grep -q "msg=watching" "$work/log" && break; sleep 0.05; done
t1=$(date +%s.%N)
for _ in $(seq 1 1200); do grep -q "msg=serving" "$work/log" && break; sleep 0.1; done
grep -q "msg=serving" "$work/log" || { tail "$work/log" >&2; exit 1; }
mem() { awk '/VmHWM|VmRSS/ { printf "%s %d MiB  ", $1, $2 / 1024 }' "/proc/$pid/status"; echo; }
echo "watching $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s after the start (watch setup, to 50 ms)"
echo "serving $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the start; $(grep -o 'dirs=[0-9]*' "$work/log" | head -1) watched"
echo "serving:                         $(mem)"
mkdir "$tree/storm"
(cd "$tree/storm" && seq 1 20000 | xargs touch)
rm -rf "$tree/storm"
sleep 15
echo "after a storm (hashes reused):   $(mem)"
find "$tree/" -type f -print0 | xargs -0 touch
sleep 20
echo "after touching every file:       $(mem)"
echo "collections (heap MB before -> after -> live, goal):"
grep '^gc ' "$work/log" | awk '{ print "  " $11, $12, $13, $14 }'
