//! elb-check's watch mode driving real VRRP daemons in the namespace lab: on each of two
//! nodes, `elb-check --watch 20ms` probes the node's own web server and keeps a
//! `track_file` (and, for vrrpd, optionally pushes `track chk_elb up|down` to its control
//! socket). Killing the master's web server must move the VIP to the backup, with vrrpd and
//! with keepalived 2.2.7 reading the same file; beside them, vrrpd forking a one-shot probe
//! every 50 ms. Each run prints the time from the kill to the VIP on the backup and the CPU
//! time tracking cost, for docs/benchmarks/elb-check.md.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use elb_ha_e2e::bins::bin;
use elb_ha_e2e::services::start_backend;
use netlab::Vrrp;
use netlab::{Host, Lab, Proc};

const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const WEB_PORT: u16 = 8280;
const WAIT: Duration = Duration::from_secs(20);
/// Failovers measured per setup.
const RUNS: usize = 5;

/// How the VRRP daemon learns the watch mode's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// `track_file` only (the daemon reads the file).
    File,
    /// vrrpd: a `vrrp_script chk_elb` (a one-shot elb-check every 5 s) whose state the watch
    /// mode pushes over the control socket at once, plus the file.
    Push,
    /// No watch mode: vrrpd forks a one-shot elb-check every 50 ms (`vrrp_script`, deadline
    /// 40 ms), the fast path's tracker in docs/benchmarks/failover.md.
    Script,
}

fn node_name(node: usize) -> &'static str {
    ["elb-a", "elb-b"][node]
}

fn node_dir(lab: &Lab, node: usize) -> PathBuf {
    let dir = lab.dir().join(node_name(node));
    std::fs::create_dir_all(&dir).expect("node directory");
    dir
}

fn url(host: &Host) -> String {
    format!("http://{}:{WEB_PORT}/", host.ipv4())
}

fn conf(lab: &Lab, node: usize, feed: Feed) -> String {
    let host = lab.host(node);
    let track_path = node_dir(lab, node).join("elb.track");
    let mut conf = format!("global_defs {{\n    router_id {}\n}}\n", node_name(node));
    // The script feed probes every 50 ms itself; the push feed keeps a slow script as the
    // backstop beside the watch mode's file; the file feed tracks the file alone.
    let script = |timeout: &str, interval: &str| {
        format!(
            "vrrp_script chk_elb {{\n    script \"{} -t {timeout} {}\"\n    interval {interval}\n    \
             weight 0\n}}\n",
            bin("elb-check").display(),
            url(host)
        )
    };
    let file = format!(
        "track_file elb_watch {{\n    file \"{}\"\n}}\n",
        track_path.display()
    );
    let track_script = "    track_script {\n        chk_elb\n    }\n";
    let track_file = "    track_file {\n        elb_watch\n    }\n";
    let (blocks, track) = match feed {
        Feed::Script => (script("0.04", "0.05"), track_script.to_string()),
        Feed::Push => (
            file + &script("0.5", "5"),
            format!("{track_file}{track_script}"),
        ),
        Feed::File => (file, track_file.to_string()),
    };
    conf.push_str(&blocks);
    let _ = writeln!(
        conf,
        "vrrp_instance VI_1 {{\n    interface eth0\n    state {}\n    virtual_router_id 51\n    \
         priority {}\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {VIP}/24\n    \
         }}\n{track}}}",
        if node == 0 { "MASTER" } else { "BACKUP" },
        [101, 100][node],
    );
    conf
}

/// One node: its web server, its watch-mode elb-check (none for [`Feed::Script`]) and its
/// VRRP daemon.
struct Node {
    web: Option<Proc>,
    watch: Option<(Proc, PathBuf)>,
    vrrp: Proc,
}

impl Node {
    /// CPU time spent tracking so far: the watch loop's, or the forked probes' (children
    /// vrrpd has waited for).
    fn tracking_cpu(&self) -> Result<Duration> {
        match &self.watch {
            Some((watch, _)) => cpu_time(watch.pid(), 11),
            None => cpu_time(self.vrrp.pid(), 13),
        }
    }

    /// Waits (bounded) for the watch mode's verdict in the track file, if there is one.
    fn wait_verdict(&self, value: &str) -> Result<()> {
        match &self.watch {
            Some((_, track)) => wait_file(track, value),
            None => Ok(()),
        }
    }
}

fn start_watch(lab: &Lab, node: usize, feed: Feed) -> Result<(Proc, PathBuf)> {
    let host = lab.host(node);
    let dir = node_dir(lab, node);
    let track = dir.join("elb.track");
    let mut cmd = host.command(&bin("elb-check").to_string_lossy());
    cmd.args(["--watch", "20ms", "-t", "15ms", "--track-file"])
        .arg(&track);
    if feed == Feed::Push {
        cmd.arg("--notify-socket")
            .arg(dir.join("vrrpd.sock"))
            .args(["--track-name", "chk_elb"]);
    }
    cmd.arg(url(host));
    let proc = host.spawn("elb-check-watch", cmd)?;
    wait_file(&track, "0")?;
    Ok((proc, track))
}

fn start_node(lab: &Lab, node: usize, kind: Vrrp, feed: Feed) -> Result<Node> {
    let host = lab.host(node);
    let dir = node_dir(lab, node);
    let web = start_backend(host, &dir, node_name(node), WEB_PORT)?;
    let watch = match feed {
        Feed::Script => None,
        Feed::File | Feed::Push => Some(start_watch(lab, node, feed)?),
    };
    let conf_path = dir.join("keepalived.conf");
    std::fs::write(&conf_path, conf(lab, node, feed))?;
    let mut cmd = kind.command(host, &conf_path, &dir);
    if kind == Vrrp::Vrrpd {
        cmd.arg("--fast-failover");
    }
    let vrrp = host.spawn(kind.name(), cmd)?;
    Ok(Node {
        web: Some(web),
        watch,
        vrrp,
    })
}

/// Waits (bounded) until the track file holds `value`; the file is replaced by rename, so
/// each read sees a whole value.
fn wait_file(path: &Path, value: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = std::fs::read_to_string(path).unwrap_or_default();
        if now.trim() == value {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{} holds {now:?}, never {value}", path.display());
        }
        // The file has no change notification we could block on here portably.
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn logs(nodes: &[Node]) -> String {
    let mut out = String::new();
    for (i, n) in nodes.iter().enumerate() {
        for p in std::iter::once(&n.vrrp).chain(n.watch.as_ref().map(|(w, _)| w)) {
            let _ = writeln!(
                out,
                "----- {} on {} -----\n{}",
                p.label(),
                node_name(i),
                p.output()
            );
        }
    }
    out
}

/// CPU time (user + system) from /proc/PID/stat: the process's own (`first` 11) or its
/// waited-for children's (`first` 13).
fn cpu_time(pid: u32, first: usize) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .context("stat format")?
        .1
        .split(' ')
        .collect();
    let ticks: u64 = fields[first].parse::<u64>()? + fields[first + 1].parse::<u64>()?;
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis(ticks * 10))
}

/// Kills the master's web server RUNS times; returns the kill-to-VIP-on-backup times.
fn failovers(kind: Vrrp, feed: Feed) -> Result<Vec<Duration>> {
    let lab = Lab::new(2)?;
    let (a, b) = (lab.host(0), lab.host(1));
    let mut nodes = vec![start_node(&lab, 0, kind, feed)?];
    a.wait_for_address(IpAddr::V4(VIP), true, WAIT)
        .with_context(|| logs(&nodes))?;
    nodes.push(start_node(&lab, 1, kind, feed)?);
    // The first kill must find the backup running: a backup started after the master's
    // fault would measure its own master-down timer, not the failover.
    nodes[1]
        .vrrp
        .wait_for_line("Entering BACKUP STATE", WAIT)
        .with_context(|| logs(&nodes))?;
    let started = Instant::now();
    let cpu_before = nodes[0].tracking_cpu()?;
    let mut times = Vec::new();
    for run in 0..RUNS {
        // The backup released the VIP: it heard the master's adverts.
        b.wait_for_address(IpAddr::V4(VIP), false, WAIT)?;
        // Not a wait for an event: staggers the kill across the 20 ms probe cycle, so the
        // runs sample all of it rather than one point.
        std::thread::sleep(Duration::from_millis(7 * run as u64));
        let kill = Instant::now();
        nodes[0].web.take().context("web server running")?.kill();
        b.wait_for_address(IpAddr::V4(VIP), true, WAIT)
            .with_context(|| logs(&nodes))?;
        times.push(kill.elapsed());
        nodes[0].wait_verdict("-254")?;
        let web = start_backend(a, &node_dir(&lab, 0), node_name(0), WEB_PORT)?;
        nodes[0].web = Some(web);
        nodes[0].wait_verdict("0")?;
        a.wait_for_address(IpAddr::V4(VIP), true, WAIT)
            .with_context(|| format!("no failback\n{}", logs(&nodes)))?;
    }
    let cpu = nodes[0].tracking_cpu()? - cpu_before;
    let wall = started.elapsed();
    println!(
        "{} / {feed:?}: kill-to-VIP-on-backup {:?}; tracking CPU {:?} in {:?} = {:.1} s per hour",
        kind.name(),
        times,
        cpu,
        wall,
        cpu.as_secs_f64() * 3600.0 / wall.as_secs_f64()
    );
    Ok(times)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
fn vrrpd_moves_the_vip_from_the_watch_modes_track_file() {
    if !netlab::require_root_or_skip("vrrpd_moves_the_vip_from_the_watch_modes_track_file") {
        return;
    }
    let mut times = failovers(Vrrp::Vrrpd, Feed::File).unwrap();
    // vrrpd watches the file's directory with inotify: one probe interval (20 ms) plus the
    // takeover, as with the push.
    assert!(median(&mut times) < Duration::from_millis(400), "{times:?}");
}

#[test]
fn vrrpd_moves_the_vip_at_once_from_the_watch_modes_push() {
    if !netlab::require_root_or_skip("vrrpd_moves_the_vip_at_once_from_the_watch_modes_push") {
        return;
    }
    let mut times = failovers(Vrrp::Vrrpd, Feed::Push).unwrap();
    // A push needs no file read: one probe interval (20 ms) plus the takeover.
    assert!(median(&mut times) < Duration::from_millis(400), "{times:?}");
}

#[test]
fn vrrpd_moves_the_vip_from_a_forked_probe_every_50_ms() {
    if !netlab::require_root_or_skip("vrrpd_moves_the_vip_from_a_forked_probe_every_50_ms") {
        return;
    }
    let mut times = failovers(Vrrp::Vrrpd, Feed::Script).unwrap();
    // One probe interval (50 ms) plus the takeover: the comparison for the watch mode.
    assert!(median(&mut times) < Duration::from_millis(400), "{times:?}");
}

#[test]
fn keepalived_moves_the_vip_from_the_watch_modes_track_file() {
    if !netlab::require_root_or_skip("keepalived_moves_the_vip_from_the_watch_modes_track_file") {
        return;
    }
    let version = std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .expect("keepalived --version");
    let text = String::from_utf8_lossy(&version.stderr).into_owned()
        + &String::from_utf8_lossy(&version.stdout);
    assert!(text.contains("Keepalived v2.2.7"), "{text}");
    let mut times = failovers(Vrrp::Keepalived, Feed::File).unwrap();
    // keepalived watches the file with inotify: the move follows the write.
    assert!(
        median(&mut times) < Duration::from_millis(1000),
        "{times:?}"
    );
}
