//! Advert timing under CPU starvation, vrrpd beside keepalived 2.2.7 (run by
//! `scripts/bench-vrrpd.sh`; needs root): a VRRPv3 master advertising every 0.1 s shares one
//! CPU with busy loops of a higher priority (nice -20), with and without `max_auto_priority`
//! (SCHED_RR once a timer runs late). The intervals are read off the master's own interface
//! by tcpdump: the kernel stamps an outgoing packet in the sender's send call, so the stamp is
//! when the daemon sent it, not when a starved CPU got round to the peer's receive softirq.
//! First with the CPU free, then with the hog.

#[path = "../tests/lab/vrrp_lab.rs"]
mod vrrp_lab;

use std::process::{Child, Command};
use std::time::Duration;

use netlab::Lab;
use nix::sys::signal::Signal;
use vrrp_lab::*;

/// The CPU the daemon and the hog share.
const CPU: &str = "1";
/// Busy loops on that CPU.
const HOGS: usize = 3;
const PHASE: Duration = Duration::from_secs(8);

/// Busy loops at nice -20 on [`CPU`], killed on drop and by `timeout` at the latest.
struct Hog(Vec<Child>);

impl Hog {
    fn start() -> Hog {
        let limit = (PHASE.as_secs() + 20).to_string();
        Hog((0..HOGS)
            .map(|_| {
                Command::new("timeout")
                    .args([&limit, "nice", "-n", "-20", "taskset", "-c", CPU])
                    .args(["sh", "-c", "while :; do :; done"])
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect())
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // `timeout` passes SIGTERM on to the loop.
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            let _ = c.wait();
        }
    }
}

/// Seconds since midnight from a tcpdump line starting `HH:MM:SS.ffffff`.
fn timestamp(line: &str) -> Option<f64> {
    let mut parts = line.split_whitespace().next()?.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Interval statistics in ms: (count, mean, p99, max).
fn stats(stamps: &[f64]) -> (usize, f64, f64, f64) {
    let mut gaps: Vec<f64> = stamps.windows(2).map(|w| (w[1] - w[0]) * 1e3).collect();
    gaps.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if gaps.is_empty() {
        return (0, 0.0, 0.0, 0.0);
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let p99 = gaps[((gaps.len() as f64 * 0.99).ceil() as usize).min(gaps.len()) - 1];
    (gaps.len(), mean, p99, *gaps.last().unwrap())
}

/// One daemon, one setting: the interval statistics without and with the hog, and the
/// scheduling policy at the end (`chrt -p`).
fn measure(keepalived: bool, auto: bool) -> [(usize, f64, f64, f64); 2] {
    let lab = Lab::new(2).unwrap();
    let a = lab.host(0);
    let tuning = if auto {
        "    max_auto_priority 10\n    min_auto_priority_delay 20000\n"
    } else {
        ""
    };
    let text = Node::v3(150, "0.1")
        .conf()
        .replace("    vrrp_garp_master_delay 0\n", tuning);
    let tag = if keepalived { "k" } else { "v" };
    let mut p = start_daemon(&lab, a, tag, &text, keepalived);
    p.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let pid = vrrp_pid(&lab, tag, keepalived).to_string();
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", CPU, &pid])
        .output()
        .unwrap();
    assert!(pinned.status.success(), "taskset: {pinned:?}");
    let capture = a.capture("vrrp and src host 198.18.0.1").unwrap();
    capture.wait_for("vrid 51", WAIT).unwrap();
    let mut phases = [(0, 0.0, 0.0, 0.0); 2];
    for (i, hog) in [false, true].into_iter().enumerate() {
        let skip = capture.text().lines().count();
        let _hog = hog.then(Hog::start);
        std::thread::sleep(PHASE);
        let stamps: Vec<f64> = capture
            .text()
            .lines()
            .skip(skip)
            .filter(|l| l.contains("ethertype IPv4"))
            .filter_map(timestamp)
            .collect();
        phases[i] = stats(&stamps);
    }
    let policy = Command::new("chrt").args(["-p", &pid]).output().unwrap();
    let policy = String::from_utf8_lossy(&policy.stdout).replace(&pid, "PID");
    eprintln!("{tag} auto={auto}: {}", policy.trim().replace('\n', "; "));
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    phases
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and must not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !netlab::require_root_or_skip("advert_jitter") {
        return;
    }
    println!("| daemon | max_auto_priority | CPU | adverts | mean interval ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for auto in [false, true] {
        for keepalived in [false, true] {
            let name = if keepalived {
                "keepalived 2.2.7"
            } else {
                "vrrpd"
            };
            let setting = if auto { "10 (20 ms)" } else { "off" };
            for (phase, (n, mean, p99, max)) in
                ["free", "hog"].iter().zip(measure(keepalived, auto))
            {
                println!(
                    "| {name} | {setting} | {phase} | {n} | {mean:.1} | {p99:.1} | {max:.1} |"
                );
            }
        }
    }
}
