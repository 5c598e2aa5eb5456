//! Speed benchmark: a generated keepalived.conf with 1,000 instances and 10,000 VIPs, parsed
//! and validated by this crate (median of several runs), next to `keepalived -t` on the same
//! file (run in a throw-away network namespace holding the interfaces it names).
//!
//! `cargo run --release -p keepalived-conf --example bench_parse [RUNS]`

use keepalived_conf::{LoadOptions, load_file};
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

const INSTANCES: usize = 1000;
const VIPS_PER_INSTANCE: usize = 10;
/// VRIDs are unique per interface, so spread instances over 4 interfaces of 250 each.
const PER_INTERFACE: usize = 250;

fn generate() -> String {
    let mut s = String::from(
        "global_defs {\n    router_id bench\n    enable_script_security\n    script_user root\n}\n",
    );
    for i in 0..INSTANCES {
        let iface = i / PER_INTERFACE;
        let vrid = i % PER_INTERFACE + 1;
        let _ = write!(
            s,
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{iface}\n    virtual_router_id {vrid}\n    priority {}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass pw{i}\n    }}\n    virtual_ipaddress {{\n",
            100 + i % 100
        );
        for v in 0..VIPS_PER_INSTANCE {
            let n = i * VIPS_PER_INSTANCE + v;
            let _ = writeln!(
                s,
                "        198.18.{}.{}/16 dev eth{iface} label eth{iface}:{v}",
                n / 250,
                n % 250 + 1
            );
        }
        s.push_str("    }\n}\n");
    }
    s
}

/// CPU time this thread has run (Linux schedstat, ns): unlike wall time, it does not count
/// time spent waiting for a core on a loaded machine.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// CPU time of reaped children (user + system, from /proc/self/stat; 10 ms ticks).
fn children_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 16 and 17 of stat (cutime, cstime) are 13 and 14 after the command name.
    let ticks: u64 = f.get(13)?.parse::<u64>().ok()? + f.get(14)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(11);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keepalived.conf");
    let text = generate();
    std::fs::write(&path, &text).expect("write config");
    println!(
        "config: {INSTANCES} instances, {} VIPs, {} bytes, {} lines",
        INSTANCES * VIPS_PER_INSTANCE,
        text.len(),
        text.lines().count()
    );

    let opts = LoadOptions::default();
    let mut ours = Vec::new();
    let mut ours_cpu = Vec::new();
    for _ in 0..runs {
        let c = thread_cpu();
        let t = Instant::now();
        let loaded = load_file(&path, &opts);
        let elapsed = t.elapsed();
        if let (Some(a), Some(b)) = (c, thread_cpu()) {
            ours_cpu.push(b.saturating_sub(a));
        }
        let cfg = loaded.config.as_ref().expect("config loads");
        assert_eq!(cfg.instances.len(), INSTANCES);
        let vips: usize = cfg
            .instances
            .iter()
            .map(|i| i.virtual_ipaddress.len())
            .sum();
        assert_eq!(vips, INSTANCES * VIPS_PER_INSTANCE);
        assert_eq!(loaded.exit_class(), 0, "{:?}", loaded.diagnostics.first());
        ours.push(elapsed);
    }
    if !ours_cpu.is_empty() {
        println!(
            "keepalived-conf parse+validate CPU time: median {:.2} ms",
            median(ours_cpu).as_secs_f64() * 1e3
        );
    }
    let m = median(ours.clone());
    println!(
        "keepalived-conf parse+validate: median {:.2} ms over {runs} runs (min {:.2}, max {:.2})",
        m.as_secs_f64() * 1e3,
        ours.iter().min().unwrap().as_secs_f64() * 1e3,
        ours.iter().max().unwrap().as_secs_f64() * 1e3
    );

    if !std::path::Path::new("/usr/sbin/keepalived").exists() {
        println!("keepalived -t: not installed, skipped");
        return;
    }
    // Baseline: the namespace and links alone, subtracted from keepalived's figure.
    let setup =
        "ip link add eth0 type veth peer name eth1 && ip link add eth2 type veth peer name eth3";
    let run = |cmd: String| -> Option<Duration> {
        let t = Instant::now();
        let st = Command::new("unshare")
            .args(["-n", "sh", "-c", &cmd])
            .output()
            .ok()?;
        let e = t.elapsed();
        st.status.code().map(|_| e)
    };
    let mut base = Vec::new();
    let mut theirs = Vec::new();
    let mut base_cpu = Vec::new();
    let mut theirs_cpu = Vec::new();
    let mut code = None;
    for _ in 0..runs.min(7) {
        let c0 = children_cpu();
        base.extend(run(format!("{setup}; true")));
        let c1 = children_cpu();
        let t = Instant::now();
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c"])
            .arg(format!(
                "{setup}; exec timeout 120 /usr/sbin/keepalived -t -f \"$1\""
            ))
            .arg("sh")
            .arg(&path)
            .output();
        theirs.push(t.elapsed());
        code = out.ok().and_then(|o| o.status.code());
        if let (Some(a), Some(b), Some(c)) = (c0, c1, children_cpu()) {
            base_cpu.push(b.saturating_sub(a));
            theirs_cpu.push(c.saturating_sub(b));
        }
    }
    if !theirs_cpu.is_empty() {
        let (bc, kc) = (median(base_cpu), median(theirs_cpu));
        println!(
            "keepalived -t (2.2.7) CPU time: median {:.0} ms ({:.0} ms after subtracting namespace setup; 10 ms ticks)",
            kc.as_secs_f64() * 1e3,
            kc.saturating_sub(bc).as_secs_f64() * 1e3
        );
    }
    let (b, k) = (median(base), median(theirs));
    println!(
        "keepalived -t (2.2.7): median {:.1} ms wall, {:.1} ms after subtracting {:.1} ms namespace setup; exit {:?}",
        k.as_secs_f64() * 1e3,
        k.saturating_sub(b).as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        code
    );
    println!(
        "ratio keepalived/keepalived-conf: {:.1}x",
        k.saturating_sub(b).as_secs_f64() / m.as_secs_f64()
    );
}
