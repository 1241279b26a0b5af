#!/usr/bin/env bash
# fuzz.sh: run every fuzz target in the repository, one at a time, for FUZZTIME each.
#   FUZZTIME      time per target (default 60s; any `go test -fuzztime` value: 20s, 5m, 100000x)
#   FUZZ          only the targets whose "pkg.FuzzName" matches this extended regexp (default all)
#   FUZZPARALLEL  fuzzing workers per target (default: go's, GOMAXPROCS)
# Targets are found by grepping for `func Fuzz` in *_test.go files, so a new target is picked up
# without editing this script. The seed corpus of each target is its f.Add calls plus the files in
# its package's testdata/fuzz/FuzzName/; a failing input that the fuzzer finds is written there by
# go itself, so the next plain `go test` replays it as a regression test. The inputs it merely finds
# interesting stay in go's cache ($(go env GOCACHE)/fuzz) and make later runs start further along.
# Prints per target the executions, the new interesting inputs and the verdict, then a summary;
# exits 1 if any target failed. Not part of scripts/test.sh (CI's time): run it by hand or on a
# schedule, and before resolving anything that touches a parser.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
FUZZTIME=${FUZZTIME:-60s}
FUZZ=${FUZZ:-}
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")

# "dir Name" per target, in a stable order.
mapfile -t targets < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's|^\./||; s|^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|; s|^[^/ ]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|. \1|' |
	sort -u)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
failed=()
summary=()
n=0
echo "== fuzz: ${#targets[@]} targets found, FUZZTIME=$FUZZTIME each${FUZZPARALLEL:+, $FUZZPARALLEL workers}"
for t in "${targets[@]}"; do
	dir=${t% *} name=${t#* }
	label="$dir.$name"
	if [ -n "$FUZZ" ] && ! [[ $label =~ $FUZZ ]]; then continue; fi
	n=$((n + 1))
	seeds=0
	[ -d "$dir/testdata/fuzz/$name" ] && seeds=$(find "$dir/testdata/fuzz/$name" -type f | wc -l)
	echo "-- $label (testdata seeds: $seeds)"
	out="$log/$n.out"
	start=$(date +%s)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${par[@]}" "./$dir" >"$out" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# The last progress line: "fuzz: elapsed: 20s, execs: 123456 (6172/sec), new interesting: 3 (total: 12)".
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$out" | tail -n 1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	interesting=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 new, \2 total/p' <<<"$last")
	if [ $rc -eq 0 ]; then
		verdict=ok
	else
		verdict=FAIL
		failed+=("$label")
		input=$(sed -nE 's/.*Failing input written to (.*)/\1/p' "$out" | tail -n 1)
		# Show why: the failure, trimmed, and where go kept the input.
		sed -n '/--- FAIL/,$p' "$out" | head -n 40
		[ -n "$input" ] && echo "   failing input kept in $dir/$input (replay: go test -run '^$name\$' ./$dir)"
		grep -q -- '--- FAIL' "$out" || tail -n 20 "$out" # a build error, a timeout: show the end
	fi
	line=$(printf '%-34s %-4s execs %12s  interesting %-18s %4ss' "$label" "$verdict" "${execs:-?}" "${interesting:-?}" "$secs")
	echo "   $line"
	summary+=("$line")
done
[ $n -gt 0 ] || { echo "fuzz.sh: no target matches FUZZ=$FUZZ" >&2; exit 1; }
echo "== fuzz summary ($n targets, FUZZTIME=$FUZZTIME)"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "== fuzz: ${#failed[@]} target(s) FAILED: ${failed[*]}"
	exit 1
fi
echo "== fuzz: all $n targets passed"
