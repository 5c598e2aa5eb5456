//! One balancer of the ECMP lab: elb-proxy, the gate (vrrpd holding the service address on
//! `lo` while elb-check passes) and the speaker (FRR announcing that address while it is
//! there), and the ways a balancer leaves: crash, drain, maintenance, link cut.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use netlab::{Host, Proc};
use nix::sys::signal::Signal;

use super::configs::{GateOptions, balancer_frr, gate_conf, proxy_yaml};
use super::frr::Frr;
use super::topology::{SERVICE_PORT, uplink_addr};
use crate::bins::{bin, ctl};

const START_TIMEOUT: Duration = Duration::from_secs(15);
/// nftables table that drops everything on the uplink (a dead host, as the router sees it).
const CUT_TABLE: &str = "ecmp_cut";

pub struct Balancer {
    pub k: usize,
    dir: PathBuf,
    proxy: Option<Proc>,
    gate: Option<Proc>,
    pub frr: Frr,
}

impl Balancer {
    /// Writes the configs and starts FRR, elb-proxy and the gate on `host`.
    pub fn start(
        host: &Host,
        k: usize,
        dir: PathBuf,
        members: Ipv4Addr,
        gate: &GateOptions,
    ) -> Result<Self> {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("elb-proxy.yaml"), proxy_yaml(members, &dir, "1s"))?;
        std::fs::write(
            dir.join("keepalived.conf"),
            gate_conf(k, gate, &bin("elb-check")),
        )?;
        let frr = Frr::start(host, &dir.join("frr"), &balancer_frr(k))?;
        let mut b = Self {
            k,
            dir,
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
        let mut cmd = host.command(&bin("vrrpd").to_string_lossy());
        cmd.args(["-n", "-l", "-f"])
            .arg(self.dir.join("keepalived.conf"))
            .arg("-p")
            .arg(self.dir.join("vrrpd.pid"));
        self.gate = Some(host.spawn("gate-vrrpd", cmd)?);
        Ok(())
    }

    /// A crash: elb-proxy SIGKILLed (the gate notices only by its probe failing).
    pub fn kill_proxy(&mut self) -> Result<()> {
        let mut proc = self.proxy.take().context("elb-proxy not running")?;
        proc.signal(Signal::SIGKILL)?;
        proc.wait_exit(Duration::from_secs(10))?;
        Ok(())
    }

    /// A planned stop: SIGTERM, so elb-proxy tells the gate first and serves out its grace;
    /// returns once it has exited.
    pub fn drain_proxy(&mut self) -> Result<()> {
        let mut proc = self.proxy.take().context("elb-proxy not running")?;
        proc.signal(Signal::SIGTERM)?;
        proc.wait_exit(Duration::from_secs(40))?;
        Ok(())
    }

    /// `vrrpd ctl set maintenance on|off`: withdraw (or announce again) on demand.
    pub fn maintenance(&self, host: &Host, on: bool) -> Result<String> {
        ctl(
            host,
            "vrrpd",
            "-p",
            &self.dir.join("vrrpd.pid"),
            &["set", "maintenance", if on { "on" } else { "off" }],
        )
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

    pub fn proxy(&self) -> Option<&Proc> {
        self.proxy.as_ref()
    }

    /// Everything this balancer's daemons printed.
    pub fn logs(&self) -> String {
        let mut out = format!("===== balancer {} =====\n", self.k);
        for p in [&self.proxy, &self.gate].into_iter().flatten() {
            out.push_str(&format!("----- {} -----\n{}\n", p.label(), p.output()));
        }
        out.push_str(&self.frr.logs());
        out
    }
}
