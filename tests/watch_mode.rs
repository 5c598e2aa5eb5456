//! elb-check's watch mode driving real VRRP daemons in the namespace lab: on each of two
//! nodes, `elb-check --watch 20ms` probes the node's own web server and keeps a
//! `track_file` (and, for vrrpd, optionally pushes `track chk_elb up|down` to its control
//! socket). Killing the master's web server must move the VIP to the backup, with vrrpd and
//! with keepalived 2.2.7 reading the same file; each run prints the time from the kill to
//! the VIP on the backup and the watch loop's CPU time, for docs/benchmarks/elb-check.md.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use elb_ha_e2e::bins::bin;
use elb_ha_e2e::daemons::Vrrp;
use elb_ha_e2e::services::start_backend;
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
    let track = node_dir(lab, node).join("elb.track");
    let mut conf = format!(
        "global_defs {{\n    router_id {}\n}}\ntrack_file elb_watch {{\n    file \"{}\"\n}}\n",
        node_name(node),
        track.display()
    );
    let mut track_script = String::new();
    if feed == Feed::Push {
        let _ = writeln!(
            conf,
            "vrrp_script chk_elb {{\n    script \"{} -t 0.5 {}\"\n    interval 5\n    weight 0\n}}",
            bin("elb-check").display(),
            url(host)
        );
        track_script = "    track_script {\n        chk_elb\n    }\n".to_string();
    }
    let _ = writeln!(
        conf,
        "vrrp_instance VI_1 {{\n    interface eth0\n    state {}\n    virtual_router_id 51\n    \
         priority {}\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {VIP}/24\n    \
         }}\n    track_file {{\n        elb_watch\n    }}\n{track_script}}}",
        if node == 0 { "MASTER" } else { "BACKUP" },
        [101, 100][node],
    );
    conf
}

/// One node: its web server, its watch-mode elb-check and its VRRP daemon.
struct Node {
    web: Option<Proc>,
    watch: Proc,
    vrrp: Proc,
    track: PathBuf,
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
    let (watch, track) = start_watch(lab, node, feed)?;
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
        track,
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
        for p in [&n.vrrp, &n.watch] {
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

/// CPU time (user + system) of a process so far, from /proc/PID/stat.
fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .context("stat format")?
        .1
        .split(' ')
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
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
    let cpu_before = cpu_time(nodes[0].watch.pid())?;
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
        wait_file(&nodes[0].track, "-254")?;
        let web = start_backend(a, &node_dir(&lab, 0), node_name(0), WEB_PORT)?;
        nodes[0].web = Some(web);
        wait_file(&nodes[0].track, "0")?;
        a.wait_for_address(IpAddr::V4(VIP), true, WAIT)
            .with_context(|| format!("no failback\n{}", logs(&nodes)))?;
    }
    let cpu = cpu_time(nodes[0].watch.pid())? - cpu_before;
    let wall = started.elapsed();
    println!(
        "{} / {feed:?}: kill-to-VIP-on-backup {:?}; watch loop CPU {:?} in {:?} = {:.1} s per hour",
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
