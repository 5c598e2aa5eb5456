#!/usr/bin/env bash
# Instructions per proxied request of an elb-proxy binary, counted by valgrind's callgrind
# (a count, so A/B runs on a busy machine compare; this VM has no hardware counters for
# `perf stat -e instructions`). One keep-alive client connection (curl -K) through a
# single-threaded proxy to a local nginx member; the count for 100 requests is subtracted
# from the count for N, so start-up and shutdown cancel out.
#
# Usage: scripts/instructions-per-request.sh BINARY fast|hyper LABEL
#        (N=2100 requests by default; EXTRA='request_id: {}' appends config lines)
# Needs: valgrind nginx curl.
set -euo pipefail
BIN=$1; ENGINE=$2; LABEL=$3; N=${N:-2100}
one() {
  local n=$1 D NPORT PPORT NG P
  D=$(mktemp -d /tmp/elb-ipr.XXXX)
  NPORT=$((20000 + RANDOM % 10000)); PPORT=$((30000 + RANDOM % 10000))
  cat > $D/nginx.conf <<NG
worker_processes 1; daemon off; pid $D/nginx.pid; error_log $D/err.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$NPORT; keepalive_requests 100000;
  location / { return 200 "hello\n"; } } }
NG
  nginx -c $D/nginx.conf -p $D & NG=$!
  cat > $D/p.yaml <<Y
workers: 1
listeners: [{ address: "127.0.0.1:$PPORT", engine: $ENGINE }]
clusters:
  - name: app
    members: [{ address: "127.0.0.1:$NPORT" }]
default_cluster: app
${EXTRA:-}
Y
  valgrind --tool=callgrind --callgrind-out-file=$D/cg.out $BIN -c $D/p.yaml --log-level warn 2>$D/vg.log & P=$!
  for i in $(seq 300); do curl -sf http://127.0.0.1:$PPORT/ >/dev/null 2>&1 && break; sleep 0.1; done
  for i in $(seq $((n - 1))); do echo "url = \"http://127.0.0.1:$PPORT/\""; echo "output = /dev/null"; done > $D/curl.cfg
  curl -s -K $D/curl.cfg
  kill -INT $P; wait $P 2>/dev/null || true
  kill $NG; wait $NG 2>/dev/null || true
  awk '/^summary:|^totals:/ {print $2; exit}' $D/cg.out
  rm -rf $D
}
A=$(one 100); B=$(one $N)
echo "$LABEL engine=$ENGINE Ir(100)=$A Ir($N)=$B per_request=$(( (B - A) / (N - 100) ))"
