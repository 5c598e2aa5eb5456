#!/usr/bin/env bash
# Issue 9: client-side failover time, keepalived 2.2.7 vs vrrpd vs vrrpd's fast path, in the
# namespace lab (needs root). BENCH_RUNS runs per cell (default 10); BENCH_ONLY=substring picks
# setups. Prints a markdown table, also saved to target/bench-failover.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: bench-failover needs root (network namespaces)" >&2
    exit 0
fi
mkdir -p target
cargo build --quiet --release --bins
cargo run --quiet --release -p elb-ha-e2e --example bench_failover | tee target/bench-failover.md
