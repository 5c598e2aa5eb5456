//! One host of the lab: a network namespace with `eth0` on the lab's bridge.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::capture::Capture;
use crate::proc::Proc;
use crate::sys::{ChangeBell, in_netns, retry_until, run_checked};

/// Name of the nftables table a host uses to cut or degrade its own link.
const CUT_TABLE: &str = "netlab_cut";

pub struct Host {
    pub(crate) netns: String,
    pub(crate) index: usize,
    pub(crate) dir: PathBuf,
    /// The nftables rules currently applied to eth0 (empty: the link is clean).
    pub(crate) impairment: Mutex<Option<String>>,
}

impl Host {
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The host's interface on the lab segment.
    pub fn ifname(&self) -> &str {
        "eth0"
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn ipv4(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, self.index as u8 + 1)
    }

    pub fn ipv6(&self) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, self.index as u16 + 1)
    }

    /// A command that will run inside this host's namespace (`ip netns exec`).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, program]);
        cmd
    }

    /// Runs `argv` inside the host to completion; fails with its stderr on a non-zero exit.
    pub fn run(&self, argv: &[&str]) -> Result<Output> {
        let (program, args) = argv.split_first().context("empty argv")?;
        run_checked(self.command(program).args(args))
    }

    /// Starts a long-lived process (built with [`Host::command`]) with its output captured.
    pub fn spawn(&self, label: &str, cmd: Command) -> Result<Proc> {
        Proc::start(&format!("{label}@{}", self.netns), cmd)
    }

    /// Runs `f` on a thread inside this host's namespace (for sockets made in-process).
    pub fn in_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        in_netns(&self.netns, f)
    }

    /// True when `ip` is currently assigned to an interface of this host.
    pub fn has_address(&self, ip: IpAddr) -> Result<bool> {
        let out = self.run(&["ip", "-o", "addr", "show"])?;
        Ok(address_listed(&String::from_utf8_lossy(&out.stdout), ip))
    }

    /// Waits until `ip` is present on (or absent from) this host, woken by netlink address
    /// notifications rather than by polling.
    pub fn wait_for_address(&self, ip: IpAddr, present: bool, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let netns = self.netns.clone();
        self.in_netns(move || -> Result<()> {
            let bell = ChangeBell::subscribe()?;
            loop {
                let out =
                    run_checked(Command::new("ip").args(["-n", &netns, "-o", "addr", "show"]))?;
                if address_listed(&String::from_utf8_lossy(&out.stdout), ip) == present {
                    return Ok(());
                }
                if !bell.ring_before(deadline)? {
                    let state = if present { "appear" } else { "disappear" };
                    bail!("{ip} did not {state} on {netns} within {timeout:?}");
                }
            }
        })?
    }

    /// Waits until a TCP connection to `addr` from inside this host succeeds.
    pub fn wait_tcp(&self, addr: SocketAddr, timeout: Duration) -> Result<()> {
        self.in_netns(|| {
            retry_until(timeout, || {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                    .map(drop)
                    .with_context(|| format!("connect to {addr}"))
            })
        })?
    }

    /// Starts tcpdump on eth0 with a BPF `filter` (e.g. `"vrrp or arp"`); returns once it is
    /// listening, so no packet after this call is missed.
    pub fn capture(&self, filter: &str) -> Result<Capture> {
        self.capture_on(self.ifname(), filter)
    }

    /// As [`Host::capture`], on `ifname`: an interface the test made inside this host.
    pub fn capture_on(&self, ifname: &str, filter: &str) -> Result<Capture> {
        let pcap = self.dir.join(format!(
            "{}-{}.pcap",
            self.netns,
            CAPTURE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        Capture::start(&self.netns, ifname, filter, pcap)
    }

    /// Sets eth0 administratively down (the kernel sees a link failure: carrier lost).
    pub fn link_down(&self) -> Result<()> {
        self.run(&["ip", "link", "set", "dev", "eth0", "down"])
            .map(drop)
    }

    pub fn link_up(&self) -> Result<()> {
        self.run(&["ip", "link", "set", "dev", "eth0", "up"])
            .map(drop)
    }

    /// Drops every frame in and out of eth0 while the link stays up: a partition the host's
    /// software cannot see, the hard case for VRRP (split brain).
    pub fn partition(&self) -> Result<()> {
        self.impair("policy drop;", "policy drop;")
    }

    /// Drops `percent` of frames in each direction at random (packet loss).
    pub fn loss(&self, percent: u8) -> Result<()> {
        let rule = format!("numgen random mod 100 < {} drop;", percent.min(100));
        self.impair(&rule, &rule)
    }

    /// Removes any partition or loss.
    pub fn heal(&self) -> Result<()> {
        let mut current = self.impairment.lock().expect("impairment lock");
        if current.take().is_some() {
            self.run(&["nft", "delete", "table", "netdev", CUT_TABLE])?;
        }
        Ok(())
    }

    fn impair(&self, ingress: &str, egress: &str) -> Result<()> {
        let mut current = self.impairment.lock().expect("impairment lock");
        let mut script = String::new();
        if current.is_some() {
            script.push_str(&format!("delete table netdev {CUT_TABLE}\n"));
        }
        script.push_str(&format!(
            "table netdev {CUT_TABLE} {{\n\
             chain in {{ type filter hook ingress device \"eth0\" priority 0; {ingress} }}\n\
             chain out {{ type filter hook egress device \"eth0\" priority 0; {egress} }}\n\
             }}\n"
        ));
        let path = self.dir.join(format!("{}-cut.nft", self.netns));
        std::fs::write(&path, &script)?;
        self.run(&["nft", "-f", &path.to_string_lossy()])?;
        *current = Some(script);
        Ok(())
    }
}

static CAPTURE_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Whether `ip -o addr show` output lists `ip` (as `inet A/len` or `inet6 A/len`).
fn address_listed(ip_o_addr: &str, ip: IpAddr) -> bool {
    let family = if ip.is_ipv4() { "inet" } else { "inet6" };
    ip_o_addr.lines().any(|line| {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w == family {
                if let Some(addr) = words.next() {
                    let bare = addr.split('/').next().unwrap_or(addr);
                    if bare.parse::<IpAddr>().ok() == Some(ip) {
                        return true;
                    }
                }
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
        2: eth0    inet 198.18.0.1/24 scope global eth0\\       valid_lft forever\n\
        2: eth0    inet 198.18.0.100/32 scope global eth0\\       valid_lft forever\n\
        2: eth0    inet6 2001:2::1/64 scope global \\       valid_lft forever\n";

    #[test]
    fn finds_listed_addresses_of_both_families() {
        assert!(address_listed(SAMPLE, "198.18.0.100".parse().unwrap()));
        assert!(address_listed(SAMPLE, "2001:2::1".parse().unwrap()));
    }

    #[test]
    fn does_not_match_prefixes_of_other_addresses() {
        assert!(!address_listed(SAMPLE, "198.18.0.10".parse().unwrap()));
        assert!(!address_listed(SAMPLE, "2001:2::".parse().unwrap()));
    }
}
