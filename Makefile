# lcsync — see README.md. `make help` lists the targets.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN      = bin/lcsync
# staticcheck, pinned (a version that knows Go 1.26); `go run` fetches it on first use.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test demo bench bench-local bench-net lint install uninstall clean net-setup net-teardown help

all: build

build: ## build bin/lcsync
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/lcsync

test: ## run every test (as root for the network-namespace tests), as CI does
	bash scripts/test.sh

demo: ## serve and fetch a generated tree across network namespaces (root)
	bash scripts/demo.sh

bench: bench-local bench-net ## run all benchmarks (root, quiet machine)

bench-local: ## tree building, SIMD kernels, local sync vs cp and rsync
	bash scripts/bench-local.sh

bench-net: ## multicast transfer benchmarks on the namespace rig (root)
	bash scripts/bench.sh

lint: ## gofmt, go vet, staticcheck and a FreeBSD build
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	GOOS=freebsd $(GO) build ./...

install: build ## install the binary and the man page under $(PREFIX)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/lcsync
	install -m 0644 lcsync.1 $(DESTDIR)$(MANDIR)/man1/lcsync.1

uninstall: ## remove what install installed
	rm -f $(DESTDIR)$(BINDIR)/lcsync $(DESTDIR)$(MANDIR)/man1/lcsync.1

clean: ## remove build output
	rm -rf bin

net-setup: ## create the rig: lc-br, lc-s, lc-r1..lc-r$(N) (N=2 by default)
	bash scripts/netns.sh up $(or $(N),2)

net-teardown: ## delete the rig
	bash scripts/netns.sh down

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
