#!/usr/bin/env bash
# Sends a table of malformed and ambiguous HTTP/1.1 requests, as raw bytes,
# to HAProxy 2.6 (one thread), nginx 1.22 and elb-proxy, each in front of the
# same tiny backend, and prints every request with each answer (status line,
# "close" or "wait"; "+fwd" when the backend received a request) beside what
# the elb-http1 codec decides. Loopback only; everything it starts is
# stopped on exit. Output is a Markdown table (docs/http1-strictness.md).
#
# Needs: haproxy nginx (nginx-light) python3 cargo. Env: ELB_PROXY (default
# target/release/elb-proxy, else target/debug/elb-proxy), BASE_PORT (38100).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in haproxy nginx python3 cargo; do
  command -v "$tool" >/dev/null || { echo "compare-malformed: $tool not found" >&2; exit 2; }
done
ELB_PROXY=${ELB_PROXY:-}
if [ -z "$ELB_PROXY" ]; then
  for b in target/release/elb-proxy target/debug/elb-proxy; do
    [ -x "$b" ] && { ELB_PROXY=$b; break; }
  done
fi
[ -x "${ELB_PROXY:-}" ] || { echo "compare-malformed: build elb-proxy first (cargo build -p elb-proxy)" >&2; exit 2; }
cargo build -q -p elb-http1 --example decide
DECIDE=$PWD/target/debug/examples/decide

BASE=${BASE_PORT:-38100}
BACKEND=$BASE; HAP=$((BASE + 1)); NGX=$((BASE + 2)); ELB=$((BASE + 3))
WORK=$(mktemp -d /tmp/compare-malformed.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The backend records each request head it gets (one JSON line) and answers 200.
cat > "$WORK/backend.py" <<'PY'
import json, socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(64)
def serve(c):
    c.settimeout(1.0)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d: return
            buf += d
        head = buf.split(b"\r\n\r\n")[0]
        log.write(json.dumps(head.decode("latin-1")) + "\n")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$WORK/backend.py" $BACKEND "$WORK/backend.log" & PIDS+=($!)

cat > "$WORK/haproxy.cfg" <<HAP
global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  timeout http-request 5s
frontend f
  bind 127.0.0.1:$HAP
  default_backend b
backend b
  server s1 127.0.0.1:$BACKEND
HAP
haproxy -f "$WORK/haproxy.cfg" -db 2>"$WORK/haproxy.err" & PIDS+=($!)

mkdir -p "$WORK/ngx"
cat > "$WORK/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/ngx/body;
  proxy_temp_path $WORK/ngx/proxy;
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://127.0.0.1:$BACKEND;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGX
nginx -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)

cat > "$WORK/elb.yaml" <<YAML
workers: 1
listeners: [{ address: 127.0.0.1:$ELB }]
clusters:
  - name: app
    members: [{ address: 127.0.0.1:$BACKEND }]
default_cluster: app
YAML
"$ELB_PROXY" -c "$WORK/elb.yaml" --log-level error & PIDS+=($!)

python3 - "$BACKEND" "$HAP" "$NGX" "$ELB" <<'PY'
import socket, sys, time
deadline = time.time() + 20
for port in map(int, sys.argv[1:]):
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close(); break
        except OSError:
            if time.time() > deadline: sys.exit("compare-malformed: port %d never opened" % port)
            time.sleep(0.05)
PY

python3 - "$WORK/backend.log" "$DECIDE" "$HAP" "$NGX" "$ELB" <<'PY'
import json, socket, subprocess, sys, time

log_path, decide = sys.argv[1], sys.argv[2]
peers = [("HAProxy 2.6", int(sys.argv[3])), ("nginx 1.22", int(sys.argv[4])), ("elb-proxy", int(sys.argv[5]))]

H = b"Host: a\r\n"
CASES = [
    ("valid GET", b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
    ("no Host, HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n"),
    ("no Host, HTTP/1.0", b"GET / HTTP/1.0\r\n\r\n"),
    ("two Host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("Host with space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
    ("Host port 99999", b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"),
    ("absolute-form, other Host", b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("CL twice, same", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    ("CL twice, different", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    ("CL list 3, 3", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc"),
    ("CL +3", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc"),
    ("CL 0x3", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nabc"),
    ("CL with TE (CL.TE smuggle)", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"),
    ("TE chunked, gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("TE gzip, chunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("TE chunked twice", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
    ("TE xchunked", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
    ("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("TE with space before colon", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("TE by obs-fold", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n"),
    ("bare LF line ends", b"GET / HTTP/1.1\nHost: a\n\n"),
    ("bare CR in value", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r2\r\n\r\n"),
    ("NUL in value", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\x002\r\n\r\n"),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    ("empty field name", b"GET / HTTP/1.1\r\n" + H + b": x\r\n\r\n"),
    ("underscore name", b"GET / HTTP/1.1\r\n" + H + b"X_Forwarded_For: 6.6.6.6\r\n\r\n"),
    ("chunk size overflow", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\na\r\n0\r\n\r\n"),
    ("chunk size not hex", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5g\r\nhello\r\n0\r\n\r\n"),
    ("chunk size -5", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk size with space", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"),
    ("chunk lines bare LF", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"),
    ("chunk data too long", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"),
    ("chunk extension with CTL", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n"),
    ("trailer Content-Length", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n"),
    ("HTTP/2.0 version", b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
    ("HTTP/1.2 version", b"GET / HTTP/1.2\r\n" + H + b"\r\n"),
    ("lower-case version", b"GET / http/1.1\r\n" + H + b"\r\n"),
    ("fragment in target", b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n"),
    ("non-ASCII target", b"GET /\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n"),
    ("quote in target", b"GET /a\"b HTTP/1.1\r\n" + H + b"\r\n"),
    ("bad escape %zz", b"GET /%zz HTTP/1.1\r\n" + H + b"\r\n"),
    ("GET *", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    ("GET authority-form", b"GET a:80 HTTP/1.1\r\n" + H + b"\r\n"),
    ("dot segments /a/../x", b"GET /a/../x HTTP/1.1\r\n" + H + b"\r\n"),
    ("encoded /%61pi", b"GET /%61pi HTTP/1.1\r\n" + H + b"\r\n"),
    ("two spaces in request line", b"GET  / HTTP/1.1\r\n" + H + b"\r\n"),
    ("method with (", b"G(T / HTTP/1.1\r\n" + H + b"\r\n"),
    ("Expect: bogus", b"GET / HTTP/1.1\r\n" + H + b"Expect: bogus\r\n\r\n"),
    ("leading CRLF", b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n"),
]

def backend_heads():
    try:
        with open(log_path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []

def ask(port, raw):
    """The answer's status lines (or close / wait) and whether the backend got a request."""
    before = len(backend_heads())
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(raw)
    s.settimeout(1.0)
    got, end = b"", time.time() + 1.5
    try:
        while time.time() < end:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    except OSError:
        pass
    s.close()
    time.sleep(0.05)
    heads = backend_heads()[before:]
    statuses = [l.split(b" ")[1].decode() for l in got.split(b"\r\n") if l.startswith(b"HTTP/1.") and len(l.split(b" ")) > 1]
    ans = "+".join(statuses) if statuses else ("wait" if not got else "?")
    if not got and not statuses:
        ans = "close/wait"
    if heads:
        ans += " fwd" + ("" if len(heads) == 1 else "x%d" % len(heads))
        first = heads[0].split("\r\n")[0].split(" ")
        if len(first) > 1 and first[1] not in ("/",):
            ans += " `%s`" % first[1]
        if any("_" in l.split(":")[0] for l in heads[0].split("\r\n")[1:]):
            ans += " (_ kept)"
    return ans

def shown(raw):
    return raw.decode("latin-1").encode("unicode_escape").decode().replace("|", "\\|")

print("| case | request | " + " | ".join(p[0] for p in peers) + " | elb-http1 |")
print("|---|---|" + "---|" * len(peers) + "---|")
for name, raw in CASES:
    answers = [ask(port, raw) for _, port in peers]
    ours = subprocess.run([decide], input=raw, capture_output=True).stdout.decode().strip()
    print("| %s | `%s` | %s | %s |" % (name, shown(raw), " | ".join(answers), ours))
PY
