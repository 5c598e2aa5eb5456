#!/usr/bin/env bash
# vrrpd vs keepalived 2.2.7, side by side in the namespace lab (needs root):
#   - failover time seen by a client through the VIP (medians over BENCH_RUNS runs, default 5)
#     for the reference config (VRRPv2, advert_int 1) on SIGKILL and SIGTERM of the master,
#     and a fast VRRPv3 config (advert_int 0.1);
#   - RSS and CPU per hour at 1 and 200 instances (CPU measured over BENCH_CPU_SECS, default 20);
#   - the CPU cost of a track script every 0.1 s and 0.05 s;
#   - advert intervals of a 0.1 s master sharing its CPU with nice -20 busy loops, with and
#     without max_auto_priority.
# Prints two markdown tables (also saved to target/bench-vrrpd.md); docs/benchmarks/vrrpd.md
# holds a copy of the last published run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: bench-vrrpd needs root (network namespaces)" >&2
    exit 0
fi
command -v /usr/sbin/keepalived >/dev/null || { echo "keepalived is not installed" >&2; exit 1; }
out=target/bench-vrrpd.md
mkdir -p target
{
    echo "# vrrpd vs keepalived ($(date -u +%Y-%m-%dT%H:%MZ), $(/usr/sbin/keepalived -v 2>&1 | head -1), $(nproc) CPUs)"
    echo
    cargo bench -p vrrpd --bench failover_and_resources 2>/dev/null | grep '^|'
    echo
    # What a fast track script costs (the runner's CPU and the script's, per second).
    cargo bench -p vrrpd --bench script_cost 2>/dev/null | grep '^script '
    echo
    # Advert timing under CPU starvation.
    cargo bench -p vrrpd --bench advert_jitter 2>/dev/null | grep '^|'
} | tee "$out"
