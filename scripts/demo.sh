#!/usr/bin/env bash
# demo.sh: lcsync end to end. Builds lcsync, builds a rig of network namespaces (one sender,
# two receivers on a bridge with MLD snooping), serves a generated directory from the sender,
# fetches it into both receivers at once (progress shown), verifies every byte, then changes a
# few blocks at the source and shows that a second fetch moves only those blocks. The share is
# signed; receiver lc-r1 accepts only manifests signed by the demo's key (--trust). Last, the
# server watches the share (--watch) and lc-r2 follows it (--follow): a new file and a rename
# reach lc-r2 within a fraction of a second, the rename with no data.
# Needs root (network namespaces; the server's MLD listener needs a raw socket). Cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
bash scripts/deps.sh ip bridge tc nft sha256sum

work=$(mktemp -d /tmp/lcsync-demo.XXXXXX)
bin=$work/lcsync
server=
follower=
cleanup() {
	[ -n "$follower" ] && kill "$follower" 2>/dev/null && wait "$follower" 2>/dev/null
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	bash scripts/netns.sh down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "build"
go build -o "$bin" ./cmd/lcsync
"$bin" --version

step "rig: namespaces lc-s (sender), lc-r1 and lc-r2 (receivers) on a snooping bridge"
bash scripts/netns.sh up 2

step "generate a share: one 96 MiB file, 200 small files in nested directories, a symlink"
src=$work/srv/share
mkdir -p "$src/docs/empty" "$src/data"
head -c $((96 << 20)) /dev/urandom >"$src/data/image.bin"
for i in $(seq 1 200); do
	d=$src/docs/part$((i % 10))
	mkdir -p "$d"
	head -c $((RANDOM * 2 + 1)) /dev/urandom >"$d/note$i.txt"
done
ln -s data/image.bin "$src/latest"
du -sh "$src"

step "make a signing key: the server signs the share, lc-r1 accepts only what that key signed"
pub=$("$bin" --keygen "$work/share.key")
echo "public key: $pub"

step "serve it from lc-s, signed (MLD-triggered: nothing is sent until a receiver joins)"
ip netns exec lc-s "$bin" --sign "$work/share.key" --state "$work/state-s" "$src" &
server=$!
sleep 1

step "fetch share/ into both receivers at once (lc-r1 with --trust; lc-r2 without, and it prints the key)"
ip netns exec lc-r2 "$bin" -a --stats share/ "$work/r2/" >"$work/r2.log" 2>&1 &
r2=$!
ip netns exec lc-r1 "$bin" -a --progress --stats --trust "$pub" --state "$work/state-r1" share/ "$work/r1/"
wait "$r2"
echo "-- lc-r2:"
cat "$work/r2.log"

step "verify: every file byte-identical in both receivers"
(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/want.sum"
for r in r1 r2; do
	(cd "$work/$r" && sha256sum --quiet -c "$work/want.sum") && echo "$r: all $(wc -l <"$work/want.sum") files verified"
	[ "$(readlink "$work/$r/latest")" = data/image.bin ] && echo "$r: symlink ok"
done

step "change 3 blocks of the big file at the source (the server re-indexes when asked for its manifest)"
for off in 1000 40000000 90000000; do
	head -c 100 /dev/urandom | dd of="$src/data/image.bin" bs=1 seek=$off conv=notrunc status=none
done

step "fetch again into lc-r1: only the changed blocks travel"
ip netns exec lc-r1 "$bin" -a --stats --trust "$pub" --state "$work/state-r1" share/ "$work/r1/"
(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/want.sum"
(cd "$work/r1" && sha256sum --quiet -c "$work/want.sum") && echo "r1: verified after the delta"

step "live mirror: the server publishes each change (--watch), lc-r2 follows (--follow)"
kill "$server" && wait "$server" 2>/dev/null || true
ip netns exec lc-s "$bin" --watch --sign "$work/share.key" --state "$work/state-s" "$src" 2>"$work/live-s.log" &
server=$!
ip netns exec lc-r2 "$bin" -a --trust "$pub" --state "$work/state-r2" --follow share/ "$work/r2/" 2>"$work/follow.log" &
follower=$!
for _ in $(seq 1 300); do grep -q 'msg=applied\|up to date' "$work/follow.log" && break; sleep 0.1; done
grep -q 'msg=applied\|up to date' "$work/follow.log" || { cat "$work/follow.log"; echo "the follower did not catch up" >&2; exit 1; }
echo "lc-r2 follows share/ into $work/r2/"
echo "hello at $(date +%T.%N)" >"$src/docs/live.txt"
t0=$(date +%s%N)
for _ in $(seq 1 1000); do cmp -s "$src/docs/live.txt" "$work/r2/docs/live.txt" && break; sleep 0.005; done
cmp "$src/docs/live.txt" "$work/r2/docs/live.txt"
echo "docs/live.txt written on lc-s appeared on lc-r2 after $((($(date +%s%N) - t0) / 1000000)) ms"
mv "$src/data/image.bin" "$src/data/renamed.bin"
t0=$(date +%s%N)
for _ in $(seq 1 1000); do [ -e "$work/r2/data/renamed.bin" ] && [ ! -e "$work/r2/data/image.bin" ] && break; sleep 0.005; done
cmp "$src/data/renamed.bin" "$work/r2/data/renamed.bin"
echo "the 96 MiB file renamed on lc-s was renamed on lc-r2 after $((($(date +%s%N) - t0) / 1000000)) ms (no data sent)"
kill -TERM "$follower" && wait "$follower" && echo "follower stopped by SIGTERM (exit status 0)"
follower=
grep 'msg=applied' "$work/follow.log" | tail -3

step "done"
