//! A chaos topology running in a [`netlab::Lab`]: start, kill, freeze and resume each node's
//! VRRP daemon and balancer, cut or degrade its link, and read what it holds and what its
//! daemon says.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netlab::{Lab, Proc};
use nix::sys::signal::Signal;

use super::invariants::{DaemonView, NodeView, Snapshot, VrrpState};
use super::topology::{BACKEND_PORTS, Daemon, PROXY_PORT, TopologySpec, VIP};
use crate::bins::bin;
use crate::services::start_backend;

/// How long a status query may take before the daemon counts as not answering.
const STATUS_TIMEOUT: Duration = Duration::from_millis(500);
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// One ELB node's processes and what the run did to them.
#[derive(Default)]
struct Node {
    vrrp: Option<Proc>,
    vrrp_frozen: bool,
    proxy: Option<Proc>,
    proxy_frozen: bool,
    /// keepalived: the last state its log announced (it has no status socket).
    logged_state: Option<VrrpState>,
    /// A netem qdisc is on eth0.
    delayed: bool,
}

pub struct ChaosLab {
    pub spec: TopologySpec,
    lab: Lab,
    nodes: Vec<Node>,
    _backends: Vec<Proc>,
    /// Whether tc netem works here (Err: why not).
    pub netem: std::result::Result<(), String>,
}

impl ChaosLab {
    /// Builds the lab, starts the back ends, every balancer, then every VRRP daemon at once.
    pub fn start(spec: TopologySpec) -> Result<Self> {
        let lab = Lab::new(spec.node_count() + 2)?;
        let services = lab.host(spec.services());
        let backends = vec![
            start_backend(services, lab.dir(), "as1", BACKEND_PORTS[0])?,
            start_backend(services, lab.dir(), "as2", BACKEND_PORTS[1])?,
        ];
        let netem = probe_netem(&lab);
        let mut this = Self {
            nodes: (0..spec.node_count()).map(|_| Node::default()).collect(),
            spec,
            lab,
            _backends: backends,
            netem,
        };
        for node in 0..this.spec.node_count() {
            let dir = this.node_dir(node);
            std::fs::create_dir_all(&dir)?;
            let services = this.lab.host(this.spec.services()).ipv4();
            std::fs::write(
                dir.join("elb-proxy.yaml"),
                this.spec.proxy_yaml(services, &dir.join("admin.sock")),
            )?;
            std::fs::write(
                dir.join("keepalived.conf"),
                this.spec.keepalived_conf(node, &bin("elb-check")),
            )?;
            this.start_proxy(node)?;
        }
        for node in 0..this.spec.node_count() {
            this.start_vrrp(node)?;
        }
        Ok(this)
    }

    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.lab.dir().join(format!("n{node}"))
    }

    pub fn client_netns(&self) -> String {
        self.lab.host(self.spec.client()).netns().to_string()
    }

    pub fn start_vrrp(&mut self, node: usize) -> Result<()> {
        let dir = self.node_dir(node);
        let host = self.lab.host(node);
        let conf = dir.join("keepalived.conf");
        let daemon = self.spec.nodes[node].daemon;
        for file in daemon.pid_files() {
            remove_if_dead(&dir.join(file))?;
        }
        let cmd = daemon.command(host, &conf, &dir);
        let proc = host.spawn(&format!("{}-n{node}", daemon.name()), cmd)?;
        let n = &mut self.nodes[node];
        n.vrrp = Some(proc);
        n.vrrp_frozen = false;
        n.logged_state = None;
        Ok(())
    }

    /// SIGKILL to the daemon's whole process tree (keepalived's parent alone would let its
    /// VRRP child shut down gracefully: not a crash).
    pub fn kill_vrrp(&mut self, node: usize) -> Result<()> {
        let mut proc = self.nodes[node]
            .vrrp
            .take()
            .context("VRRP daemon not running")?;
        proc.kill();
        self.nodes[node].vrrp_frozen = false;
        Ok(())
    }

    pub fn freeze_vrrp(&mut self, node: usize) -> Result<()> {
        let n = &mut self.nodes[node];
        n.vrrp
            .as_ref()
            .context("VRRP daemon not running")?
            .signal_group(Signal::SIGSTOP)?;
        n.vrrp_frozen = true;
        Ok(())
    }

    pub fn thaw_vrrp(&mut self, node: usize) -> Result<()> {
        let n = &mut self.nodes[node];
        n.vrrp
            .as_ref()
            .context("VRRP daemon not running")?
            .signal_group(Signal::SIGCONT)?;
        n.vrrp_frozen = false;
        Ok(())
    }

    /// Starts elb-proxy and waits until it accepts connections.
    pub fn start_proxy(&mut self, node: usize) -> Result<()> {
        let host = self.lab.host(node);
        let mut cmd = host.command(&bin("elb-proxy").to_string_lossy());
        cmd.arg("--config")
            .arg(self.node_dir(node).join("elb-proxy.yaml"));
        let proc = host.spawn(&format!("elb-proxy-n{node}"), cmd)?;
        host.wait_tcp(
            SocketAddr::new(IpAddr::V4(host.ipv4()), PROXY_PORT),
            START_TIMEOUT,
        )
        .with_context(|| format!("elb-proxy on n{node} did not start"))?;
        let n = &mut self.nodes[node];
        n.proxy = Some(proc);
        n.proxy_frozen = false;
        Ok(())
    }

    pub fn kill_proxy(&mut self, node: usize) -> Result<()> {
        let mut proc = self.nodes[node]
            .proxy
            .take()
            .context("elb-proxy not running")?;
        proc.kill();
        self.nodes[node].proxy_frozen = false;
        Ok(())
    }

    pub fn freeze_proxy(&mut self, node: usize) -> Result<()> {
        let n = &mut self.nodes[node];
        n.proxy
            .as_ref()
            .context("elb-proxy not running")?
            .signal_group(Signal::SIGSTOP)?;
        n.proxy_frozen = true;
        Ok(())
    }

    pub fn thaw_proxy(&mut self, node: usize) -> Result<()> {
        let n = &mut self.nodes[node];
        n.proxy
            .as_ref()
            .context("elb-proxy not running")?
            .signal_group(Signal::SIGCONT)?;
        n.proxy_frozen = false;
        Ok(())
    }

    pub fn partition(&self, node: usize) -> Result<()> {
        self.lab.host(node).partition()
    }

    pub fn loss(&self, node: usize, percent: u8) -> Result<()> {
        self.lab.host(node).loss(percent)
    }

    pub fn link_down(&self, node: usize) -> Result<()> {
        self.lab.host(node).link_down()
    }

    pub fn link_up(&self, node: usize) -> Result<()> {
        self.lab.host(node).link_up()
    }

    /// Removes a partition or loss.
    pub fn heal(&self, node: usize) -> Result<()> {
        self.lab.host(node).heal()
    }

    /// Delays every frame leaving eth0 by `millis` (tc netem; only when [`Self::netem`] is Ok).
    pub fn delay(&mut self, node: usize, millis: u32) -> Result<()> {
        let delay = format!("{millis}ms");
        self.lab.host(node).run(&[
            "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", &delay,
        ])?;
        self.nodes[node].delayed = true;
        Ok(())
    }

    pub fn undelay(&mut self, node: usize) -> Result<()> {
        if std::mem::take(&mut self.nodes[node].delayed) {
            self.lab
                .host(node)
                .run(&["tc", "qdisc", "del", "dev", "eth0", "root"])?;
        }
        Ok(())
    }

    /// Whether the node holds the VIP (read with iproute2 over netlink, without entering the
    /// namespace).
    pub fn holds_vip(&self, node: usize) -> Result<bool> {
        let netns = self.lab.host(node).netns();
        let out = Command::new("ip")
            .args(["-n", netns, "-o", "-4", "addr", "show", "dev", "eth0"])
            .output()
            .context("ip addr")?;
        if !out.status.success() {
            bail!(
                "ip -n {netns} addr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let needle = format!(" inet {VIP}/");
        Ok(String::from_utf8_lossy(&out.stdout).contains(&needle))
    }

    /// What the node's daemon says its state is: vrrpd through `show status json` on its
    /// control socket, keepalived through the last state its log announced.
    pub fn daemon_view(&mut self, node: usize) -> DaemonView {
        let dir = self.node_dir(node);
        let n = &mut self.nodes[node];
        let Some(proc) = &mut n.vrrp else {
            return DaemonView::Dead;
        };
        if n.vrrp_frozen {
            return DaemonView::Frozen;
        }
        if let Ok(status) = proc.wait_exit(Duration::ZERO) {
            return DaemonView::Unknown(format!("exited ({status})"));
        }
        match self.spec.nodes[node].daemon {
            Daemon::Vrrpd => match vrrpd_state(&dir.join("vrrpd.sock")) {
                Ok(state) => DaemonView::State(state),
                Err(e) => DaemonView::Unknown(format!("{e:#}")),
            },
            Daemon::Keepalived => {
                // Consume the log lines that arrived since the last look.
                while let Ok(line) = proc.wait_for_line(r"Entering [A-Z]+ STATE", Duration::ZERO) {
                    if let Some(state) = logged_state(&line) {
                        n.logged_state = Some(state);
                    }
                }
                match n.logged_state {
                    Some(state) => DaemonView::State(state),
                    None => DaemonView::Unknown("no state logged yet".into()),
                }
            }
        }
    }

    /// Every node's VIP and daemon state, as close together in time as the queries allow.
    pub fn snapshot(&mut self, client_last_ok: Option<Instant>) -> Result<Snapshot> {
        let at = Instant::now();
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for node in 0..self.nodes.len() {
            let daemon = self.daemon_view(node);
            let vip = self.holds_vip(node)?;
            nodes.push(NodeView { vip, daemon });
        }
        Ok(Snapshot {
            at,
            nodes,
            client_last_ok,
        })
    }

    /// Where the client sends VIP traffic (its ARP entry for the VIP) and each node's MAC, for
    /// a failure report: a client following a stale ARP entry looks like a dead VIP.
    pub fn arp_view(&self) -> String {
        let run = |netns: &str, args: &[&str]| {
            Command::new("ip")
                .arg("-n")
                .arg(netns)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        let vip = VIP.to_string();
        let mut out = format!(
            "client's neighbour entry for the VIP: {}\n",
            run(&self.client_netns(), &["neigh", "show", &vip])
        );
        for node in 0..self.nodes.len() {
            let netns = self.lab.host(node).netns();
            out.push_str(&format!(
                "n{node} eth0: {}\n",
                run(netns, &["-br", "link", "show", "dev", "eth0"])
            ));
        }
        out
    }

    /// The last `lines` lines of every daemon's and balancer's output, for a failure report.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            for proc in [&n.vrrp, &n.proxy].into_iter().flatten() {
                let all = proc.output();
                let tail: Vec<&str> = all.lines().rev().take(lines).collect();
                out.push_str(&format!(
                    "----- last {} lines of {} -----\n",
                    tail.len(),
                    proc.label()
                ));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// Removes a pid file whose process is gone. A SIGKILLed keepalived's VRRP child is an orphan
/// that this machine's init reaps only after seconds; until then the zombie's pid looks alive
/// to keepalived, which refuses to start ("daemon is already running"). A host whose init
/// reaps at once (systemd) leaves a pid file of a gone process: what this recreates.
fn remove_if_dead(pid_file: &std::path::Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Ok(());
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Ok(());
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, None | Some("Z") | Some("X")) {
        std::fs::remove_file(pid_file)
            .with_context(|| format!("remove stale {}", pid_file.display()))?;
    }
    Ok(())
}

/// Tries a netem qdisc on a lab host: this kernel may lack sch_netem.
fn probe_netem(lab: &Lab) -> std::result::Result<(), String> {
    let host = lab.host(0);
    match host.run(&[
        "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "1ms",
    ]) {
        Ok(_) => host
            .run(&["tc", "qdisc", "del", "dev", "eth0", "root"])
            .map(drop)
            .map_err(|e| format!("{e:#}")),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// `(VI_1) Entering MASTER STATE` -> MASTER.
fn logged_state(line: &str) -> Option<VrrpState> {
    let rest = &line[line.find("Entering ")? + "Entering ".len()..];
    VrrpState::parse(rest.split_whitespace().next()?)
}

/// Asks vrrpd's control socket for `show status json` (with the control-socket library's
/// client, bounded by `STATUS_TIMEOUT`) and returns the first instance's state.
fn vrrpd_state(socket: &std::path::Path) -> Result<VrrpState> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("a runtime for the control client")?;
    let client = ctl_socket::Client::new(socket).with_timeout(STATUS_TIMEOUT);
    let answer = rt.block_on(client.request("show status json"))?;
    let json: serde_json::Value =
        serde_json::from_str(&answer).with_context(|| format!("not JSON: {answer:?}"))?;
    let state = json["instances"][0]["state"]
        .as_str()
        .with_context(|| format!("no instance state in {answer}"))?;
    VrrpState::parse(state).with_context(|| format!("unknown state {state:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keepalived_state_lines() {
        assert_eq!(
            logged_state("Wed Nov 26 07:00:01 2026: (VI_1) Entering MASTER STATE"),
            Some(VrrpState::Master)
        );
        assert_eq!(
            logged_state("(VI_1) Entering BACKUP STATE (init)"),
            Some(VrrpState::Backup)
        );
        assert_eq!(logged_state("(VI_1) received lower priority"), None);
    }
}
