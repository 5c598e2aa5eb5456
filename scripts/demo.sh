#!/usr/bin/env bash
# make demo: the seed's two-node failover scenario in an isolated namespace lab.
# Builds release binaries (the Makefile's `release` target ran already) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p elb-ha-e2e --example demo
