#!/usr/bin/env bash
# keepalived.conf parsing speed: 1,000 instances and 10,000 VIPs, vrrpd's parser vs
# `keepalived -t` on the same generated file (see docs/benchmarks/keepalived-conf.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p keepalived-conf --example bench_parse -- 21
