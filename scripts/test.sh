#!/usr/bin/env bash
# test.sh: the whole test suite, as README and CI run it.
#   formatting (gofmt), go vet, staticcheck, a FreeBSD build, every test with the race
#   detector (network-namespace tests included when root), and the SIMD and MLD packages
#   again with the pure-Go kernels.
# Privileged tests skip loudly when not root; with LCSYNC_REQUIRE_NETNS=1 they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh ip bridge tc nft
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt needed:"; echo "$bad"; exit 1; fi
echo "== go vet"
go vet ./...
go vet -tags purego ./simd/... ./mld/...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== FreeBSD build (the receiver and local sync are portable; the server needs Linux)"
GOOS=freebsd go build ./...
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
echo "== go test -tags purego (pure-Go SIMD fallbacks)"
go test -tags purego -count=1 ./simd/... ./mld/...
echo "== benchmarks compile and run once"
go test -run '^$' -bench . -benchtime 1x -count=1 ./merkle ./simd ./mld/bloom ./pkg/wire >/dev/null
echo "all tests passed"
