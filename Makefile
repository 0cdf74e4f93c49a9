# fjord: see README.md. Every target installs what it needs itself.
GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin
# How long each fuzz target runs in `make test`, bounded so that the whole
# of `make test` stays under 10 minutes as targets are added (51 targets at
# 5 s, plus a build each, took 6 minutes and the whole 10m46s; at 3 s the
# fuzzing took about 4, and 57 targets at 3 s on a loaded machine 10m52s
# in all; 63 at 2 s took 4m20s after 6m23s of the rest on a quiet one, so
# 1 s). Fuzz longer by hand: make fuzz FUZZTIME=10m.
FUZZTIME  ?= 1s
# How long the fuzzer may spend shrinking each new interesting input. Go's
# default, 60 s, let one large input (a 4 KiB command line) take the whole
# FUZZTIME and end in "context deadline exceeded"; the corpus CI finds is
# not kept, so there is nothing to shrink it for.
FUZZMINIMIZE ?= 1s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test lint vet staticcheck unit fuzz clean tools

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/fjord ./cmd/fjord
	$(GO) build -trimpath -o $(BIN)/fjord-webnode ./cmd/fjord-webnode

# fjord with three demo web nodes on loopback, shaped like the seed
# article's template (examples/demo.cfg). Ctrl-C stops everything.
.PHONY: demo
demo: build
	@bash examples/demo.sh

tools: $(GOBIN)/staticcheck

$(GOBIN)/staticcheck:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet:
	$(GO) vet ./...

staticcheck: tools
	$(GOBIN)/staticcheck ./...

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The kernel settings fjord's profile tunes: the tests run as root, and
# must change none of them on the host (only in network namespaces or fake
# trees they make). unit fails if any moved.
HOST_SYSCTLS := fs/nr_open fs/file-max fs/pipe-max-size fs/pipe-user-pages-soft \
  fs/pipe-user-pages-hard net/core/somaxconn net/ipv4/tcp_max_syn_backlog \
  net/ipv4/tcp_tw_reuse net/ipv4/tcp_migrate_req net/ipv4/tcp_fin_timeout \
  net/ipv4/ip_local_port_range net/ipv4/ip_local_reserved_ports
host_sysctls = for k in $(HOST_SYSCTLS); do printf '%s = %s\n' $$k "$$(cat /proc/sys/$$k 2>/dev/null)"; done

unit:
	@mkdir -p $(BIN); $(host_sysctls) > $(BIN)/.sysctl-before
	$(GO) test -race -count=1 ./...
	@$(host_sysctls) | diff -u $(BIN)/.sysctl-before - \
	  || { echo "the tests changed this host's kernel settings (above): a test ran fjord against the real /proc/sys"; exit 1; }

# Every native fuzz target, each for FUZZTIME. Go's fuzzer sometimes ends
# with "context deadline exceeded" when a busy machine is slow to stop its
# workers; that run, and only that, is repeated once. A failing input is
# always a failure.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    for try in 1 2 3; do \
	      out=$$($(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) $$pkg 2>&1) && { echo "$$out" | tail -2; break; }; \
	      echo "$$out"; \
	      if echo "$$out" | grep -q 'Failing input written'; then exit 1; fi; \
	      if ! echo "$$out" | grep -q 'context deadline exceeded' || [ $$try = 3 ]; then exit 1; fi; \
	      echo "fuzz $$t: the fuzzer timed out stopping its workers (no failing input); running it again"; \
	    done; \
	  done; \
	done

test: lint unit fuzz

clean:
	rm -rf $(BIN)

# HAProxy's own regression tests (v2.6, driven by VTest) that fjord must
# pass: the list is regtests.txt, one test a line, grown by each feature
# that a test covers. It needs HAProxy's bundle in ../shared/regtests (see
# its README): VTest is built there on first use. Not part of make test.
# regtests-all runs all 175 that HAProxy 2.6 can run here and names the
# causes of the failures, the map docs/compatibility.md keeps.
REGTESTS ?= ../shared/regtests
.PHONY: regtests regtests-all
regtests: build
	@[ -x $(REGTESTS)/run ] || { echo "regtests: HAProxy's reg-test bundle is not at $(REGTESTS) (REGTESTS=DIR to say where)"; exit 1; }
	J=$${J:-2} $(REGTESTS)/run $(BIN)/fjord -l regtests.txt

regtests-all: build
	@[ -x $(REGTESTS)/run ] || { echo "regtests: HAProxy's reg-test bundle is not at $(REGTESTS) (REGTESTS=DIR to say where)"; exit 1; }
	-J=$${J:-2} $(REGTESTS)/run $(BIN)/fjord > $(BIN)/regtests-all.txt
	@tail -1 $(BIN)/regtests-all.txt
	@.ci/regtests-causes $(BIN)/regtests-all.txt $${TMPDIR:-/tmp}/fjord-regtests/logs

# fjord's kTLS tests (those named *KTLS*) inside a qemu guest booting
# Debian bookworm's kernel, which has the tls module: this host's kernel has
# no CONFIG_TLS, so here they skip. Builds a static test binary of each of
# KTLS_PKGS that exists yet and runs them in one guest (.ci/ktlsvm.sh: no
# network but its loopback, FJORD_EXPECT_KTLS=1 set). Uses KVM where the
# host has hardware KVM; elsewhere, this machine included (its /dev/kvm is
# PVM), it says so and emulates the guest with TCG: about 30 s a run here.
# The first run installs qemu-system-x86, busybox-static and cpio and
# downloads the kernel package (70 MB) into bin/ktlsvm/; later runs reuse
# it. Not part of make test; see docs/tls.md, "Verifying the kTLS path".
KTLS_PKGS ?= ./tls/ktls ./engine ./cmd/fjord
KTLS_RUN  ?= KTLS
.PHONY: test-ktls
test-ktls:
	@set -e; mkdir -p $(BIN)/ktlsvm/tests; rm -f $(BIN)/ktlsvm/tests/*.test; bins=""; \
	for p in $(KTLS_PKGS); do \
	  if [ ! -d $$p ]; then echo "test-ktls: no $$p yet, skipped"; continue; fi; \
	  b=$(BIN)/ktlsvm/tests/$$(echo $${p#./} | tr / -).test; \
	  echo "test-ktls: building $$p"; \
	  CGO_ENABLED=0 $(GO) test -c -o $$b $$p; \
	  if [ -f $$b ]; then bins="$$bins $$b:$$p"; else echo "test-ktls: $$p has no tests, skipped"; fi; \
	done; \
	[ -n "$$bins" ] || { echo "test-ktls: none of $(KTLS_PKGS) has tests"; exit 1; }; \
	.ci/ktlsvm.sh $$bins -- -test.run '$(KTLS_RUN)' -test.v -test.count=1 -test.timeout 4m

# The engine against the io.Copy goroutine proxy (bench/iocopy), each in its
# own process, side by side in one run; then syscalls per keep-alive request
# under strace. About three minutes; see docs/engine-performance.md.
.PHONY: bench-engine
bench-engine:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./engine/
	bash bench/syscalls.sh

# The peers the benchmarks compare fjord with, from Debian. A peer that
# cannot be installed is reported as missing by the benchmarks, never as 0.
BENCH_PKGS ?= haproxy nginx-light libnginx-mod-stream
.PHONY: bench-deps
bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	    || echo "bench-deps: could not install$$missing; the benchmarks will show them as not installed"; \
	fi

# What sslscan sees of a frontend with fjord's default TLS settings
# (docs/tls.md has the summary). Installs sslscan and openssl from Debian.
TLSSCAN_PKGS ?= sslscan openssl
.PHONY: tls-scan
tls-scan: build
	@missing=""; for p in $(TLSSCAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	bash bench/tlsscan.sh bin/fjord

# fjord's HTTP modes against its tcp mode and HAProxy's mode http
# (docs/http-mode.md has the method and figures).
.PHONY: bench-http
bench-http: bench-deps
	$(GO) test -run '^$$' -bench 'HTTP$$' -benchtime 1x -v ./engine/

# Install as a service (docs/process.md): the binary, an example
# configuration that never replaces an existing one, the systemd unit and
# the docs. DESTDIR stages the tree (packaging, tests); PREFIX and the
# directories below place it. Every file is written under a temporary
# name and renamed into place, so that a running fjord's binary is never
# written over (upgrade: `make install && systemctl reload fjord`).
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/fjord
.PHONY: install
install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/fjord $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BIN)/fjord $(DESTDIR)$(SBINDIR)/.fjord.new
	mv -f $(DESTDIR)$(SBINDIR)/.fjord.new $(DESTDIR)$(SBINDIR)/fjord
	@cfg=$(DESTDIR)$(SYSCONFDIR)/fjord/fjord.cfg; \
	if [ -e $$cfg ] || [ -L $$cfg ]; then \
	  echo "kept $$cfg (not overwritten; the current example is examples/fjord.cfg)"; \
	else \
	  install -m 0644 examples/fjord.cfg $$cfg.new && mv $$cfg.new $$cfg && echo "installed $$cfg"; \
	fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	  dist/fjord.service > $(DESTDIR)$(UNITDIR)/.fjord.service.new
	chmod 0644 $(DESTDIR)$(UNITDIR)/.fjord.service.new
	mv -f $(DESTDIR)$(UNITDIR)/.fjord.service.new $(DESTDIR)$(UNITDIR)/fjord.service
	install -m 0644 docs/*.md examples/fjord.cfg dist/fjord.socket $(DESTDIR)$(DOCDIR)/
	@echo "installed $(DESTDIR)$(SBINDIR)/fjord and $(DESTDIR)$(UNITDIR)/fjord.service"
	@echo "then: systemctl daemon-reload && systemctl enable --now fjord   (upgrade: systemctl reload fjord)"

# The benchmark harness (docs/benchmarks.md): fjord in tcp and http mode
# against HAProxy, nginx, an io.Copy proxy and a direct connection, each
# proxy its own pinned process, rounds alternating. Results, JSON and plots
# go to bench/results/. BENCH_FLAGS adds flags, such as
# BENCH_FLAGS='-scenarios keepalive,latency -proxies fjord-tcp,haproxy-tcp'
# or BENCH_FLAGS='-doc docs/benchmarks.md' to refresh the published table.
BENCH_FLAGS ?=
.PHONY: bench bench-quick bench-bin
bench-bin:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/fjord ./cmd/fjord
	$(GO) build -trimpath -o $(BIN)/fjord-webnode ./cmd/fjord-webnode
	$(GO) build -trimpath -o $(BIN)/fjord-iocopy ./bench/cmd/iocopy
	$(GO) build -trimpath -o $(BIN)/fjord-hop ./bench/cmd/hop
	$(GO) build -trimpath -o $(BIN)/fjord-tlsflood ./bench/cmd/tlsflood
	$(GO) build -trimpath -o $(BIN)/fjord-hiccup ./bench/cmd/hiccup
	$(GO) build -trimpath -o $(BIN)/fjord-bench ./cmd/fjord-bench

# The standard suite: about 31 minutes on 2 CPUs, 10 of them the HTTPS
# scenarios (fjord-http, haproxy-http and nginx-http terminating TLS), 2
# rules-keepalive (fjord without and with a typical rule set, HAProxy
# with it), 8 the latency scenario at 20% and 50% of the slowest maximum.
bench: bench-deps bench-bin
	$(BIN)/fjord-bench -bin $(BIN) $(BENCH_FLAGS)

# Every plain scenario (rules-keepalive included) and proxy once, short,
# and three HTTPS scenarios
# (https-keepalive, https-handshake-ecdsa, https-flood-latency): about
# three minutes. BENCH_FLAGS='-repeat-latency 10' repeats the latency
# scenario alone, every round shown (docs/benchmarks.md).
bench-quick: bench-deps bench-bin
	$(BIN)/fjord-bench -quick -bin $(BIN) $(BENCH_FLAGS)
