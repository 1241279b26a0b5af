# lcsync — see README.md. `make help` lists the targets.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN      = bin/lcsync
# staticcheck, pinned (a version that knows Go 1.26); `go run` fetches it on first use.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Where install puts the units, the sysusers.d entry, the completions and the docs.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR     ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR    ?= $(PREFIX)/share/fish/vendor_completions.d
DOCDIR         ?= $(PREFIX)/share/doc/lcsync
UNITS           = lcsync-serve@.service lcsync-fetch@.service lcsync-fetch@.timer lcsync-follow@.service

# The Debian package: version from git (0.0~gitYYYYMMDD.HASH without a tag), architecture
# from the go tool's target.
DEBVERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/+/g'); \
	[ -n "$$v" ] || v=0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date +%Y%m%d).$$(git rev-parse --short HEAD 2>/dev/null || echo 0); echo $$v)
DEBARCH    ?= $(shell $(GO) env GOARCH)
DEBROOT     = bin/deb
DEB         = bin/lcsync_$(DEBVERSION)_$(DEBARCH).deb

.PHONY: all build test fuzz soak demo bench bench-local bench-net bench-live bench-memory bench-rxcpu profiles lint install uninstall deb completions clean net-setup net-teardown help

all: build

build: ## build bin/lcsync (static, stamped with the version and VCS revision)
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/lcsync

test: ## run every test (as root for the network-namespace tests), as CI does
	bash scripts/test.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 60s); not part of CI
	bash scripts/fuzz.sh

soak: ## root: SOAK_MINUTES (default 30) of joins, leaves, kill -9 and server restarts under loss
	bash scripts/soak.sh

demo: ## serve and fetch a generated tree across network namespaces (root)
	bash scripts/demo.sh

bench: bench-local bench-net ## run all benchmarks (root, quiet machine)

bench-local: ## tree building, SIMD kernels, local sync vs cp and rsync
	bash scripts/bench-local.sh

bench-net: ## multicast transfer benchmarks on the namespace rig (root)
	bash scripts/bench.sh

bench-live: ## live sync (--watch/--follow) beside lsyncd and Syncthing (root; writes BENCHMARKS.live.md)
	bash scripts/bench/live.sh

bench-memory: ## root: server and receiver peak RSS by file size (MEM_SIZES, default 1G 16G sparse)
	bash scripts/memory.sh

bench-rxcpu: ## root: a receiver's CPU for a 1-receiver fetch against one core of raw BLAKE2s (ROUNDS, RXCPU_SIZE_MB)
	bash scripts/bench/rxcpu.sh

profiles: ## root: regenerate profiles/ (CPU profiles of a 512 MiB fetch to 4 receivers)
	bash scripts/profile.sh

lint: ## gofmt, go vet, staticcheck and a FreeBSD build
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	GOOS=freebsd $(GO) build ./...

completions: build ## generate bin/completion/{lcsync.bash,_lcsync,lcsync.fish} from the option table
	install -d bin/completion
	$(BIN) --completion bash > bin/completion/lcsync.bash
	$(BIN) --completion zsh > bin/completion/_lcsync
	$(BIN) --completion fish > bin/completion/lcsync.fish

install: build completions ## install binary, man page, systemd units, completions and docs under $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/lcsync
	install -m 0644 lcsync.1 $(DESTDIR)$(MANDIR)/man1/lcsync.1
	for u in $(UNITS); do \
		sed 's|/usr/bin/lcsync|$(BINDIR)/lcsync|g' dist/systemd/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -m 0644 dist/sysusers.d/lcsync.conf $(DESTDIR)$(SYSUSERSDIR)/lcsync.conf
	install -m 0644 bin/completion/lcsync.bash $(DESTDIR)$(BASHCOMPDIR)/lcsync
	install -m 0644 bin/completion/_lcsync $(DESTDIR)$(ZSHCOMPDIR)/_lcsync
	install -m 0644 bin/completion/lcsync.fish $(DESTDIR)$(FISHCOMPDIR)/lcsync.fish
	install -m 0644 README.md PROTOCOL.md $(DESTDIR)$(DOCDIR)/

uninstall: ## remove what install installed
	rm -f $(DESTDIR)$(BINDIR)/lcsync $(DESTDIR)$(MANDIR)/man1/lcsync.1 $(DESTDIR)$(SYSUSERSDIR)/lcsync.conf \
		$(DESTDIR)$(BASHCOMPDIR)/lcsync $(DESTDIR)$(ZSHCOMPDIR)/_lcsync $(DESTDIR)$(FISHCOMPDIR)/lcsync.fish \
		$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS)) $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/PROTOCOL.md
	-rmdir $(DESTDIR)$(DOCDIR)

deb: ## build bin/lcsync_VERSION_ARCH.deb with dpkg-deb
	rm -rf $(DEBROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr SYSTEMDUNITDIR=/lib/systemd/system
	gzip -9n $(DEBROOT)/usr/share/man/man1/lcsync.1
	install -d -m 0755 $(DEBROOT)/etc/lcsync $(DEBROOT)/DEBIAN
	install -m 0644 dist/debian/copyright $(DEBROOT)/usr/share/doc/lcsync/copyright
	install -m 0755 dist/debian/postinst dist/debian/postrm $(DEBROOT)/DEBIAN/
	sed -e 's/@VERSION@/$(DEBVERSION)/' -e 's/@ARCH@/$(DEBARCH)/' \
		-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEBROOT) | cut -f1)/" dist/debian/control > $(DEBROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEBROOT) $(DEB)
	@echo "built $(DEB)"

clean: ## remove build output (bin/, completions and the package included)
	rm -rf bin

net-setup: ## create the rig: lc-br, lc-s, lc-r1..lc-r$(N) (N=2 by default)
	bash scripts/netns.sh up $(or $(N),2)

net-teardown: ## delete the rig
	bash scripts/netns.sh down

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
