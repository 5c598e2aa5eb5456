#!/usr/bin/env bash
# Scaling past one balancer: three elb-proxy nodes behind a router's ECMP route, announced
# by FRR and gated by vrrpd + elb-check, beside ExaBGP's own healthcheck, in the namespace
# lab (needs root). ECMP_RUNS repeats each timed event (default 3). Prints a Markdown
# report, also saved to target/bench-scaling.md (docs/benchmarks/scaling.md holds one).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: bench-scaling needs root (network namespaces)" >&2
    exit 0
fi
scripts/ensure-packages.sh frr exabgp nftables iproute2 python3
mkdir -p target
cargo build --quiet --release --bins
cargo run --quiet --release -p elb-ha-e2e --example ecmp_bench | tee target/bench-scaling.md
