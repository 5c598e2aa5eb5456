#!/usr/bin/env bash
# Cost of observability on elb-proxy's request rate: the same release binary with the access
# log off and with it on in `json` (metrics are always counted), and optionally a baseline
# binary built without this work (BASELINE=path), side by side in one run. Runs alternate
# (A B C, A B C, ...) so drift hits every variant alike; prints each run, then the median
# req/s per variant and its ratio to the first. Loopback only; nginx serves a tiny answer.
#
# With --instructions N it counts instead of timing: each variant runs under valgrind's
# cachegrind (no cache simulation) for N and for 3N requests (curl, one connection), and the difference of the
# instruction counts divided by 2N is the cost of one request (start-up and shutdown cancel
# out). Exact counts, unaffected by other load on the machine; perf's hardware counters are
# not available on every VM.
#
# Usage: scripts/bench-observability.sh [--rounds 5] [--duration 5s] [--conns 64] [--instructions N]
#        [--engine hyper|fast]
# The listener runs the engine given, else the default (the fast path unless
# ELB_PROXY_ENGINE=hyper is exported).
# Needs: wrk nginx taskset (valgrind and curl for --instructions); target/release/elb-proxy (or ELB_PROXY=path).
set -euo pipefail

ROUNDS=5
DURATION=5s
CONNS=64
INSTRUCTIONS=
ENGINE=
# shellcheck source=lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"
bench_args "--rounds ROUNDS --duration DURATION --conns CONNS --instructions INSTRUCTIONS --engine ENGINE" "$@"
# wrk only times; the instruction count runs without it.
if [ -n "$INSTRUCTIONS" ]; then bench_init obs nginx taskset; else bench_init obs wrk nginx taskset; fi
BACKEND_PORT=18090
PORT=18291

cat > "$WORK/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/backend.pid;
error_log $WORK/backend.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    location / { return 200 "hello world\n"; }
  }
}
NGX
start_nginx "$WORK/backend.conf"
wait_port $BACKEND_PORT

config() { # log-line
  cat <<YAML
workers: 1
listeners: [{ address: 127.0.0.1:$PORT${ENGINE:+, engine: $ENGINE} }]
clusters:
  - name: app
    members: [{ address: 127.0.0.1:$BACKEND_PORT }]
default_cluster: app
$1
YAML
}
config "" > "$WORK/off.yaml"
config "access_log: { path: $WORK/access.log, format: json }" > "$WORK/json.yaml"
config "access_log: { path: $WORK/access.log, format: combined }" > "$WORK/combined.yaml"

VARIANTS=("off:$ELB_PROXY:off.yaml" "json:$ELB_PROXY:json.yaml" "combined:$ELB_PROXY:combined.yaml")
if [ -n "${BASELINE:-}" ]; then
  VARIANTS=("baseline:$BASELINE:off.yaml" "${VARIANTS[@]}")
fi

run_one() { # name bin config
  taskset -c "$PROXY_CPU" "$2" -c "$WORK/$3" --log-level warn 2>>"$WORK/$1.err" &
  local pid=$!
  wait_port $PORT
  local out rps reqs ticks
  out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$PORT/")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  # The proxy's CPU time (all its threads, the log writer included) per request: less
  # disturbed than req/s by other load on the machine.
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$WORK/access.log"
  echo "$rps $(awk -v t="$ticks" -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
}

# Instructions the proxy ran (all threads) while serving $4 requests, start-up and
# shutdown included.
count_one() { # name bin config requests
  local out="$WORK/$1.cg"
  taskset -c "$PROXY_CPU" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
    "$2" -c "$WORK/$3" --log-level warn 2>>"$WORK/$1.err" &
  local pid=$!
  # valgrind reads the binary's debug info first: slow on a busy machine.
  if ! (wait_port $PORT 120); then kill "$pid"; exit 1; fi
  # curl's URL range: exactly $4 requests, one after another on one kept-alive connection.
  taskset -c 0 curl -sf -o /dev/null "http://127.0.0.1:$PORT/r[1-$4]"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$WORK/access.log"
  awk '/^summary:/ {print $2}' "$out"
}

if [ -n "$INSTRUCTIONS" ]; then
  for tool in valgrind curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
  done
  echo "| variant | instructions/request ($((2 * INSTRUCTIONS)) requests, curl, one connection) | ratio |"
  echo "|---|---|---|"
  first=""
  for v in "${VARIANTS[@]}"; do
    IFS=: read -r name bin cfg <<<"$v"
    small=$(count_one "$name" "$bin" "$cfg" "$INSTRUCTIONS")
    large=$(count_one "$name" "$bin" "$cfg" "$((3 * INSTRUCTIONS))")
    per=$(( (large - small) / (2 * INSTRUCTIONS) ))
    [ -z "$first" ] && first=$per
    echo "| $name | $per | $(awk -v a="$per" -v b="$first" 'BEGIN {printf "%.3f", a/b}') |"
  done
  exit 0
fi

declare -A RESULTS CPU
for r in $(seq 1 "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    IFS=: read -r name bin cfg <<<"$v"
    read -r rps cpu < <(run_one "$name" "$bin" "$cfg")
    echo "round $r $name $rps req/s, $cpu µs CPU/request"
    RESULTS[$name]="${RESULTS[$name]:-} $rps"
    CPU[$name]="${CPU[$name]:-} $cpu"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "| variant | median req/s ($ROUNDS runs, wrk -c$CONNS $DURATION) | ratio | median CPU µs/request | ratio |"
echo "|---|---|---|---|---|"
first=""; firstc=""
for v in "${VARIANTS[@]}"; do
  name=${v%%:*}
  m=$(echo "${RESULTS[$name]}" | median)
  c=$(echo "${CPU[$name]}" | median)
  [ -z "$first" ] && first=$m && firstc=$c
  echo "| $name | $m | $(awk -v a="$m" -v b="$first" 'BEGIN {printf "%.3f", a/b}') | $c | $(awk -v a="$c" -v b="$firstc" 'BEGIN {printf "%.3f", a/b}') |"
done
