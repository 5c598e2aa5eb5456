#!/usr/bin/env bash
# Side-by-side benchmark: elb-proxy vs HAProxy vs nginx as reverse proxies in front of one
# nginx backend, on loopback. Proxy and backend pinned to CPU 1, wrk pinned to CPU 0, every
# proxy single-threaded, upstream keep-alive on everywhere, access logs off everywhere.
# Prints a Markdown table (req/s, p50, p99, proxy CPU per request, the backend's CPU per
# request: it shares the proxies' CPU, so it bounds their rate; peak RSS) per concurrency,
# then idle keep-alive memory (10,000 connections) and a 1 GiB transfer each way.
#
# Usage: scripts/bench-elb-proxy.sh [--duration 10s] [--conns "1 50 200"] [--idle 9000]
#        [--parts "idle rate transfer"] [--transfers 1] [--rounds 3]
# (--rounds: each rate cell is run that many times, the proxies alternating within a round;
# the table shows the median of the rounds, and every round's req/s.)
# elb-proxy runs twice: `elb-proxy` (listener engine fast, its own HTTP/1.1 path) and
# `elb-proxy hyper` (engine hyper), so the two engines are compared in the same run.
# (--parts picks sections, e.g. --parts transfer for the 1 GiB runs only; --transfers repeats
# each 1 GiB transfer that many times per proxy, one row per run.)
# (--idle defaults to 9000 because this machine caps open files at 20000 per process and
# HAProxy needs two descriptors per connection; pass --idle 10000 where the limit allows.)
# Needs: wrk haproxy nginx (nginx-light) taskset python3 curl; a release build of elb-proxy
# (target/release/elb-proxy, or set ELB_PROXY=path).
set -euo pipefail

DURATION=10s
CONNS="1 50 200"
IDLE=9000
PARTS="idle rate transfer"
TRANSFERS=1
ROUNDS=3
# shellcheck source=lib/bench.sh
. "$(dirname "$0")/lib/bench.sh"
bench_args "--duration DURATION --conns CONNS --idle IDLE --parts PARTS --transfers TRANSFERS --rounds ROUNDS" "$@"
bench_init elb-proxy wrk haproxy nginx taskset python3 curl
LOAD_CPU=0
BACKEND_PORT=18080
ELB_PORT=18281
HAPROXY_PORT=18282
NGINX_PORT=18283
ELBH_PORT=18284
chmod 755 "$WORK"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- backend: nginx, one worker, tiny answer, a 1 GiB sparse file, body sink for uploads
mkdir -p "$WORK/www" && truncate -s 1G "$WORK/www/big" && chmod 644 "$WORK/www/big"
# Read it once now: the first read of a sparse file fills 1 GiB of page cache with zeroed
# pages (about a second of kernel time on the backend's CPU), which would otherwise be charged
# to whichever proxy downloads first (elb-proxy, until session 2: 281 MiB/s vs 1,100 warm).
cat "$WORK/www/big" > /dev/null
cat > "$WORK/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/backend.pid;
error_log $WORK/backend.err warn;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_max_body_size 0;
  client_body_temp_path $WORK/tmp;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096 reuseport;
    location = /big { root $WORK/www; }
    location / { return 200 "hello world\n"; }
  }
}
NGX
mkdir -p "$WORK/tmp"
SINK_PORT=18085
cat > "$WORK/sink.py" <<'PY'
# Upload sink: reads a whole request body (Content-Length or chunked), then answers with
# the byte count, so an upload is timed end to end.
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(16)
def serve(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d: break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    h = head.lower()
    total = 0
    if b"content-length:" in h:
        n = int(h.split(b"content-length:")[1].split(b"\r\n")[0])
        total = len(rest)
        while total < n:
            d = c.recv(1 << 20)
            if not d: break
            total += len(d)
    else:
        tail = rest[-5:]
        total = len(rest)
        while not tail.endswith(b"0\r\n\r\n"):
            d = c.recv(1 << 20)
            if not d: break
            total += len(d)
            tail = (tail + d)[-5:]
    body = b"%d\n" % total
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    c.close()
while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except OSError:
        c.close()
PY
python3 "$WORK/sink.py" $SINK_PORT & PIDS+=($!)
start_nginx "$WORK/backend.conf"
wait_port $BACKEND_PORT; wait_port $SINK_PORT

# --- elb-proxy
cat > "$WORK/elb.yaml" <<YAML
workers: 1
listeners: [{ address: 127.0.0.1:$ELB_PORT, engine: fast }]
clusters:
  - name: app
    members: [{ address: 127.0.0.1:$BACKEND_PORT }]
    # The default (256): enough idle member connections for the largest wrk concurrency.
    pool_max_idle: 256
  - name: sink
    members: [{ address: 127.0.0.1:$SINK_PORT }]
routes: [{ match: { path: /upload }, cluster: sink }]
default_cluster: app
limits: { max_connections: 60000 }
timeouts: { request_header: 120s }
# The same forwarding work as HAProxy's "option forwardfor" and the nginx config below.
forward_headers: [x-forwarded-for]
YAML
taskset -c $PROXY_CPU "$ELB_PROXY" -c "$WORK/elb.yaml" --log-level warn & PIDS+=($!); ELB_PID=$!
# The same config on the hyper engine (the only differences: port and engine).
sed -e "s/127.0.0.1:$ELB_PORT, engine: fast }/127.0.0.1:$ELBH_PORT, engine: hyper }/" "$WORK/elb.yaml" > "$WORK/elb-hyper.yaml"
taskset -c $PROXY_CPU "$ELB_PROXY" -c "$WORK/elb-hyper.yaml" --log-level warn & PIDS+=($!); ELBH_PID=$!

# --- HAProxy
cat > "$WORK/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 9800
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 60s
  timeout http-request 120s
  timeout http-keep-alive 120s
  option forwardfor
  http-reuse always
frontend f
  bind 127.0.0.1:$HAPROXY_PORT
  use_backend sink if { path /upload }
  default_backend b
backend b
  server s1 127.0.0.1:$BACKEND_PORT
backend sink
  server s1 127.0.0.1:$SINK_PORT
HAP
taskset -c $PROXY_CPU haproxy -f "$WORK/haproxy.cfg" -db & PIDS+=($!); HAP_PID=$!

# --- nginx as proxy
cat > "$WORK/nginx-proxy.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx-proxy.pid;
error_log $WORK/nginx-proxy.err warn;
worker_rlimit_nofile 20000;
events { worker_connections 60000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_max_body_size 0;
  client_body_temp_path $WORK/tmp2;
  proxy_temp_path $WORK/tmp3;
  upstream b { server 127.0.0.1:$BACKEND_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location = /upload {
      proxy_pass http://127.0.0.1:$SINK_PORT;
      proxy_http_version 1.1;
      proxy_request_buffering off;
    }
    location / {
      proxy_pass http://b;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
NGX
mkdir -p "$WORK/tmp2" "$WORK/tmp3"
start_nginx "$WORK/nginx-proxy.conf"
wait_port $ELB_PORT; wait_port $ELBH_PORT; wait_port $HAPROXY_PORT; wait_port $NGINX_PORT
sleep 0.3
NGINX_WORKER=$(pgrep -P "$(cat "$WORK/nginx-proxy.pid")" | head -1)
# The backend shares the proxies' CPU, so its time per request bounds every proxy's rate.
BACKEND_WORKER=$(pgrep -P "$(cat "$WORK/backend.pid")" | head -1)

PROXIES="haproxy elb-proxy elb-proxy-hyper nginx"
proxy_of() { # name -> "port pid"
  case $1 in
    elb-proxy) echo "$ELB_PORT $ELB_PID" ;;
    elb-proxy-hyper) echo "$ELBH_PORT $ELBH_PID" ;;
    haproxy) echo "$HAPROXY_PORT $HAP_PID" ;;
    nginx) echo "$NGINX_PORT $NGINX_WORKER" ;;
  esac
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

to_us() { # wrk latency like 95.00us / 1.20ms / 2.00s -> microseconds
  python3 -c "import sys,re
v=sys.argv[1]; m=re.match(r'([0-9.]+)(us|ms|s)',v)
print('%.0f'%(float(m.group(1))*{'us':1,'ms':1000,'s':1e6}[m.group(2)]) if m else 'nan')" "$1"
}

run_wrk() { # port conns -> "rps p50us p99us requests errors"
  local out
  out=$(taskset -c $LOAD_CPU wrk -t1 -c"$2" -d"$DURATION" --latency "http://127.0.0.1:$1/" 2>&1)
  local rps p50 p99 reqs errs non2xx
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  errs=$(awk '/Socket errors/{gsub(",","");print $4+$6+$8+$10}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out")
  echo "$rps $(to_us "$p50") $(to_us "$p99") $reqs $(( ${errs:-0} + ${non2xx:-0} ))"
}

echo "# elb-proxy benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(nproc) CPUs ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ //')), kernel $(uname -r)."
echo "Versions: $("$ELB_PROXY" --version), $(haproxy -v | head -1 | awk '{print "HAProxy "$3}'), $(nginx -v 2>&1 | sed 's/.*\///;s/^/nginx /'), $(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')."
echo "Proxy and backend on CPU $PROXY_CPU, wrk -t1 on CPU $LOAD_CPU, $DURATION per cell."
part() { [[ " $PARTS " == *" $1 "* ]]; }

if part idle; then
echo
echo "## Idle keep-alive connections ($IDLE, each after one request; measured first, on fresh processes)"
echo
echo "| proxy | RSS before KiB | RSS with $IDLE idle KiB | bytes per idle connection |"
echo "|---|---|---|---|"
cat > "$WORK/idle.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
for s in socks:
    s.settimeout(10)
    buf = b""
    while b"hello world" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
PY
for name in elb-proxy elb-proxy-hyper haproxy nginx; do
  read -r port pid <<<"$(proxy_of $name)"
  before=$(rss_kb "$pid")
  coproc IDLEC { taskset -c $LOAD_CPU python3 "$WORK/idle.py" "$port" "$IDLE"; }
  read -r -t 120 line <&"${IDLEC[0]}" || line=failed
  # Sampled after the connections have been idle 2.5 s: steady state, not the transient
  # right after the burst (elb-proxy returns freed memory to the OS once a second).
  sleep 2.5
  after=$(rss_kb "$pid")
  echo >&"${IDLEC[1]}" || true
  wait "$IDLEC_PID" 2>/dev/null || true
  per=$(python3 -c "print('%.0f' % (($after-$before)*1024/$IDLE))")
  [ "$line" = ready ] || per="failed"
  echo "| $name | $before | $after | $per |"
  sleep 1
done
fi

if part rate; then
echo
echo "## Request rate and latency (median of $ROUNDS alternating rounds)"
echo
echo "| conns | proxy | req/s | vs HAProxy | vs nginx | share of direct | p50 µs | p99 µs | CPU µs/req | CPU vs HAProxy | backend CPU µs/req | errors | req/s each round |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
RES="$WORK/rate.txt"; : > "$RES"
for c in $CONNS; do
  for r in $(seq 1 "$ROUNDS"); do
    b0=$(cpu_ticks "$BACKEND_WORKER")
    d=$(run_wrk $BACKEND_PORT "$c")
    b1=$(cpu_ticks "$BACKEND_WORKER")
    echo "$c direct $d 0 $((b1 - b0))" >> "$RES"
    for name in $PROXIES; do
      read -r port pid <<<"$(proxy_of $name)"
      t0=$(cpu_ticks "$pid"); b0=$(cpu_ticks "$BACKEND_WORKER")
      out=$(run_wrk "$port" "$c")
      t1=$(cpu_ticks "$pid"); b1=$(cpu_ticks "$BACKEND_WORKER")
      echo "$c $name $out $((t1 - t0)) $((b1 - b0))" >> "$RES"
    done
  done
done
python3 - "$RES" "$TCK" "$CONNS" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
tck = float(sys.argv[2]); conns = sys.argv[3].split()
med = lambda xs: st.median(xs) if xs else float("nan")
for c in conns:
    cell = {}
    for name in ["direct", "haproxy", "elb-proxy", "elb-proxy-hyper", "nginx"]:
        rs = [r for r in rows if r[0] == c and r[1] == name]
        rps = [float(r[2]) for r in rs]
        cpu = [int(r[7]) / tck * 1e6 / max(1, int(r[5])) for r in rs]
        backend = [int(r[8]) / tck * 1e6 / max(1, int(r[5])) for r in rs]
        cell[name] = dict(rps=med(rps), p50=med([float(r[3]) for r in rs]),
                          p99=med([float(r[4]) for r in rs]), cpu=med(cpu),
                          backend=med(backend),
                          err=sum(int(r[6]) for r in rs), each=rps)
    h, n, d = cell["haproxy"], cell["nginx"], cell["direct"]
    for name, v in cell.items():
        each = " / ".join("%.0f" % x for x in v["each"])
        if name == "direct":
            print(f"| {c} | direct (no proxy) | {v['rps']:.0f} | | | | {v['p50']:.0f} | {v['p99']:.0f} | | | {v['backend']:.1f} | {v['err']} | {each} |")
            continue
        print(f"| {c} | {name} | {v['rps']:.0f} | {v['rps']/h['rps']:.2f} | {v['rps']/n['rps']:.2f} | "
              f"{v['rps']/d['rps']:.2f} | {v['p50']:.0f} | {v['p99']:.0f} | {v['cpu']:.1f} | "
              f"{v['cpu']/h['cpu']:.2f} | {v['backend']:.1f} | {v['err']} | {each} |")
PY
fi

if part transfer; then
echo
echo "## 1 GiB through the proxy (one connection)"
echo
echo "| proxy | download s | download MiB/s | upload s | upload MiB/s | peak RSS KiB after |"
echo "|---|---|---|---|---|---|"
for _ in $(seq 1 "$TRANSFERS"); do
for name in elb-proxy elb-proxy-hyper haproxy nginx; do
  read -r port pid <<<"$(proxy_of $name)"
  down=$(taskset -c $LOAD_CPU curl -s -o /dev/null --max-time 120 -w '%{time_total} %{size_download}' "http://127.0.0.1:$port/big" || echo "0 0")
  up=$(head -c 1073741824 /dev/zero | taskset -c $LOAD_CPU curl -s -o /dev/null --max-time 120 -w '%{time_total} %{size_upload}' -H 'Transfer-Encoding: chunked' -T - "http://127.0.0.1:$port/upload" || echo "0 0")
  read -r dt ds <<<"$down"; read -r ut us <<<"$up"
  echo "| $name | $dt | $(python3 -c "print('%.0f' % ($ds/1048576/max($dt,1e-9)))") | $ut | $(python3 -c "print('%.0f' % ($us/1048576/max($ut,1e-9)))") | $(hwm_kb "$pid") |"
done
done
fi
