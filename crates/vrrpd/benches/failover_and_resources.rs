//! The vrrpd benchmark that `scripts/bench-vrrpd.sh` runs (needs root): failover time seen by a
//! client through the VIP, vrrpd vs keepalived 2.2.7 with the same configuration, and the
//! resident memory and CPU of each daemon at 1 and 200 instances.
//!
//! Failover: hosts 0 and 1 run the daemons (priority 150 and 100) and a tiny TCP responder on
//! port 8080 answering its host's name; host 2 is the client, connecting to VIP:8080 in a tight
//! loop (20 ms connect timeout). The time is from the event (SIGKILL of the master's whole
//! process tree, or SIGTERM) to the first answer from the backup's responder.

#[path = "../tests/lab/vrrp_lab.rs"]
mod vrrp_lab;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;
use vrrp_lab::*;

const PORT: u16 = 8080;

/// keepalived.conf text for a node of the given priority.
type ConfFn = Box<dyn Fn(u8) -> String>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Vrrpd,
    Keepalived,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Vrrpd => "vrrpd",
            Kind::Keepalived => "keepalived",
        }
    }
}

fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn start(lab: &Lab, h: &Host, tag: &str, kind: Kind, conf: &str) -> Proc {
    match kind {
        Kind::Vrrpd => start_vrrpd(lab, h, tag, conf, &[]),
        Kind::Keepalived => start_keepalived(lab, h, tag, conf),
    }
}

/// A responder on 0.0.0.0:8080 inside `h` that answers `name` to every connection.
fn responder(h: &Host, name: &'static str) {
    let l = h
        .in_netns(|| TcpListener::bind(("0.0.0.0", PORT)))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(name.as_bytes());
        }
    });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One failover: returns the milliseconds from the event to the first answer from "b".
fn failover_once(kind: Kind, conf_a: &str, conf_b: &str, event: Signal) -> f64 {
    let lab = Lab::new(3).unwrap();
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    responder(a, "a");
    responder(b, "b");
    let vip = ip(VIP4);
    let pa = start(&lab, a, "a", kind, conf_a);
    let pb = start(&lab, b, "b", kind, conf_b);
    a.wait_for_address(vip, true, Duration::from_secs(20))
        .unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    let target = SocketAddr::new(vip, PORT);
    client.wait_tcp(target, WAIT).unwrap();

    let armed = AtomicBool::new(false);
    let first_b: Mutex<Option<Instant>> = Mutex::new(None);
    let t0 = std::thread::scope(|scope| {
        let probe = scope.spawn(|| {
            client
                .in_netns(|| {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while Instant::now() < deadline {
                        let answer = TcpStream::connect_timeout(&target, Duration::from_millis(20))
                            .ok()
                            .and_then(|mut s| {
                                s.set_read_timeout(Some(Duration::from_millis(50))).ok()?;
                                let mut buf = [0u8; 8];
                                let n = s.read(&mut buf).ok()?;
                                Some(buf[..n].to_vec())
                            });
                        let now = Instant::now();
                        if armed.load(Ordering::SeqCst) && answer.as_deref() == Some(b"b") {
                            *first_b.lock().unwrap() = Some(now);
                            return;
                        }
                    }
                })
                .unwrap();
        });
        let t0 = Instant::now();
        armed.store(true, Ordering::SeqCst);
        match event {
            Signal::SIGKILL => pa.signal_group(Signal::SIGKILL).unwrap(),
            s => pa.signal(s).unwrap(),
        }
        probe.join().unwrap();
        t0
    });
    let t1 = first_b
        .lock()
        .unwrap()
        .expect("no answer from the backup within 30 s");
    drop(pa);
    drop(pb);
    (t1 - t0).as_secs_f64() * 1000.0
}

fn bench_failover() {
    if !netlab::require_root_or_skip("bench_failover") {
        return;
    }
    let reference = |p| {
        let mut n = Node::v2_pass(p);
        n.advert_int = "1".into();
        n.conf()
    };
    let fast = |p| Node::v3(p, "0.1").conf();
    let rows: [(&str, ConfFn, Signal); 4] = [
        (
            "VRRPv2 advert_int 1, SIGKILL",
            Box::new(reference),
            Signal::SIGKILL,
        ),
        (
            "VRRPv2 advert_int 1, SIGTERM",
            Box::new(reference),
            Signal::SIGTERM,
        ),
        (
            "VRRPv3 advert_int 0.1, SIGKILL",
            Box::new(fast),
            Signal::SIGKILL,
        ),
        (
            "VRRPv3 advert_int 0.1, SIGTERM",
            Box::new(fast),
            Signal::SIGTERM,
        ),
    ];
    let n = runs();
    println!();
    println!("| scenario | vrrpd median ms | keepalived median ms | ratio | runs |");
    println!("|---|---:|---:|---:|---:|");
    for (label, conf, sig) in rows {
        let mut med = Vec::new();
        for kind in [Kind::Vrrpd, Kind::Keepalived] {
            let times: Vec<f64> = (0..n)
                .map(|_| failover_once(kind, &conf(150), &conf(100), sig))
                .collect();
            eprintln!("{label} {}: {times:?}", kind.name());
            med.push(median(times));
        }
        println!(
            "| {label} | {:.0} | {:.0} | {:.2} | {n} |",
            med[0],
            med[1],
            med[0] / med[1]
        );
    }
}

/// RSS (kB) and CPU ticks of a process and its children (keepalived forks a VRRP child).
fn usage(pid: u32) -> (u64, u64) {
    let mut pids = vec![pid];
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    let (mut rss, mut ticks) = (0, 0);
    for p in pids {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            rss += s
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some((_, rest)) = s.rsplit_once(')')
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // fields after the comm: state(0) ... utime(11) stime(12)
            ticks += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ticks += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    (rss, ticks)
}

fn many_instances(n: usize) -> String {
    let mut s = String::from("global_defs {\n    vrrp_garp_master_delay 0\n}\n");
    for i in 0..n {
        let mut node = Node::v3(150, "1");
        node.name = format!("VI_{i}");
        node.vrid = (i + 1) as u8;
        node.vips = vec![format!("198.18.{}.{}/32", 1 + i / 250, 1 + i % 250)];
        s.push_str(node.conf().split_once("}\n").unwrap().1);
    }
    s
}

fn bench_resources() {
    if !netlab::require_root_or_skip("bench_resources") {
        return;
    }
    let window = Duration::from_secs(
        std::env::var("BENCH_CPU_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
    );
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    println!();
    println!("| daemon | instances | RSS MiB | CPU s per hour |");
    println!("|---|---:|---:|---:|");
    for n in [1usize, 200] {
        for kind in [Kind::Vrrpd, Kind::Keepalived] {
            let lab = Lab::new(1).unwrap();
            let h = lab.host(0);
            let p = start(&lab, h, "a", kind, &many_instances(n));
            let last = ip(&format!(
                "198.18.{}.{}",
                1 + (n - 1) / 250,
                1 + (n - 1) % 250
            ));
            h.wait_for_address(last, true, Duration::from_secs(60))
                .unwrap();
            let (_, t0) = usage(p.pid());
            let start = Instant::now();
            std::thread::sleep(window); // measuring CPU over a fixed window is the point here
            let (rss, t1) = usage(p.pid());
            let secs = start.elapsed().as_secs_f64();
            let cpu_per_hour = (t1 - t0) as f64 / hz / secs * 3600.0;
            println!(
                "| {} | {n} | {:.1} | {:.1} |",
                kind.name(),
                rss as f64 / 1024.0,
                cpu_per_hour
            );
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and must not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    bench_failover();
    bench_resources();
}
