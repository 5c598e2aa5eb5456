# Shared by the loopback benchmarks (bench-elb-proxy.sh, bench-observability.sh): argument
# parsing, the release binary, the work directory with its cleanup, port waits and nginx.
# Source it after `set -euo pipefail`.

# bench_args "--opt VAR --opt2 VAR2 ..." "$@": sets each VAR from `--opt VALUE`; anything else
# is a usage error (exit 2).
bench_args() {
  local spec=$1 var
  shift
  while [ $# -gt 0 ]; do
    var=$(awk -v o="$1" '{ for (i = 1; i < NF; i += 2) if ($i == o) print $(i + 1) }' <<<"$spec")
    if [ -z "$var" ] || [ $# -lt 2 ]; then
      echo "unknown argument $1" >&2
      exit 2
    fi
    printf -v "$var" '%s' "$2"
    shift 2
  done
}

# bench_init NAME TOOL...: ROOT, ELB_PROXY (the release build, or $ELB_PROXY), PROXY_CPU (CPU 1
# when there are two), WORK (a fresh /tmp/bench-NAME.*, removed on exit with every process
# started through PIDS); fails when a tool or the binary is missing.
bench_init() {
  local name=$1 tool
  shift
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  ELB_PROXY=${ELB_PROXY:-${CARGO_TARGET_DIR:-$ROOT/target}/release/elb-proxy}
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (make bench-deps)" >&2; exit 1; }
  done
  [ -x "$ELB_PROXY" ] || { echo "missing $ELB_PROXY (cargo build --release -p elb-proxy)" >&2; exit 1; }
  NCPU=$(nproc)
  PROXY_CPU=$(( NCPU > 1 ? 1 : 0 ))
  WORK=$(mktemp -d "/tmp/bench-$name.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT, at most SECONDS (10).
wait_port() {
  for _ in $(seq 1 $(( ${2:-10} * 20 ))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  exit 1
}

# start_nginx CONF: nginx on the proxy CPU with CONF (which says `daemon off`), in PIDS.
start_nginx() {
  taskset -c "$PROXY_CPU" nginx -c "$1" -p "$WORK" 2>/dev/null &
  PIDS+=($!)
}
