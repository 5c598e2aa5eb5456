# elb-ha: the two README commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man
UNITDIR := $(DESTDIR)/etc/systemd/system
CONFDIR := $(DESTDIR)/etc
BINARIES := elb-proxy elb-check vrrpd
FUZZ_SECONDS ?= 60
# make chaos: how long the seeded fault-injection run lasts, and an optional seed to replay.
DURATION ?= 1h
SEED ?=
# Without cargo-nextest (which bounds each test, .config/nextest.toml) the whole run is bounded.
TEST_BOUND ?= 90m

# What the tests need on a fresh Debian machine (installed only when missing).
TEST_PACKAGES := iproute2 keepalived tcpdump python3 python3-aiosmtpd python3-scapy \
	socat wget curl procps nftables
# What the side-by-side benchmarks run against.
BENCH_PACKAGES := $(TEST_PACKAGES) wrk haproxy nginx-light hyperfine time util-linux
# The ECMP lab (make test, make demo-ecmp) needs FRR; its benchmark runs ExaBGP beside it.
TEST_PACKAGES += frr
# The certificate and OCSP stapling tests make certificates and OCSP answers with openssl.
TEST_PACKAGES += openssl
# elb-check's tests probe real nginx servers (HTTP/2, h2c, PROXY listeners, the echo module)
# with certificates made by the openssl command.
TEST_PACKAGES += nginx-light libnginx-mod-http-echo openssl
# The metrics tests check the exposition with promtool (Debian package prometheus).
TEST_PACKAGES += prometheus
# HAProxy tools read the admin socket in the tests: the exporter and hatop (driven in tmux).
TEST_PACKAGES += prometheus-haproxy-exporter hatop tmux
# The status page test loads the page in headless Chromium.
TEST_PACKAGES += chromium
# Members given by DNS name are tested against a real DNS server on loopback (dnsmasq).
TEST_PACKAGES += dnsmasq-base
BENCH_PACKAGES += frr exabgp
# bench-observability.sh --instructions counts instructions under cachegrind.
BENCH_PACKAGES += valgrind

.PHONY: all build release test fuzz-check test-deps bench bench-deps lint fmt install uninstall clean demo fuzz deb chaos

all: build

build:
	$(CARGO) build --workspace --all-targets

# The shipped elb-check is built with a profile: llvm-profdata of rustc's own LLVM version,
# whose package crates/elb-check/build-static.sh names (without it the build goes on, without
# the profile).
release:
	$(CARGO) build --workspace --release --bins
	@pkg=$$(crates/elb-check/build-static.sh --llvm-package); [ -z "$$pkg" ] || scripts/ensure-packages.sh $$pkg || echo "release: $$pkg could not be installed" >&2
	CARGO="$(CARGO)" crates/elb-check/build-static.sh

test-deps:
	@scripts/ensure-packages.sh $(TEST_PACKAGES)

bench-deps:
	@scripts/ensure-packages.sh $(BENCH_PACKAGES)

lint:
	$(CARGO) fmt --all -- --check
	@scripts/check-file-sizes.sh
	@scripts/check-architecture.sh
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# A clean build for the tests fills 3.6 GB with incremental caches and debug info; without them
# 1.3 GB, so a small CI disk holds it (panic messages keep their file:line either way).
test lint fuzz-check: export CARGO_INCREMENTAL = 0
test lint fuzz-check: export CARGO_PROFILE_DEV_STRIP = debuginfo

# Lint first (cheap, and shares the build), then every test including the
# network-namespace lab tests, which need root (CI runs as root): each test bounded by
# cargo-nextest (.config/nextest.toml), all of them run (no fail-fast), then the doctests, the
# fuzz targets' stable build and the lab-leftovers check (scripts/test-all.sh).
test: test-deps lint
	@TEST_BOUND=$(TEST_BOUND) CARGO="$(CARGO)" scripts/test-all.sh

# Every fuzz target builds on stable (running them needs nightly: make fuzz).
fuzz-check:
	@CARGO="$(CARGO)" scripts/test-all.sh fuzz-check

bench: bench-deps release
	@for b in scripts/bench-*.sh; do [ -x "$$b" ] || continue; echo "== $$b"; "$$b" || exit 1; done

demo: test-deps release
	scripts/demo.sh

# Three balancers behind a router's ECMP route (FRR, BGP, BFD), gated by vrrpd + elb-check.
.PHONY: demo-ecmp
demo-ecmp: test-deps release
	scripts/demo-ecmp.sh

fuzz:
	@scripts/fuzz-all.sh $(FUZZ_SECONDS)

# Seeded chaos in the namespace lab (root): faults and invariants, counts table at the end.
chaos: test-deps
	DURATION=$(DURATION) SEED=$(SEED) scripts/chaos.sh

# Debian packages of the three binaries (elb-check as its static build), under target/.
deb: release
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb
	$(CARGO) deb -p elb-proxy --no-build
	$(CARGO) deb -p vrrpd --no-build
	CARGO="$(CARGO)" crates/elb-check/build-static.sh deb

install: release
	install -d $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man8 $(UNITDIR) $(CONFDIR)/elb-proxy $(CONFDIR)/keepalived
	for b in $(filter-out elb-check,$(BINARIES)); do [ -f target/release/$$b ] && install -m 0755 target/release/$$b $(BINDIR)/$$b || true; done
	install -m 0755 "$$(crates/elb-check/build-static.sh --path)" $(BINDIR)/elb-check
	for u in deploy/systemd/*.service deploy/systemd/*.timer; do sed -E 's#/usr/bin/(elb-proxy|elb-check|vrrpd)#$(PREFIX)/bin/\1#g' "$$u" > $(UNITDIR)/$$(basename "$$u"); chmod 0644 $(UNITDIR)/$$(basename "$$u"); done
	for m in docs/man/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" $(MANDIR)/man1/ || true; done
	for m in docs/man/*.8; do [ -f "$$m" ] && install -m 0644 "$$m" $(MANDIR)/man8/ || true; done
	[ -f deploy/elb-proxy.yaml ] && { [ -e $(CONFDIR)/elb-proxy/elb-proxy.yaml ] || install -m 0644 deploy/elb-proxy.yaml $(CONFDIR)/elb-proxy/elb-proxy.yaml; } || true
	[ -f deploy/keepalived.conf ] && { [ -e $(CONFDIR)/keepalived/keepalived.conf ] || install -m 0644 deploy/keepalived.conf $(CONFDIR)/keepalived/keepalived.conf; } || true

uninstall:
	for b in $(BINARIES); do rm -f $(BINDIR)/$$b; done
	for u in deploy/systemd/*.service deploy/systemd/*.timer; do rm -f $(UNITDIR)/$$(basename "$$u"); done
	for m in docs/man/*.1; do rm -f $(MANDIR)/man1/$$(basename "$$m"); done
	for m in docs/man/*.8; do rm -f $(MANDIR)/man8/$$(basename "$$m"); done

clean:
	$(CARGO) clean
