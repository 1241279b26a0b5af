#!/usr/bin/env bash
# test.sh: the whole test suite, as README and CI run it.
#   formatting (gofmt), go vet, staticcheck, a FreeBSD build, every test with the race
#   detector (network-namespace tests included when root), the SIMD, MLD and merkle packages
#   again with the pure-Go kernels, the multi-buffer BLAKE2s and merkle tests once per SIMD path
#   (LCSYNC_SIMD), and the packaging (scripts/test-dist.sh: make install, systemd-analyze
#   verify, make deb).
# Privileged tests skip loudly when not root; with LCSYNC_REQUIRE_NETNS=1 they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh ip bridge tc nft rsync minisign
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; exit 1; fi
echo "== go vet"
go vet ./...
go vet -tags purego ./simd/... ./mld/... ./merkle/...
echo "== generated multi-buffer BLAKE2s assembly matches its generator (simd/blake2s/asm, avo)"
gen=$(mktemp -d)
(cd simd/blake2s/asm && go run . -out "$gen/blake2s_amd64.s" -stubs "$gen/blake2s_stub_amd64.go" -pkg blake2s)
for f in blake2s_amd64.s blake2s_stub_amd64.go; do # line 1 names the command, paths included
	diff <(tail -n +2 "simd/blake2s/$f") <(tail -n +2 "$gen/$f") >/dev/null ||
		{ echo "simd/blake2s/$f is stale: run go generate ./simd/blake2s"; rm -rf "$gen"; exit 1; }
done
rm -rf "$gen"
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== FreeBSD build (the receiver and local sync are portable; the server needs Linux)"
GOOS=freebsd go build ./...
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
echo "== go test -tags purego (pure-Go SIMD fallbacks)"
go test -tags purego -count=1 ./simd/... ./mld/... ./merkle/...
echo "== go test on each multi-buffer BLAKE2s path (LCSYNC_SIMD; avx512 falls back when the CPU lacks it)"
for path in generic avx2 avx512; do
	LCSYNC_SIMD=$path go test -count=1 ./simd/blake2s/... ./merkle/...
done
echo "== packaging: make install, systemd-analyze verify, make deb"
bash scripts/test-dist.sh
echo "== benchmarks compile and run once"
go test -run '^$' -bench . -benchtime 1x -count=1 ./merkle ./simd ./simd/blake2s ./mld/bloom ./pkg/wire >/dev/null
echo "all tests passed"
