#!/usr/bin/env bash
# test.sh: the whole test suite, as README and CI run it.
#   formatting (gofmt), go vet, every test with the race detector (network-namespace tests
#   included when root), the SIMD and MLD packages again with the pure-Go kernels, and the
#   packaging (scripts/test-dist.sh: make install, systemd-analyze verify, make deb).
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
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
echo "== go test -tags purego (pure-Go SIMD fallbacks)"
go test -tags purego -count=1 ./simd/... ./mld/...
echo "== packaging: make install, systemd-analyze verify, make deb"
bash scripts/test-dist.sh
echo "== benchmarks compile and run once"
go test -run '^$' -bench . -benchtime 1x -count=1 ./merkle ./simd ./mld/bloom ./pkg/wire >/dev/null
echo "all tests passed"
