#!/usr/bin/env bash
# Whole-process cost of one health probe of a local 200 endpoint, side by side:
# elb-check, curl -sf, wget -q, the seed deployment's wget+awk track script,
# and /bin/true (the fork+exec floor). Runs alternate (round-robin), many
# iterations, bounded in count and time; prints medians of wall time, CPU time
# (user+sys) and peak RSS, the ratios, and whether the targets are met.
# Exits non-zero only if a probe failed; missed targets are printed as MISS.
#
# Usage: scripts/bench-elb-check.sh [ITERATIONS] [MAX_SECONDS]
#   ELB_CHECK=path/to/elb-check   the build measured against the targets
#       (default: the shipped static build, crates/elb-check/build-static.sh)
#   ELB_CHECK_ALSO=path/to/elb-check   another build measured in the same
#       rounds, e.g. target/release/elb-check (plain cargo build --release)
#   WATCH_SECONDS=30   then run `elb-check --watch 20ms` against the same
#       endpoint that long and print its CPU time per hour and memory
#       (0: skip)
# Run by `make bench` after `make release`. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

ITERATIONS=${1:-300}
MAX_SECONDS=${2:-240}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
CARGO=${CARGO:-cargo}
ELB_CHECK=${ELB_CHECK:-$(CARGO="$CARGO" crates/elb-check/build-static.sh --path)}
ELB_CHECK_ALSO=${ELB_CHECK_ALSO:-}

for tool in curl wget awk bash; do
    command -v "$tool" >/dev/null || { echo "bench-elb-check: $tool is missing (make bench-deps)" >&2; exit 1; }
done
[ -x "$ELB_CHECK" ] || { echo "bench-elb-check: $ELB_CHECK not built (make release, or crates/elb-check/build-static.sh)" >&2; exit 1; }
[ -z "$ELB_CHECK_ALSO" ] || [ -x "$ELB_CHECK_ALSO" ] || { echo "bench-elb-check: $ELB_CHECK_ALSO not built" >&2; exit 1; }
$CARGO build --release --quiet -p elb-check --example bench-server
SERVER=$TARGET_DIR/release/examples/bench-server

# Debian's python3 (a pyenv shim earlier on PATH would add its own start-up noise to nothing, but be explicit).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

exec "$PY" - "$ELB_CHECK" "$SERVER" "$ITERATIONS" "$MAX_SECONDS" "$ELB_CHECK_ALSO" "${WATCH_SECONDS:-30}" <<'PYEOF'
import os, shutil, statistics, struct, subprocess, sys, tempfile, time

elb_check, server_bin, iterations, max_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
also = sys.argv[5]
watch_seconds = float(sys.argv[6])
# Absolute now: the runs happen in a scratch directory that is gone by the summary.
elb_check = os.path.abspath(elb_check)
also = os.path.abspath(also) if also else also
server = subprocess.Popen([server_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
port = int(server.stdout.readline())
url = f"http://127.0.0.1:{port}/services/EchoProxy"
seed = ("CODE=$(wget --server-response http://localhost:%d/services/EchoProxy 2>&1 | "
        "awk '/^  HTTP/{print $2}'); [ ${CODE} -eq \"200\" ] && exit 0 || exit 1") % port
work = tempfile.mkdtemp(prefix="bench-elb-check-")  # wget saves bodies; keep them out of the tree

contenders = [
    ("/bin/true", ["/bin/true"]),
    ("elb-check", [os.path.abspath(elb_check), url]),
    ("curl -sf", [shutil.which("curl"), "-sf", "-o", "/dev/null", url]),
    ("wget -q", [shutil.which("wget"), "-q", "-O", "/dev/null", url]),
    ("seed wget+awk script", [shutil.which("bash"), "-c", seed]),
]
if also:
    contenders.insert(2, ("elb-check (ELB_CHECK_ALSO)", [os.path.abspath(also), url]))

def linkage(path):
    """'dynamic' when the ELF file names a program interpreter (PT_INTERP), else 'static'."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
        types = [struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)]
        return "dynamic" if 3 in types else "static"
    except (OSError, struct.error):
        return "?"

def run_once(argv):
    """posix_spawn + wait4: wall time and CPU time (user+sys) of that process tree."""
    devnull = os.open(os.devnull, os.O_RDWR)
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                       (os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e6
    os.close(devnull)
    return wall, (ru.ru_utime + ru.ru_stime) * 1e3, os.waitstatus_to_exitcode(status)

TIME = "/usr/bin/time"
def peak_rss(argv):
    """Peak RSS in KB via GNU time (%M). Measured in a separate run: a child
    spawned straight from this Python process inherits Python's memory
    high-water mark until exec, so wait4's ru_maxrss would report Python."""
    if not os.access(TIME, os.X_OK):
        return float("nan")
    out = os.path.join(work, "rss")
    subprocess.run([TIME, "-f", "%M", "-o", out] + argv, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return float(f.read().split()[-1])

def load_from_disk(path):
    """Drops a binary's pages from the page cache, so it is measured as loaded
    from disk. A freshly linked or copied file sits in the cache as the writer
    left it (ext4 keeps it in larger folios), which changes how much the
    kernel's fault-around maps: four copies of the same elb-check measured
    2148 to 2460 KB peak RSS depending on which program wrote them, and
    2148 KB each once re-read from disk. Only clean, unmapped pages go."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    except OSError:
        pass

os.chdir(work)
for _, argv in contenders:
    load_from_disk(argv[0])
samples = {name: [] for name, _ in contenders}
failures = {name: 0 for name, _ in contenders}
for name, argv in contenders:  # warm caches once, not measured
    for _ in range(3):
        run_once(argv)
started = time.monotonic()
done = 0
for i in range(iterations):
    if time.monotonic() - started > max_seconds:
        break
    order = contenders[i % len(contenders):] + contenders[:i % len(contenders)]
    for name, argv in order:
        wall, cpu, code = run_once(argv)
        if code != 0:
            failures[name] += 1
        samples[name].append((wall, cpu, peak_rss(argv)))
    done += 1
def proc_cpu_ms(pid):
    """utime + stime of a running process, from /proc/PID/stat (clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")

def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])

watch = None
if watch_seconds > 0:
    track = os.path.join(work, "elb.track")
    argv = [elb_check, "--watch", "20ms", "-t", "15ms", "--track-file", track, url]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(track) and time.monotonic() < deadline:
        time.sleep(0.01)  # the first probe writes the file; nothing to block on
    time.sleep(1)  # settle: the first probes load TLS-free code paths and the page cache
    c0, r0, t0 = proc_cpu_ms(proc.pid), proc_rss_kb(proc.pid), time.monotonic()
    time.sleep(watch_seconds)
    c1, r1, t1 = proc_cpu_ms(proc.pid), proc_rss_kb(proc.pid), time.monotonic()
    with open(track) as f:
        state = f.read().strip()
    proc.terminate()
    proc.wait(timeout=5)
    watch = (c1 - c0, t1 - t0, r0, r1, state)
server.stdin.close()
server.wait(timeout=5)
shutil.rmtree(work, ignore_errors=True)

def med(name, k):
    return statistics.median(s[k] for s in samples[name])

def version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5).stdout
        return out.splitlines()[0] if out else "?"
    except Exception:
        return "?"
print(f"elb-check benchmark: {done} alternating rounds in {time.monotonic()-started:.1f} s, "
      f"{os.cpu_count()} CPUs, kernel {os.uname().release}, load average {os.getloadavg()[0]:.1f}")
print(f"  {version([os.path.abspath(elb_check), '--version'])} ({elb_check}, {linkage(elb_check)}, "
      f"{os.path.getsize(elb_check)} bytes); "
      f"{version(['curl', '--version'])[:40]}; {version(['wget', '--version'])[:40]}")
if also:
    print(f"  ELB_CHECK_ALSO: {also}, {linkage(also)}, {os.path.getsize(also)} bytes")
print()
print("| probe | median wall (ms) | median CPU user+sys (ms) | median peak RSS (KB) | failures |")
print("|---|---:|---:|---:|---:|")
for name, _ in contenders:
    print(f"| {name} | {med(name,0):.2f} | {med(name,1):.2f} | {med(name,2):.0f} | {failures[name]} |")
e, w, c, t, s = (med(n, 0) for n in ("elb-check", "wget -q", "curl -sf", "/bin/true", "seed wget+awk script"))
er, wr = med("elb-check", 2), med("wget -q", 2)
print()
checks = [
    (f"wall elb-check / wget  = {e/w:.3f} (target <= 0.5)", e / w <= 0.5),
    (f"wall elb-check / curl  = {e/c:.3f} (target <= 0.25)", e / c <= 0.25),
    (f"wall elb-check - /bin/true = {e-t:+.2f} ms (target <= 1 ms)", e - t <= 1.0),
    (f"RSS  elb-check / wget  = {er/wr:.3f} (target <= 0.5)", er / wr <= 0.5),
    (f"wall elb-check / seed script = {e/s:.3f}", True),
]
for text, ok in checks:
    print(("PASS  " if ok else "MISS  ") + text)
if also:
    n = "elb-check (ELB_CHECK_ALSO)"
    print(f"info  ELB_CHECK_ALSO: wall / wget = {med(n,0)/w:.3f}, wall / curl = {med(n,0)/c:.3f}, "
          f"wall - /bin/true = {med(n,0)-t:+.2f} ms, RSS / wget = {med(n,2)/wr:.3f}")
if watch:
    cpu, wall, r0, r1, state = watch
    print(f"info  --watch 20ms for {wall:.0f} s (track file {state}): CPU {cpu:.0f} ms = "
          f"{cpu / wall * 3600 / 1000:.1f} s per hour ({cpu / wall / 10:.2f}% of a core), "
          f"RSS {r0} KB -> {r1} KB")
met = sum(ok for _, ok in checks[:4])
print(f"targets met: {met}/4")
# Fail only when a probe failed (a broken set-up); a missed target is reported
# above, not turned into an error that would stop the other benchmarks.
sys.exit(1 if any(failures.values()) else 0)
PYEOF
