#!/usr/bin/env bash
# make test (after lint): every test, each one bounded, then the doctests, the stable build of
# every fuzz target, and the check that no lab namespace was left behind. Every step runs; the
# script fails if any step failed.
#
#   scripts/test-all.sh             all of it
#   scripts/test-all.sh fuzz-check  only the fuzz targets' build (make fuzz-check)
#
# cargo-nextest (.config/nextest.toml) gives each test its own process and kills one that runs
# past its bound; it does not run doctests, so `cargo test --doc` follows it. Without nextest
# the whole `cargo test` run is bounded by TEST_BOUND instead (and says so).
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TEST_BOUND=${TEST_BOUND:-90m}

# Each crates/*/fuzz is a stand-alone cargo-fuzz crate: libfuzzer-sys compiles on stable, so
# a build proves the targets still compile against the libraries (running them needs nightly:
# make fuzz). They share the workspace target dir.
fuzz_check() {
    local m
    for m in crates/*/fuzz/Cargo.toml; do
        echo "== fuzz-check $m"
        "$CARGO" build --quiet --manifest-path "$m" --target-dir "${CARGO_TARGET_DIR:-target}" --bins || return 1
    done
}

tests() {
    local status=0
    if "$CARGO" nextest --version >/dev/null 2>&1; then
        "$CARGO" nextest run --workspace --no-fail-fast || status=1
        # elb-proxy's suite once more on the hyper engine (the default is the fast path):
        # every feature is checked on both.
        ELB_PROXY_ENGINE=hyper "$CARGO" nextest run -p elb-proxy --no-fail-fast || status=1
        "$CARGO" test --workspace --doc --no-fail-fast || status=1
    else
        echo "make test: cargo-nextest not found, so the tests are bounded only as a whole" \
            "($TEST_BOUND); cargo install cargo-nextest --locked bounds each test" >&2
        timeout --kill-after=30s "$TEST_BOUND" "$CARGO" test --workspace --no-fail-fast || status=1
    fi
    return $status
}

case "${1:-all}" in
    fuzz-check) fuzz_check ;;
    all)
        status=0
        tests || status=1
        fuzz_check || status=1
        scripts/check-no-lab-leftovers.sh || status=1
        exit $status
        ;;
    *) echo "usage: $0 [fuzz-check]" >&2; exit 2 ;;
esac
