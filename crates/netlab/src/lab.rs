//! Building and tearing down one lab segment.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::host::Host;
use crate::naming;
use crate::sys::{ip_batch, run_checked};

/// One isolated L2 segment: a switch namespace with bridge `br0` and N hosts.
pub struct Lab {
    prefix: String,
    switch: String,
    hosts: Vec<Host>,
    /// Namespaces created so far, deleted on drop in reverse order.
    created: Vec<String>,
    dir: TempDir,
}

/// Options for [`Lab`]; `Lab::new(n)` is `Lab::builder().hosts(n).build()`.
#[derive(Debug, Clone)]
pub struct LabBuilder {
    hosts: usize,
}

impl LabBuilder {
    pub fn hosts(mut self, n: usize) -> Self {
        self.hosts = n;
        self
    }

    pub fn build(self) -> Result<Lab> {
        assert!((1..=200).contains(&self.hosts), "a lab has 1 to 200 hosts");
        naming::sweep_stale();
        let prefix = naming::new_prefix();
        let mut lab = Lab {
            switch: format!("{prefix}sw"),
            prefix,
            hosts: Vec::new(),
            created: Vec::new(),
            dir: tempfile::Builder::new()
                .prefix("netlab-")
                .tempdir()
                .context("lab temp dir")?,
        };
        // On any error below, dropping `lab` deletes what was already created.
        lab.add_netns(&lab.switch.clone())?;
        set_sysctls(
            &lab.switch,
            &[
                // The switch only forwards frames: no IPv6 chatter of its own in captures.
                ("net.ipv6.conf.all.disable_ipv6", "1"),
                ("net.ipv6.conf.default.disable_ipv6", "1"),
            ],
        )?;
        let mut switch_script = String::from(
            "link add name br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0\n\
             link set dev br0 up\n",
        );
        for i in 0..self.hosts {
            let netns = format!("{}h{i}", lab.prefix);
            lab.add_netns(&netns)?;
            set_sysctls(
                &netns,
                &[
                    // Addresses usable at once: a tentative link-local cannot send VRRPv3.
                    ("net.ipv6.conf.all.accept_dad", "0"),
                    ("net.ipv6.conf.default.accept_dad", "0"),
                    ("net.ipv6.conf.all.dad_transmits", "0"),
                    ("net.ipv6.conf.default.dad_transmits", "0"),
                ],
            )?;
            switch_script.push_str(&format!(
                "link add name p{i} type veth peer name eth0 netns {netns}\n\
                 link set dev p{i} master br0 up\n"
            ));
            lab.hosts.push(Host {
                netns,
                index: i,
                dir: lab.dir.path().to_path_buf(),
                impairment: Mutex::new(None),
            });
        }
        ip_batch(&lab.switch, &switch_script)?;
        for host in &lab.hosts {
            ip_batch(
                &host.netns,
                &format!(
                    "link set dev lo up\n\
                     addr add {}/24 dev eth0\n\
                     addr add {}/64 dev eth0 nodad\n\
                     link set dev eth0 up\n",
                    host.ipv4(),
                    host.ipv6()
                ),
            )?;
        }
        Ok(lab)
    }
}

impl Lab {
    pub fn builder() -> LabBuilder {
        LabBuilder { hosts: 2 }
    }

    /// A lab with `hosts` hosts on one bridge.
    pub fn new(hosts: usize) -> Result<Self> {
        Self::builder().hosts(hosts).build()
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The switch namespace (holds `br0` and the host-facing ports `p<i>`).
    pub fn switch_netns(&self) -> &str {
        &self.switch
    }

    /// The names of every namespace this lab created.
    pub fn namespaces(&self) -> &[String] {
        &self.created
    }

    /// A per-lab directory for configs, pid files, sockets and logs; deleted with the lab.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn add_netns(&mut self, name: &str) -> Result<()> {
        run_checked(Command::new("ip").args(["netns", "add", name]))?;
        self.created.push(name.to_string());
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for netns in self.created.iter().rev() {
            kill_everything_inside(netns);
            let _ = Command::new("ip").args(["netns", "delete", netns]).output();
        }
    }
}

/// Kills processes still running inside `netns` (a test that leaked one must not keep the
/// namespace alive).
fn kill_everything_inside(netns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

fn set_sysctls(netns: &str, pairs: &[(&str, &str)]) -> Result<()> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns, "sysctl", "-q", "-w"]);
    for (key, value) in pairs {
        cmd.arg(format!("{key}={value}"));
    }
    run_checked(&mut cmd).map(drop)
}
