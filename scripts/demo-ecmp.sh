#!/usr/bin/env bash
# make demo-ecmp: three elb-proxy balancers behind a router's ECMP route (FRR, BGP, BFD),
# each gated by vrrpd + elb-check, in an isolated namespace lab (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p elb-ha-e2e --example ecmp_demo
