//! The seed deployment in the lab: two ELB hosts (elb-proxy + vrrpd, or keepalived as the VRRP
//! peer), a client host that reaches the service through the VIP, and a services host with the
//! cluster's two back ends and the SMTP server that receives the alert mails.
//!
//! ```text
//!   elb-a (198.18.0.1)   elb-b (198.18.0.2)   client (198.18.0.3)   services (198.18.0.4)
//!   elb-proxy :8280      elb-proxy :8280      requests to the VIP    back ends :9763 :9764
//!   vrrpd  prio 101      vrrpd  prio 100                             SMTP :2525
//!                  VIP 198.18.0.100 on the VRRP master
//! ```

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

use crate::bins::{bin, ctl};
use crate::sampler::Sampler;
use crate::services::{MailSink, members_yaml, start_backend};

pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
pub const PROXY_PORT: u16 = 8280;
pub const SMTP_PORT: u16 = 2525;
pub const BACKEND_PORTS: [u16; 2] = [9763, 9764];
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Index of each host in the lab.
pub const ELB_A: usize = 0;
pub const ELB_B: usize = 1;
pub const CLIENT: usize = 2;
pub const SERVICES: usize = 3;

pub use netlab::Vrrp;

/// Knobs of the scenario; the defaults are the seed's own settings.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub vrrp: [Vrrp; 2],
    pub version: u8,
    /// `advert_int` as written in keepalived.conf.
    pub advert_int: &'static str,
    /// `interval` of the track script as written.
    pub script_interval: &'static str,
    /// `timeout` of the track script (empty: keepalived's default, the interval).
    pub script_timeout: &'static str,
    pub weight: i32,
    pub priorities: [u8; 2],
    pub nopreempt: bool,
    /// Extra vrrpd flags (e.g. `--fast-failover`).
    pub vrrpd_args: Vec<String>,
    /// elb-check's own deadline, passed with `-t`.
    pub probe_timeout: &'static str,
    /// Each balancer sends to its own back end only (elb-a to as1, elb-b to as2), so a
    /// client can tell from the body which balancer answered.
    pub distinct_backends: bool,
    /// elb-proxy pushes `track chk_elb down` to the local vrrpd when it starts draining.
    pub push_to_vrrpd: bool,
    /// How long a draining elb-proxy keeps serving after SIGTERM (elb-proxy duration syntax).
    pub drain_grace: &'static str,
    /// Extra `global_defs` lines (each ending in a newline).
    pub global_defs: &'static str,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            vrrp: [Vrrp::Vrrpd, Vrrp::Vrrpd],
            version: 2,
            advert_int: "1",
            script_interval: "2",
            script_timeout: "",
            weight: 2,
            priorities: [101, 100],
            nopreempt: false,
            vrrpd_args: Vec::new(),
            probe_timeout: "1",
            distinct_backends: false,
            push_to_vrrpd: false,
            drain_grace: "0s",
            global_defs: "",
        }
    }
}

/// The running seed deployment.
pub struct Seed {
    pub lab: Lab,
    pub opts: SeedOptions,
    proxies: [Option<Proc>; 2],
    vrrp: [Option<Proc>; 2],
    _backends: Vec<Proc>,
    pub mail: MailSink,
}

impl Seed {
    /// Builds the lab, starts back ends, SMTP, both balancers and both VRRP daemons (elb-a's
    /// first, until it holds the VIP, so elb-a is the master every scenario starts from).
    pub fn start(opts: SeedOptions) -> Result<Self> {
        let lab = Lab::new(4)?;
        let services = lab.host(SERVICES);
        let backends = vec![
            start_backend(services, lab.dir(), "as1", BACKEND_PORTS[0])?,
            start_backend(services, lab.dir(), "as2", BACKEND_PORTS[1])?,
        ];
        let mail = MailSink::start(services, SMTP_PORT)?;
        let mut seed = Seed {
            lab,
            opts,
            proxies: [None, None],
            vrrp: [None, None],
            _backends: backends,
            mail,
        };
        for node in [ELB_A, ELB_B] {
            seed.write_configs(node)?;
            seed.start_proxy(node)?;
        }
        // elb-a first, and elb-b once elb-a holds the VIP: with equal start times the two
        // master-down timers differ by under a millisecond of skew, so which node wins the
        // first election would otherwise be a race (and with nopreempt it would stay so).
        seed.start_vrrp(ELB_A)?;
        seed.lab
            .host(ELB_A)
            .wait_for_address(IpAddr::V4(VIP), true, Duration::from_secs(20))
            .with_context(|| format!("VIP never reached elb-a\n{}", seed.logs()))?;
        seed.start_vrrp(ELB_B)?;
        seed.wait_following(ELB_B, ELB_A, START_TIMEOUT)?;
        Ok(seed)
    }

    /// Waits until `node`'s VRRP daemon follows `master`: it is BACKUP and has heard the
    /// master's adverts. A scenario must not fire its event before: a backup that never heard
    /// the master cannot tell a dip of the master's priority from a newcomer's lower priority
    /// (no fast preempt), and its master-down timer would still run from its own start, so a
    /// failover would look faster than it is. vrrpd's status names the master it follows;
    /// keepalived has no such view, so for it: its BACKUP line, then one advert from the
    /// master seen on its interface.
    pub fn wait_following(&self, node: usize, master: usize, timeout: Duration) -> Result<()> {
        if self.opts.vrrp[node] == Vrrp::Keepalived {
            let proc = self.vrrp[node].as_ref().context("keepalived not running")?;
            proc.wait_for_nth_line("Entering BACKUP STATE", 1, timeout)?;
            let capture = self.lab.host(node).capture("vrrp")?;
            let advert = format!("{} > 224.0.0.18", self.lab.host(master).ipv4());
            capture
                .wait_for(&regex_escape(&advert), timeout)
                .with_context(|| format!("no advert from {}", Self::node_name(master)))?;
            return Ok(());
        }
        let expect = format!("master {} ", self.lab.host(master).ipv4());
        let end = Instant::now() + timeout;
        loop {
            let status = self
                .vrrpd_ctl(node, &["show", "status"])
                .unwrap_or_default();
            if status.contains(&expect) {
                return Ok(());
            }
            if Instant::now() >= end {
                bail!(
                    "{} never followed {}: {status}\n{}",
                    Self::node_name(node),
                    Self::node_name(master),
                    self.logs()
                );
            }
            // Polling the control socket: vrrpd emits no event when it learns its master.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn host(&self, node: usize) -> &Host {
        self.lab.host(node)
    }

    pub fn node_name(node: usize) -> &'static str {
        ["elb-a", "elb-b", "client", "services"][node]
    }

    /// A file in the node's own directory (its daemons derive their runtime paths from the
    /// pid file's directory, as on a real host).
    fn path(&self, node: usize, file: &str) -> PathBuf {
        let dir = self.lab.dir().join(Self::node_name(node));
        std::fs::create_dir_all(&dir).expect("node directory");
        dir.join(file)
    }

    pub fn admin_socket(&self, node: usize) -> PathBuf {
        self.path(node, "admin.sock")
    }

    pub fn vrrpd_pid_file(&self, node: usize) -> PathBuf {
        self.path(node, "vrrpd.pid")
    }

    pub fn keepalived_conf(&self, node: usize) -> PathBuf {
        self.path(node, "keepalived.conf")
    }

    fn write_configs(&self, node: usize) -> Result<()> {
        let services = self.lab.host(SERVICES).ipv4();
        let members = members_yaml(
            "as",
            services,
            BACKEND_PORTS
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !self.opts.distinct_backends || *i == node),
        );
        let mut proxy = format!(
            "workers: 1\n\
             listeners:\n  - name: http\n    address: 0.0.0.0:{PROXY_PORT}\n\
             health:\n  path: /services/EchoProxy\n\
             clusters:\n  - name: appserver\n    balance: round_robin\n    members:\n{}\
             default_cluster: appserver\n\
             admin:\n  socket: {}\n\
             shutdown:\n  grace: {}\n",
            members,
            self.admin_socket(node).display(),
            self.opts.drain_grace,
        );
        if self.opts.push_to_vrrpd {
            writeln!(
                proxy,
                "vrrpd:\n  control_socket: {}\n  track: chk_elb",
                self.path(node, "vrrpd.sock").display()
            )?;
        }
        std::fs::write(self.path(node, "elb-proxy.yaml"), proxy)?;

        let o = &self.opts;
        let mut conf = String::new();
        writeln!(
            conf,
            "global_defs {{\n   notification_email {{\n     ops@example.com\n   }}\n   \
             notification_email_from {name}@example.com\n   smtp_server {services} {SMTP_PORT}\n   \
             smtp_connect_timeout 5\n   router_id {name}\n{extra}}}",
            name = Self::node_name(node),
            extra = o.global_defs,
        )?;
        let timeout = if o.script_timeout.is_empty() {
            String::new()
        } else {
            format!("   timeout {}\n", o.script_timeout)
        };
        writeln!(
            conf,
            "vrrp_script chk_elb {{\n   script \"{} -t {} http://localhost:{PROXY_PORT}/services/EchoProxy\"\n   \
             interval {}\n{timeout}   weight {}\n}}",
            bin("elb-check").display(),
            o.probe_timeout,
            o.script_interval,
            o.weight
        )?;
        let state = if node == ELB_A && !o.nopreempt {
            "MASTER"
        } else {
            "BACKUP"
        };
        let auth = if o.version == 2 {
            "    authentication {\n        auth_type PASS\n        auth_pass elbha\n    }\n"
        } else {
            ""
        };
        writeln!(
            conf,
            "vrrp_instance VI_1 {{\n    interface eth0\n    state {state}\n    virtual_router_id 51\n    \
             priority {}\n    advert_int {}\n    version {}\n{}{auth}    virtual_ipaddress {{\n        \
             {VIP}/24\n    }}\n    track_script {{\n        chk_elb\n    }}\n    smtp_alert\n}}",
            o.priorities[node],
            o.advert_int,
            o.version,
            if o.nopreempt { "    nopreempt\n" } else { "" },
        )?;
        std::fs::write(self.keepalived_conf(node), conf)?;
        Ok(())
    }

    /// Starts elb-proxy on `node` and waits until its health endpoint accepts connections.
    pub fn start_proxy(&mut self, node: usize) -> Result<()> {
        let host = self.lab.host(node);
        let mut cmd = host.command(&bin("elb-proxy").to_string_lossy());
        cmd.arg("--config").arg(self.path(node, "elb-proxy.yaml"));
        let proc = host.spawn("elb-proxy", cmd)?;
        let health = SocketAddr::new(IpAddr::V4(host.ipv4()), PROXY_PORT);
        host.wait_tcp(health, START_TIMEOUT)
            .with_context(|| format!("elb-proxy on {} did not start", Self::node_name(node)))?;
        self.proxies[node] = Some(proc);
        Ok(())
    }

    /// Stops elb-proxy on `node` with `signal` and waits for it to exit.
    pub fn stop_proxy(&mut self, node: usize, signal: Signal) -> Result<()> {
        let mut proc = self.proxies[node].take().context("elb-proxy not running")?;
        proc.signal(signal)?;
        proc.wait_exit(Duration::from_secs(40))?;
        Ok(())
    }

    /// Starts the node's VRRP daemon (vrrpd or keepalived, per the options).
    pub fn start_vrrp(&mut self, node: usize) -> Result<()> {
        let host = self.lab.host(node);
        let kind = self.opts.vrrp[node];
        let mut cmd = kind.command(host, &self.keepalived_conf(node), &self.path(node, ""));
        if kind == Vrrp::Vrrpd {
            cmd.args(&self.opts.vrrpd_args);
        }
        let proc = host.spawn(kind.name(), cmd)?;
        self.vrrp[node] = Some(proc);
        Ok(())
    }

    /// Stops the node's VRRP daemon: SIGKILL kills the whole process tree (a crash), other
    /// signals go to the main process (a clean stop) and are waited for.
    pub fn stop_vrrp(&mut self, node: usize, signal: Signal) -> Result<()> {
        let mut proc = self.vrrp[node].take().context("VRRP daemon not running")?;
        if signal == Signal::SIGKILL {
            proc.kill();
        } else {
            proc.signal(signal)?;
            proc.wait_exit(Duration::from_secs(20))?;
        }
        Ok(())
    }

    /// Everything the daemons printed, for a failure report.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for node in [ELB_A, ELB_B] {
            for proc in [&self.vrrp[node], &self.proxies[node]]
                .into_iter()
                .flatten()
            {
                let _ = writeln!(
                    out,
                    "----- {} on {} -----\n{}",
                    proc.label(),
                    Self::node_name(node),
                    proc.output()
                );
            }
        }
        out
    }

    pub fn vrrp_proc(&self, node: usize) -> Option<&Proc> {
        self.vrrp[node].as_ref()
    }

    pub fn proxy_proc(&self, node: usize) -> Option<&Proc> {
        self.proxies[node].as_ref()
    }

    /// Which ELB nodes hold the VIP right now.
    pub fn vip_holders(&self) -> Result<Vec<usize>> {
        let mut holders = Vec::new();
        for node in [ELB_A, ELB_B] {
            if self.lab.host(node).has_address(IpAddr::V4(VIP))? {
                holders.push(node);
            }
        }
        Ok(holders)
    }

    /// Starts recording every VIP addition and removal on both ELB nodes (`ip monitor`), and
    /// returns once both monitors are known to listen (each has seen a marker address come
    /// and go).
    pub fn watch_vip(&self) -> Result<VipWatch> {
        let mut monitors = Vec::new();
        for node in [ELB_A, ELB_B] {
            let host = self.lab.host(node);
            let mut cmd = host.command("ip");
            cmd.args(["-o", "-4", "monitor", "address"]);
            let monitor = host.spawn("ip-monitor", cmd)?;
            // The monitor subscribes some time after it starts: add and remove a marker
            // address until it reports one (each try waits for the event, bounded).
            let marker = "198.18.1.254/32";
            let mut listening = false;
            for _ in 0..50 {
                host.run(&["ip", "addr", "add", marker, "dev", host.ifname()])?;
                host.run(&["ip", "addr", "del", marker, "dev", host.ifname()])?;
                let seen = monitor
                    .wait_for_line(r"Deleted.*198\.18\.1\.254/32", Duration::from_millis(200));
                if seen.is_ok() {
                    listening = true;
                    break;
                }
            }
            if !listening {
                bail!(
                    "ip monitor on {} never reported the marker address",
                    Self::node_name(node)
                );
            }
            monitors.push(monitor);
        }
        Ok(VipWatch { monitors })
    }

    /// Waits until the VIP is on `node` and on no other ELB node; returns how long it took.
    pub fn wait_vip_on(&self, node: usize, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        self.lab
            .host(node)
            .wait_for_address(IpAddr::V4(VIP), true, timeout)?;
        let other = 1 - node;
        let left = timeout.saturating_sub(start.elapsed());
        self.lab
            .host(other)
            .wait_for_address(IpAddr::V4(VIP), false, left)?;
        Ok(start.elapsed())
    }

    /// One request from the client host through the VIP; returns the body on HTTP 200.
    pub fn request_via_vip(&self, timeout: Duration) -> Result<String> {
        self.lab
            .host(CLIENT)
            .in_netns(|| http_get(SocketAddr::new(IpAddr::V4(VIP), PROXY_PORT), "/", timeout))?
    }

    /// The `ip addr show eth0` view on `node` (the seed's step 10).
    pub fn ip_addr_show(&self, node: usize) -> Result<String> {
        let out = self
            .lab
            .host(node)
            .run(&["ip", "-4", "addr", "show", "dev", "eth0"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `vrrpd ctl ARGS...` against the node's daemon.
    pub fn vrrpd_ctl(&self, node: usize, args: &[&str]) -> Result<String> {
        ctl(
            self.host(node),
            "vrrpd",
            "-p",
            &self.vrrpd_pid_file(node),
            args,
        )
    }

    /// `elb-proxy ctl ARGS...` against the node's balancer.
    pub fn proxy_ctl(&self, node: usize, args: &[&str]) -> Result<String> {
        ctl(
            self.host(node),
            "elb-proxy",
            "-s",
            &self.admin_socket(node),
            args,
        )
    }

    /// Starts a client on the client host sending a request through the VIP every `period`
    /// (each with `timeout`), until stopped or `max` elapsed.
    pub fn client_loop(&self, period: Duration, timeout: Duration, max: Duration) -> ClientLoop {
        ClientLoop::start(
            self.lab.host(CLIENT).netns().to_string(),
            period,
            timeout,
            max,
        )
    }
}

/// `text` as a regular expression matching itself (dots in addresses).
fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

/// VIP additions and removals seen on the ELB nodes since [`Seed::watch_vip`].
pub struct VipWatch {
    monitors: Vec<Proc>,
}

impl VipWatch {
    /// How many times the VIP was added to and removed from `node` so far.
    pub fn changes(&self, node: usize) -> (usize, usize) {
        let vip = format!("inet {VIP}/");
        let output = self.monitors[node].output();
        let lines = output.lines().filter(|l| l.contains(&vip));
        let (removed, added): (Vec<&str>, Vec<&str>) =
            lines.partition(|l| l.starts_with("Deleted"));
        (added.len(), removed.len())
    }

    /// Every VIP change on either node, for a failure report.
    pub fn log(&self) -> String {
        let vip = format!("inet {VIP}/");
        let mut out = String::new();
        for (node, monitor) in self.monitors.iter().enumerate() {
            for line in monitor.output().lines().filter(|l| l.contains(&vip)) {
                let _ = writeln!(out, "{}: {line}", Seed::node_name(node));
            }
        }
        out
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection: the status must be 200; returns the body.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    let mut conn = TcpStream::connect_timeout(&addr, timeout)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    conn.set_read_timeout(Some(left))?;
    conn.set_write_timeout(Some(left))?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        bail!("answer was {status:?}");
    }
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}

/// One client request and its outcome.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub outcome: Result<String, String>,
}

/// A background client requesting through the VIP at a fixed pace.
pub type ClientLoop = Sampler<Sample>;

impl ClientLoop {
    fn start(netns: String, period: Duration, timeout: Duration, max: Duration) -> Self {
        let addr = SocketAddr::new(IpAddr::V4(VIP), PROXY_PORT);
        Sampler::spawn(&netns, period, max, move |_, at| Sample {
            at,
            outcome: http_get(addr, "/", timeout).map_err(|e| e.to_string()),
        })
    }
}

/// Failed requests sent in `[from, until)`, and the time from `from` to the first success
/// after the last of those failures (the client-side outage), if any request failed.
pub fn outage(samples: &[Sample], from: Instant, until: Instant) -> (usize, Option<Duration>) {
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= from).collect();
    let window = after.iter().take_while(|s| s.at < until).count();
    let failed = after[..window]
        .iter()
        .filter(|s| s.outcome.is_err())
        .count();
    let last_fail = after[..window].iter().rposition(|s| s.outcome.is_err());
    let recovered = last_fail
        .and_then(|i| after.get(i + 1))
        .map(|s| s.at - from);
    (failed, recovered)
}
