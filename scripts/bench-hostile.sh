#!/usr/bin/env bash
# Issue 11: the hostile segment side by side: the same invalid-packet flood and trickle on a
# keepalived 2.2.7 pair and on a vrrpd pair, in the namespace lab (needs root). Prints a
# markdown table, also saved to target/bench-hostile.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: bench-hostile needs root (network namespaces)" >&2
    exit 0
fi
mkdir -p target
cargo build --quiet --release --bins
cargo run --quiet --release -p elb-ha-e2e --example hostile_compare | tee target/bench-hostile.md
