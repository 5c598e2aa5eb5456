//! A hostile segment: a VRRP pair (vrrpd or keepalived) and a third host that sends invalid
//! VRRP packets for the pair's VRID, each of which would move the VIP if accepted (priority
//! 254, or priority 0). Used by the hostile-segment test (vrrpd must not move) and by the
//! side-by-side comparison with keepalived (`scripts/bench-hostile.sh`).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use netlab::{Lab, Proc};

use crate::bins::ctl;
use crate::services::SYSTEM_PYTHON;

pub const VIP: &str = "198.18.0.100";
const MASTER_ADDR: &str = "198.18.0.1";

pub use netlab::Vrrp as Daemon;

/// The daemon's name with its version where it is a peer we compare against.
pub fn peer_name(daemon: Daemon) -> &'static str {
    match daemon {
        Daemon::Vrrpd => "vrrpd",
        Daemon::Keepalived => "keepalived 2.2.7",
    }
}

/// How the attacker sends.
#[derive(Debug, Clone, Copy)]
pub struct Attack {
    pub seconds: f64,
    pub max_packets: u64,
    /// Packets per second; 0 = as fast as scapy sends.
    pub rate: f64,
}

/// What the pair did while attacked.
#[derive(Debug)]
pub struct Outcome {
    pub sent: u64,
    /// Attack frames the backup's capture saw.
    pub seen: usize,
    /// State changes logged by either daemon after the master's election.
    pub transitions: usize,
    /// Whether the VIP was on the master alone at the end.
    pub vip_kept: bool,
    /// The longest gap between the master's adverts seen from the backup (s).
    pub worst_gap: f64,
    pub adverts: usize,
    /// `vrrpd ctl show stats` of the backup (vrrpd only).
    pub stats: Option<String>,
    pub report: String,
    pub logs: String,
}

/// The pair in `lab` (hosts 0 and 1), the attacker on host 2.
pub struct Pair<'a> {
    lab: &'a Lab,
    daemon: Daemon,
    pub master: Proc,
    pub backup: Proc,
    /// State-change lines each daemon had printed once the pair was up (the election).
    baseline: (usize, usize),
}

/// State-change lines `p` printed so far (vrrpd and keepalived both log "Entering X STATE").
fn entering_lines(p: &Proc) -> usize {
    p.output()
        .lines()
        .filter(|l| l.contains("Entering"))
        .count()
}

fn conf(priority: u8, advert_int: f64) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int {advert_int}\n  authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

fn node_dir(lab: &Lab, node: usize) -> std::path::PathBuf {
    lab.dir().join(format!("n{node}"))
}

fn start(lab: &Lab, daemon: Daemon, node: usize, priority: u8) -> Result<Proc> {
    let dir = node_dir(lab, node);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("keepalived.conf");
    // VRRPv2 with PASS auth needs whole-second intervals: 1 s, master down 3.6 s.
    std::fs::write(&path, conf(priority, 1.0))?;
    let host = lab.host(node);
    let cmd = daemon.command(host, &path, &dir);
    host.spawn(&format!("{}{node}", daemon.name()), cmd)
}

impl<'a> Pair<'a> {
    /// Starts the master (priority 200) until it holds the VIP, then the backup (100).
    pub fn start(lab: &'a Lab, daemon: Daemon) -> Result<Self> {
        let vip: IpAddr = VIP.parse()?;
        let master = start(lab, daemon, 0, 200)?;
        lab.host(0)
            .wait_for_address(vip, true, Duration::from_secs(15))
            .with_context(|| format!("VIP never on the master\n{}", master.output()))?;
        master.wait_for_line("Entering MASTER STATE", Duration::from_secs(5))?;
        let backup = start(lab, daemon, 1, 100)?;
        backup.wait_for_line("Entering BACKUP STATE", Duration::from_secs(10))?;
        let baseline = (entering_lines(&master), entering_lines(&backup));
        Ok(Self {
            lab,
            daemon,
            master,
            backup,
            baseline,
        })
    }

    /// Runs the attack from host 2 and reports what the pair did meanwhile.
    pub fn attack(&self, attack: Attack) -> Result<Outcome> {
        let lab = self.lab;
        let vip: IpAddr = VIP.parse()?;
        let capture = lab.host(1).capture("vrrp")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hostile_flood.py");
        let attacker = lab.host(2);
        let flood = attacker
            .command(SYSTEM_PYTHON)
            .arg(&script)
            .args([
                "eth0",
                &attacker.ipv4().to_string(),
                "51",
                "s3cret",
                VIP,
                &attack.seconds.to_string(),
                &attack.max_packets.to_string(),
                &attack.rate.to_string(),
            ])
            .output()?;
        if !flood.status.success() {
            bail!(
                "flood script failed: {}",
                String::from_utf8_lossy(&flood.stderr)
            );
        }
        let report = String::from_utf8_lossy(&flood.stdout).into_owned();
        let sent: u64 = report
            .lines()
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        let text = capture.text();
        let times = advert_times(&text, MASTER_ADDR);
        // Fewer than two adverts: the master went silent (or lost its role) for the whole
        // attack, the longest gap is the attack itself.
        let worst_gap = if times.len() < 2 {
            f64::INFINITY
        } else {
            times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
        };
        let transitions = (entering_lines(&self.master) - self.baseline.0)
            + (entering_lines(&self.backup) - self.baseline.1);
        let vip_kept = lab.host(0).has_address(vip)? && !lab.host(1).has_address(vip)?;
        let stats = match self.daemon {
            Daemon::Vrrpd => Some(self.ctl(1, &["show", "stats"])?),
            Daemon::Keepalived => None,
        };
        Ok(Outcome {
            sent,
            seen: text.matches("198.18.0.3 > 224.0.0.18").count(),
            transitions,
            vip_kept,
            worst_gap,
            adverts: times.len(),
            stats,
            report,
            logs: format!(
                "----- master -----\n{}\n----- backup -----\n{}",
                self.master.output(),
                self.backup.output()
            ),
        })
    }

    /// `vrrpd ctl ARGS...` against node's vrrpd.
    pub fn ctl(&self, node: usize, args: &[&str]) -> Result<String> {
        let pid_file = node_dir(self.lab, node).join("vrrpd.pid");
        ctl(self.lab.host(node), "vrrpd", "-p", &pid_file, args)
    }
}

/// Timestamps (seconds of the day) of the adverts from `src` in tcpdump's `-vv` text: the
/// time stands on the frame's first line, the addresses on its second.
pub fn advert_times(text: &str, src: &str) -> Vec<f64> {
    let mut last_time = None;
    let mut times = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.split_whitespace().next().and_then(clock_seconds) {
            last_time = Some(t);
        } else if line.contains(&format!(
            "{src} > 224.0.0.18: VRRPv2, Advertisement, vrid 51"
        )) {
            times.extend(last_time.take());
        }
    }
    times
}

/// `HH:MM:SS.ffffff` as seconds.
fn clock_seconds(word: &str) -> Option<f64> {
    let mut parts = word.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}
