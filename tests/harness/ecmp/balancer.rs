//! One balancer of the ECMP lab: elb-proxy, the gate (vrrpd holding the service address on
//! `lo` while elb-check passes) and the speaker (FRR announcing that address while it is
//! there), and the ways a balancer leaves: crash, drain, maintenance, link cut.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use netlab::{Host, Proc};
use nix::sys::signal::Signal;

use super::configs::{Speaker, balancer_frr, exabgp_conf, gate_conf, proxy_yaml};
use super::frr::Frr;
use super::topology::{SERVICE, SERVICE_PORT, uplink_addr};
use crate::bins::{bin, ctl};

const START_TIMEOUT: Duration = Duration::from_secs(15);
/// nftables table that drops everything on the uplink (a dead host, as the router sees it).
const CUT_TABLE: &str = "ecmp_cut";

pub struct Balancer {
    pub k: usize,
    dir: PathBuf,
    speaker: Speaker,
    proxy: Option<Proc>,
    /// vrrpd (the gate) or ExaBGP, per the speaker.
    gate: Option<Proc>,
    /// FRR, with the gate; ExaBGP speaks BGP itself.
    pub frr: Option<Frr>,
}

impl Balancer {
    /// Writes the configs and starts the speaker, elb-proxy and the gate on `host`.
    pub fn start(
        host: &Host,
        k: usize,
        dir: PathBuf,
        members: Ipv4Addr,
        speaker: &Speaker,
    ) -> Result<Self> {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("elb-proxy.yaml"), proxy_yaml(members, &dir, "1s"))?;
        let elb_check = bin("elb-check");
        let frr = match speaker {
            Speaker::Gate(g) => {
                let conf = gate_conf(k, g, &elb_check, &dir.join("elb-proxy.yaml"));
                std::fs::write(dir.join("keepalived.conf"), conf)?;
                Some(Frr::start(host, &dir.join("frr"), &balancer_frr(k))?)
            }
            Speaker::ExaBgp(g) => {
                let conf = exabgp_conf(k, g, &elb_check, &dir.join("disabled"));
                std::fs::write(dir.join("exabgp.conf"), conf)?;
                // ExaBGP announces an address that stays on lo (no gate removes it).
                host.run(&["ip", "addr", "add", &format!("{SERVICE}/32"), "dev", "lo"])?;
                None
            }
        };
        let mut b = Self {
            k,
            dir,
            speaker: speaker.clone(),
            proxy: None,
            gate: None,
            frr,
        };
        b.start_proxy(host)?;
        b.start_gate(host)?;
        Ok(b)
    }

    pub fn start_proxy(&mut self, host: &Host) -> Result<()> {
        let mut cmd = host.command(&bin("elb-proxy").to_string_lossy());
        cmd.arg("--config").arg(self.dir.join("elb-proxy.yaml"));
        let proc = host.spawn("elb-proxy", cmd)?;
        host.wait_tcp(
            SocketAddr::new(IpAddr::V4(uplink_addr(self.k)), SERVICE_PORT),
            START_TIMEOUT,
        )
        .with_context(|| format!("elb-proxy on balancer {} did not start", self.k))?;
        self.proxy = Some(proc);
        Ok(())
    }

    pub fn start_gate(&mut self, host: &Host) -> Result<()> {
        let proc = match self.speaker {
            Speaker::Gate(_) => {
                let mut cmd = host.command(&bin("vrrpd").to_string_lossy());
                cmd.args(["-n", "-l", "-f"])
                    .arg(self.dir.join("keepalived.conf"))
                    .arg("-p")
                    .arg(self.dir.join("vrrpd.pid"));
                host.spawn("gate-vrrpd", cmd)?
            }
            Speaker::ExaBgp(_) => {
                let mut cmd = host.command("/usr/sbin/exabgp");
                cmd.arg(self.dir.join("exabgp.conf"))
                    .env("exabgp_daemon_user", "root")
                    .env("exabgp_daemon_daemonize", "false")
                    .env("exabgp_daemon_drop", "false")
                    .env("exabgp_log_destination", "stdout")
                    .env("exabgp_api_cli", "false");
                host.spawn("exabgp", cmd)?
            }
        };
        self.gate = Some(proc);
        Ok(())
    }

    /// A crash: elb-proxy SIGKILLed (the gate notices by its process watch, or by its probe
    /// failing when the process is not tracked).
    pub fn kill_proxy(&mut self) -> Result<()> {
        let mut proc = self.proxy.take().context("elb-proxy not running")?;
        proc.signal(Signal::SIGKILL)?;
        proc.wait_exit(Duration::from_secs(10))?;
        Ok(())
    }

    /// A planned stop: SIGTERM, so elb-proxy tells the gate first and serves out its grace;
    /// returns once it has exited.
    pub fn drain_proxy(&mut self) -> Result<()> {
        self.signal_proxy(Signal::SIGTERM)?;
        self.wait_proxy_exit()
    }

    /// Sends `signal` to elb-proxy (which keeps running until [`Self::wait_proxy_exit`]).
    pub fn signal_proxy(&self, signal: Signal) -> Result<()> {
        self.proxy
            .as_ref()
            .context("elb-proxy not running")?
            .signal(signal)
    }

    /// Waits for elb-proxy to exit (after a drain) and forgets it.
    pub fn wait_proxy_exit(&mut self) -> Result<()> {
        let mut proc = self.proxy.take().context("elb-proxy not running")?;
        proc.wait_exit(Duration::from_secs(40))?;
        Ok(())
    }

    /// Maintenance on demand: `vrrpd ctl set maintenance on|off` for the gate, the disable
    /// file for ExaBGP's healthcheck.
    pub fn maintenance(&self, host: &Host, on: bool) -> Result<()> {
        match self.speaker {
            Speaker::Gate(_) => {
                let word = if on { "on" } else { "off" };
                let pid = self.dir.join("vrrpd.pid");
                ctl(host, "vrrpd", "-p", &pid, &["set", "maintenance", word]).map(drop)
            }
            Speaker::ExaBgp(_) => {
                let file = self.dir.join("disabled");
                if on {
                    std::fs::write(file, "")?;
                } else {
                    std::fs::remove_file(file)?;
                }
                Ok(())
            }
        }
    }

    /// Drops every frame on the uplink while the link stays up (the router sees silence,
    /// not a carrier loss: only BFD or the BGP hold timer can notice).
    pub fn cut_uplink(&self, host: &Host) -> Result<()> {
        let script = format!(
            "table netdev {CUT_TABLE} {{\n\
             chain in {{ type filter hook ingress device \"up0\" priority 0; policy drop; }}\n\
             chain out {{ type filter hook egress device \"up0\" priority 0; policy drop; }}\n}}\n"
        );
        let path = self.dir.join("cut.nft");
        std::fs::write(&path, script)?;
        host.run(&["nft", "-f", &path.to_string_lossy()]).map(drop)
    }

    pub fn heal_uplink(&self, host: &Host) -> Result<()> {
        host.run(&["nft", "delete", "table", "netdev", CUT_TABLE])
            .map(drop)
    }

    pub fn gate(&self) -> Option<&Proc> {
        self.gate.as_ref()
    }

    /// When the vrrpd gate next logged its withdrawal (entering FAULT), from the stamp on
    /// the line; `None` with ExaBGP (its healthcheck's log is not parsed).
    pub fn wait_gate_down(&self, timeout: Duration) -> Result<Option<std::time::Instant>> {
        if matches!(self.speaker, Speaker::ExaBgp(_)) {
            return Ok(None);
        }
        let gate = self.gate.as_ref().context("gate not running")?;
        let line = gate.wait_for_line("Entering FAULT STATE", timeout)?;
        let stamp = line.split_whitespace().next().unwrap_or_default();
        Ok(super::routes::utc_stamp_to_instant(stamp))
    }

    pub fn proxy(&self) -> Option<&Proc> {
        self.proxy.as_ref()
    }

    /// Everything this balancer's daemons printed.
    pub fn logs(&self) -> String {
        let mut out = format!("===== balancer {} =====\n", self.k);
        for p in [&self.proxy, &self.gate].into_iter().flatten() {
            out.push_str(&format!("----- {} -----\n{}\n", p.label(), p.output()));
        }
        if let Some(frr) = &self.frr {
            out.push_str(&frr.logs());
        }
        out
    }
}
