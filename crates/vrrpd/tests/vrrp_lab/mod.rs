//! Shared helpers for the VRRP lab tests: keepalived.conf text for one node, and starting
//! vrrpd or Debian's keepalived on a lab host with every written path inside the lab dir.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use netlab::{Host, Lab, Proc};

pub const VIP4: &str = "198.18.0.100";
pub const VIP6: &str = "2001:2::100";
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

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
            vips: vec![format!("{VIP4}/24")],
            unicast_src: None,
            unicast_peers: Vec::new(),
            nopreempt: false,
            extra_instance: String::new(),
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
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
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

/// Starts vrrpd on `host` with `conf`; paths (pid, socket, dumps) inside `<lab>/<tag>/`.
pub fn start_vrrpd(lab: &Lab, host: &Host, tag: &str, conf: &str, extra: &[&str]) -> Proc {
    let path = write_conf(lab, tag, conf);
    let dir = node_dir(lab, tag);
    let mut cmd = host.command(vrrpd_bin());
    cmd.args(["-n", "-l", "-D", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("vrrpd.pid"))
        .args(extra)
        .env("RUST_LOG", "debug");
    host.spawn(tag, cmd).expect("spawn vrrpd")
}

/// Starts keepalived (VRRP only, foreground) on `host`; its pid files inside `<lab>/<tag>/`.
pub fn start_keepalived(lab: &Lab, host: &Host, tag: &str, conf: &str) -> Proc {
    let path = write_conf(lab, tag, conf);
    let dir = node_dir(lab, tag);
    let mut cmd: Command = host.command(KEEPALIVED);
    cmd.args(["-n", "-l", "-D", "-P", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("keepalived.pid"))
        .arg("-r")
        .arg(dir.join("vrrp.pid"))
        .arg("-c")
        .arg(dir.join("checkers.pid"));
    host.spawn(tag, cmd).expect("spawn keepalived")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// Regex for "instance entered MASTER" in either daemon's log.
pub const MASTER_LINE: &str = r"Entering MASTER STATE";
pub const BACKUP_LINE: &str = r"Entering BACKUP STATE";
