//! Shared helpers for the VRRP lab tests: keepalived.conf text for one node, and starting
//! vrrpd or Debian's keepalived on a lab host with every written path inside the lab dir.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use netlab::{Host, Lab, Proc, Vrrp};

pub const VIP4: &str = "198.18.0.100";
pub const VIP6: &str = "2001:2::100";
pub const KEEPALIVED: &str = test_support::oracle::KEEPALIVED;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub vrid: u8,
    pub priority: u8,
    pub version: u8,
    pub advert_int: String,
    pub auth_pass: Option<String>,
    /// `auth_type` with `auth_pass`: PASS, or AH.
    pub auth_type: &'static str,
    pub vips: Vec<String>,
    pub unicast_src: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub nopreempt: bool,
    pub extra_instance: String,
}

impl Node {
    pub fn v2_pass(priority: u8) -> Self {
        Node {
            name: "VI_1".into(),
            vrid: 51,
            priority,
            version: 2,
            advert_int: "1".into(),
            auth_pass: Some("secret12".into()),
            auth_type: "PASS",
            vips: vec![format!("{VIP4}/24")],
            unicast_src: None,
            unicast_peers: Vec::new(),
            nopreempt: false,
            extra_instance: String::new(),
        }
    }

    /// VRRPv2 with `auth_type AH`, `auth_pass secret12`.
    pub fn v2_ah(priority: u8) -> Self {
        Node {
            auth_type: "AH",
            ..Node::v2_pass(priority)
        }
    }

    pub fn v3(priority: u8, advert_int: &str) -> Self {
        Node {
            version: 3,
            advert_int: advert_int.into(),
            auth_pass: None,
            ..Node::v2_pass(priority)
        }
    }

    pub fn v3_ipv6(priority: u8) -> Self {
        Node {
            vips: vec![format!("{VIP6}/64")],
            ..Node::v3(priority, "1")
        }
    }

    pub fn unicast(mut self, me: IpAddr, peers: &[IpAddr]) -> Self {
        self.unicast_src = Some(me);
        self.unicast_peers = peers.to_vec();
        self
    }

    /// keepalived.conf text for this node.
    pub fn conf(&self) -> String {
        let mut s = String::new();
        s.push_str("global_defs {\n    router_id lab\n");
        s.push_str("    vrrp_garp_master_delay 0\n}\n");
        s.push_str(&format!("vrrp_instance {} {{\n", self.name));
        s.push_str("    state BACKUP\n    interface eth0\n");
        s.push_str(&format!("    virtual_router_id {}\n", self.vrid));
        s.push_str(&format!("    priority {}\n", self.priority));
        s.push_str(&format!("    advert_int {}\n", self.advert_int));
        s.push_str(&format!("    version {}\n", self.version));
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if let Some(p) = &self.auth_pass {
            s.push_str(&format!(
                "    authentication {{\n        auth_type {}\n        auth_pass {p}\n    }}\n",
                self.auth_type
            ));
        }
        if let Some(src) = self.unicast_src {
            s.push_str(&format!("    unicast_src_ip {src}\n    unicast_peer {{\n"));
            for p in &self.unicast_peers {
                s.push_str(&format!("        {p}\n"));
            }
            s.push_str("    }\n");
        }
        s.push_str("    virtual_ipaddress {\n");
        for v in &self.vips {
            s.push_str(&format!("        {v}\n"));
        }
        s.push_str("    }\n");
        s.push_str(&self.extra_instance);
        s.push_str("}\n");
        s
    }
}

/// Per-node directory inside the lab dir.
/// A two-host lab for `test` when root and `needs` (a tool the test cannot do without) are
/// there; without the tool it skips on a developer machine and fails under CI.
pub fn lab_with(test: &str, needs: &str, present: bool) -> Option<Lab> {
    if !netlab::require_root_or_skip(test) {
        return None;
    }
    if !test_support::require(test, present, needs) {
        return None;
    }
    Some(Lab::new(2).expect("lab"))
}

/// A lab for a test that compares with Debian's keepalived: `None` (skipped, or failed under
/// CI) without root or without keepalived.
pub fn keepalived_lab(test: &str) -> Option<Lab> {
    lab_with(test, KEEPALIVED, std::path::Path::new(KEEPALIVED).exists())
}

/// The value of `key=` in the shipped systemd unit deploy/systemd/`unit`.
pub fn unit_directive(unit: &str, key: &str) -> String {
    let path = format!("{}/../../deploy/systemd/{unit}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the unit file");
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{unit} sets no {key}="))
        .to_string()
}

pub fn node_dir(lab: &Lab, tag: &str) -> PathBuf {
    let d = lab.dir().join(tag);
    std::fs::create_dir_all(&d).expect("node dir");
    d
}

pub fn write_conf(lab: &Lab, tag: &str, text: &str) -> PathBuf {
    let p = node_dir(lab, tag).join("keepalived.conf");
    std::fs::write(&p, text).expect("write conf");
    p
}

pub fn vrrpd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vrrpd")
}

/// Starts vrrpd on `host` with `conf` and debug logging; paths (pid, socket, dumps) inside
/// `<lab>/<tag>/`.
pub fn start_vrrpd(lab: &Lab, host: &Host, tag: &str, conf: &str, extra: &[&str]) -> Proc {
    let path = write_conf(lab, tag, conf);
    let mut cmd = Vrrp::Vrrpd.command(host, &path, &node_dir(lab, tag));
    cmd.arg("-D").args(extra).env("RUST_LOG", "debug");
    host.spawn(tag, cmd).expect("spawn vrrpd")
}

/// Starts keepalived (VRRP only, foreground) on `host` as [`Vrrp::command`] runs it: its
/// files, and its dumps in `tmp/`, inside `<lab>/<tag>/`, which it also sees as /var/tmp.
/// The interop expectations are keepalived 2.2.7's: another version fails here.
pub fn start_keepalived(lab: &Lab, host: &Host, tag: &str, conf: &str) -> Proc {
    let path = write_conf(lab, tag, conf);
    let cmd = Vrrp::Keepalived.command(host, &path, &node_dir(lab, tag));
    host.spawn(tag, cmd).expect("spawn keepalived")
}

/// Starts Debian's keepalived (`keepalived`) or vrrpd on `host` with `conf`: one call for the
/// side-by-side tests that run one scenario under both.
pub fn start_daemon(lab: &Lab, host: &Host, tag: &str, conf: &str, keepalived: bool) -> Proc {
    if keepalived {
        start_keepalived(lab, host, tag, conf)
    } else {
        start_vrrpd(lab, host, tag, conf, &[])
    }
}

/// Runs one daemon (Debian's keepalived or vrrpd) alone on `host` with `conf` for five adverts,
/// the takeover and four intervals, then stops it cleanly; meanwhile VRRP and ARP are captured
/// on eth0 and ARP on `xb`, the far end of a veth pair inside the host: (eth0's, xb's text).
pub fn five_adverts_captured(
    lab: &Lab,
    host: &Host,
    tag: &str,
    conf: &str,
    keepalived: bool,
) -> (String, String) {
    let on_eth0 = host.capture("vrrp or arp").expect("capture eth0");
    let on_xb = host.capture_on("xb", "arp").expect("capture xb");
    let mut p = start_daemon(lab, host, tag, conf, keepalived);
    for k in 0..5 {
        on_eth0
            .wait_for("VRRP", WAIT)
            .unwrap_or_else(|e| panic!("{tag}: advert {k}: {e}\n{}", p.output()));
    }
    p.signal(nix::sys::signal::Signal::SIGTERM)
        .expect("SIGTERM");
    p.wait_exit(WAIT).expect("clean exit");
    (on_eth0.text(), on_xb.text())
}

/// The pid of the daemon's VRRP process (keepalived's VRRP child) from its pid file in
/// `<lab>/<tag>/`, once it is written (at most [`WAIT`]).
pub fn vrrp_pid(lab: &Lab, tag: &str, keepalived: bool) -> u32 {
    let file = node_dir(lab, tag).join(if keepalived {
        "keepalived-vrrp.pid"
    } else {
        "vrrpd.pid"
    });
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(t) = std::fs::read_to_string(&file)
            && let Ok(p) = t.trim().parse()
        {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pid in {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The reference config's `vrrp_instance VI_1` (deploy/keepalived.conf's shape): `state`,
/// `priority`, one VIP, advert_int 1, tracking `chk_elb`; `extra` lines go before its `}`.
pub fn tracked_instance(state: &str, priority: u8, vip: &str, extra: &str) -> String {
    format!(
        r#"vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {vip}/24
    }}
    track_script {{
        chk_elb
    }}
{extra}}}
"#
    )
}

/// Empties a dump file before a signal asks for a new one, so a wait sees only the new one.
pub fn clear_dump(file: &std::path::Path) {
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(file);
}

/// Sends SIGUSR2 and returns the statistics file once it has been written.
pub fn stats_dump(proc: &Proc, file: &std::path::Path) -> String {
    clear_dump(file);
    proc.signal(nix::sys::signal::Signal::SIGUSR2)
        .expect("SIGUSR2");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.contains("Priority Zero")
            && text.trim_end().ends_with(|c: char| c.is_ascii_digit())
        {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no stats in {} after SIGUSR2",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// keepalived's stats of a lab node started with [`start_keepalived`].
pub fn keepalived_stats(lab: &Lab, tag: &str, proc: &Proc) -> String {
    stats_dump(
        proc,
        &lab.dir().join(tag).join("tmp").join("keepalived.stats"),
    )
}

/// vrrpd's stats of a lab node started with [`start_vrrpd`].
pub fn vrrpd_stats(lab: &Lab, tag: &str, proc: &Proc) -> String {
    stats_dump(proc, &lab.dir().join(tag).join("vrrpd.stats"))
}

/// Every error counter in keepalived's stats sections ("Packet Errors", "Authentication
/// Errors"), plus vrrpd's own per-reason counters, as (name, value) for the non-zero ones.
pub fn nonzero_errors(stats: &str) -> Vec<String> {
    let mut section = String::new();
    let mut bad = Vec::new();
    for line in stats.lines() {
        let t = line.trim();
        if t.ends_with(':') {
            section = t.to_string();
            continue;
        }
        let Some((k, v)) = t.rsplit_once(':') else {
            continue;
        };
        let Ok(n) = v.trim().parse::<u64>() else {
            continue;
        };
        let error_section = section.contains("Errors") || section.starts_with("All receive");
        let benign = k == "accepted" || k == "unknown_vrid";
        if error_section && !benign && n > 0 {
            bad.push(format!("{section} {k}: {n}"));
        }
    }
    bad
}

/// The "Advertisements: Received" count of the first instance in a stats dump.
pub fn adverts_received(stats: &str) -> u64 {
    let mut in_adverts = false;
    for line in stats.lines() {
        let t = line.trim();
        if t == "Advertisements:" {
            in_adverts = true;
        } else if in_adverts && let Some(v) = t.strip_prefix("Received:") {
            return v.trim().parse().unwrap_or(0);
        }
    }
    0
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// Regex for "instance entered MASTER" in either daemon's log.
pub const MASTER_LINE: &str = r"Entering MASTER STATE";
pub const BACKUP_LINE: &str = r"Entering BACKUP STATE";
