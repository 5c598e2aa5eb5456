//! The event loop: one task owns every instance, so the state machines never race. It waits
//! for the earliest of: an instance deadline, a received packet, a kernel link/address event,
//! a signal, a tracker update or a control command, feeds it to the `vrrp` state machine and
//! carries out the actions in order (send adverts, add/remove VIPs, announce, log).

mod actions;
mod control_bridge;
mod dynamic_interfaces;
mod events;
mod extra_garp;
mod garp_pacing;
mod iface;
mod lifecycle;
mod local_igmp;
mod process_name;
// setpriority(2), mlockall(2) and sched_setscheduler(2) have no safe wrapper in nix.
mod link_delays;
#[allow(unsafe_code)]
mod process_tuning;
mod reload;
// sched_setscheduler(2) has no safe wrapper in nix.
#[allow(unsafe_code)]
mod rt_sched;
mod scripts_and_mail;
mod static_restore;
mod static_state;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use vrrp::{Event, Unit};

use crate::dump;
use crate::net::linkwatch;
use crate::net::netlink::Netlink;
use crate::plan::UnitLayout;
use crate::ratelimit::RateLimiter;
use crate::signals::{SignalAction, Signals, name_of};
use crate::spec::{DaemonSpec, InstanceSpec};
use control_bridge::{ControlBridge, ControlReq};
use iface::Iface;
pub use iface::Received;
use scripts_and_mail::ScriptsAndMail;

/// Loads the configuration (argument: true on reload); returns a clear error when it cannot.
pub type Loader = Box<dyn Fn(bool) -> Result<DaemonSpec> + Send>;

/// Options the daemon runs with.
pub struct Options {
    /// Control socket path; `None` = no control socket.
    pub control_socket: Option<PathBuf>,
    /// Where SIGUSR1 writes keepalived's data dump.
    pub data_file: PathBuf,
    /// Where SIGUSR2 writes keepalived's stats dump.
    pub stats_file: PathBuf,
    /// keepalived's JSON dump file (signal JSON).
    pub json_file: PathBuf,
    /// `--start-partial`: start with the instances that can be built when others cannot.
    pub start_partial: bool,
    /// keepalived's -V: leave VIPs in place on exit.
    pub dont_release: bool,
    /// Group allowed on the control socket (mode 0660 instead of 0600), e.g. for elb-proxy's
    /// drain push when it runs as its own user.
    pub control_group: Option<nix::unistd::Gid>,
    /// `--takeover-guard`: how long after a takeover segments of unknown connections to the
    /// VIPs are dropped instead of reset (see [`crate::net::guard`]).
    pub takeover_guard: Option<Duration>,
    /// `-i/--config-id`: names the nftables tables when the config does not.
    pub config_id: Option<String>,
}

/// Per-instance bookkeeping that the state machine does not keep.
pub struct InstRt {
    /// The instance's spec.
    pub spec: InstanceSpec,
    /// Index of its `Unit` (sync group or lone instance).
    pub unit: usize,
    /// Index of the instance inside its unit.
    pub member: usize,
    /// The interface adverts go out on.
    pub ifindex: u32,
    /// The address adverts go out from, once usable.
    pub source: Option<IpAddr>,
    /// When the current state began.
    pub since: SystemTime,
    /// Why the current state began.
    pub last_reason: String,
    /// Counters for the dumps and `show stats`.
    pub stats: dump::InstStats,
    /// Weight-check finding against the last peer priority heard (logged once per change).
    pub weight_warning: Option<(u8, Option<String>)>,
    /// Link state of each tracked interface when the instance was built (missing = down).
    pub tracked_links: Vec<(String, bool)>,
    ip_id: u16,
}

/// The running daemon: the state machines and every shell around them.
pub struct Daemon {
    start: Instant,
    nl: Netlink,
    opts: Options,
    loader: Loader,
    spec: DaemonSpec,
    units: Vec<Unit>,
    /// How each running unit was laid out in the configuration (parallel to `units`), for
    /// the reload plan.
    layouts: Vec<UnitLayout>,
    insts: Vec<InstRt>,
    ifaces: HashMap<u32, Iface>,
    rx_tx: mpsc::Sender<Received>,
    rx_rx: mpsc::Receiver<Received>,
    /// Drops before an instance could be chosen, per interface.
    iface_drops: HashMap<u32, vrrp::RxCounters>,
    limiter: RateLimiter<(String, &'static str)>,
    scripts_mail: ScriptsAndMail,
    /// `set maintenance on`: survives reloads.
    maintenance: bool,
    ctl_tx: mpsc::Sender<ControlReq>,
    ctl_rx: mpsc::Receiver<ControlReq>,
    /// Bound at start, served from `run`.
    control: Option<crate::control::ControlSocket>,
    guard: Option<crate::net::guard::TakeoverGuard>,
    /// `no_accept` rules, installed when a no-accept instance first takes its VIPs.
    firewall: Option<crate::net::nft::NoAcceptFirewall>,
    /// This daemon's nftables table name (fixed at start; a reload does not rename it).
    nft_table: String,
    auto_priority: rt_sched::AutoPriority,
    local_igmp: local_igmp::LocalIgmp,
    /// Interfaces of running instances that were deleted (`dynamic_interfaces`).
    vanished: std::collections::HashSet<String>,
    /// Interface sysctls set for the instances (`promote_secondaries`), put back on exit.
    sysctls: crate::net::if_sysctl::SavedSysctls,
    /// `garp_extra_if` rounds of the MASTER instances.
    extra_garp: extra_garp::ExtraGarpTimers,
    /// When each interface (or `garp_group`) may send its next gratuitous ARP / NA.
    garp_slots: std::sync::Arc<garp_pacing::Slots>,
    /// Link changes held by `interface_up_down_delays`.
    link_delays: link_delays::LinkDelays,
}

impl Daemon {
    /// Loads the configuration, opens sockets, removes leftover VIPs and starts every instance.
    pub async fn start(loader: Loader, opts: Options) -> Result<Self> {
        let spec = loader(false)?;
        // Before any socket is opened, as keepalived's VRRP process does at its start.
        if let Some(conf) = &spec.conf {
            process_tuning::apply(&process_tuning::Plan::from_config(
                &conf.global_defs.process,
            ));
        }
        // First: a daemon already answering on this socket must keep its VIPs, so a second
        // start stops here, before it touches an address.
        let control = match &opts.control_socket {
            Some(path) => Some(crate::control::bind_for_group(
                path,
                crate::control::ControlLimits::default(),
                opts.control_group,
            )?),
            None => None,
        };
        let tuning = spec
            .conf
            .as_ref()
            .map(|c| c.global_defs.process.clone())
            .unwrap_or_default();
        let nl = Netlink::connect(tuning.netlink_cmd).context("opening rtnetlink")?;
        let (rx_tx, rx_rx) = mpsc::channel(4096);
        let (ctl_tx, ctl_rx) = mpsc::channel(64);
        let nft_table = {
            let conf = spec.conf.as_deref();
            crate::net::nft::table_name(
                conf.and_then(|c| c.global_defs.nftables.as_deref()),
                conf.and_then(|c| c.instance.as_deref()),
                opts.config_id.as_deref(),
            )
        };
        let guard = match opts.takeover_guard {
            Some(window) => Some(
                crate::net::guard::TakeoverGuard::install(
                    window,
                    crate::net::guard::table_name(&nft_table),
                )
                .await?,
            ),
            None => None,
        };
        let mut d = Daemon {
            start: Instant::now(),
            nl,
            opts,
            loader,
            spec: DaemonSpec::default(),
            units: Vec::new(),
            layouts: Vec::new(),
            insts: Vec::new(),
            ifaces: HashMap::new(),
            rx_tx,
            rx_rx,
            iface_drops: HashMap::new(),
            limiter: RateLimiter::new(Duration::from_secs(10)),
            scripts_mail: ScriptsAndMail::new(),
            maintenance: false,
            ctl_tx,
            ctl_rx,
            control,
            guard,
            firewall: None,
            nft_table,
            local_igmp: local_igmp::LocalIgmp::default(),
            vanished: Default::default(),
            sysctls: Default::default(),
            extra_garp: Default::default(),
            garp_slots: Default::default(),
            link_delays: Default::default(),
            auto_priority: rt_sched::AutoPriority::from_global(
                &spec
                    .conf
                    .as_ref()
                    .map(|c| c.global_defs.clone())
                    .unwrap_or_default(),
            ),
        };
        // no_accept tables of a run that was killed: its VIPs are gone, so must its rules be.
        if let Some(e) = crate::net::nft::owned_by_another_daemon(&d.nft_table).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "leftover no_accept tables not removed"
            );
        } else if let Err(e) = crate::net::nft::remove_tables(&d.nft_table).await {
            tracing::debug!(
                error = format!("{e:#}"),
                "no leftover no_accept tables removed"
            );
        }
        d.before_instances(&spec).await;
        // With dynamic_interfaces an instance whose interface is missing waits for it.
        let dynamic = spec
            .conf
            .as_ref()
            .is_some_and(|c| c.global_defs.dynamic_interfaces);
        let strict = !d.opts.start_partial && !dynamic;
        d.apply(spec, strict).await?;
        Ok(d)
    }

    /// keepalived's order at start: `startup_script`, the static addresses, routes and rules,
    /// then the start-up delay, then the instances.
    async fn before_instances(&mut self, spec: &DaemonSpec) {
        let Some(conf) = spec.conf.clone() else {
            return;
        };
        let g = &conf.global_defs;
        process_name::apply(g);
        self.local_igmp.apply(g);
        if let Some(s) = &g.startup_script {
            lifecycle::run_lifecycle_script("startup_script", s, g.startup_script_timeout, g).await;
        }
        self.apply_statics(&spec.statics).await;
        let delay = lifecycle::startup_delay(g, lifecycle::uptime());
        if !delay.is_zero() {
            tracing::info!(
                delay_s = delay.as_secs_f64(),
                "delaying the start of the instances (vrrp_startup_delay / vrrp_delay_after_boot)"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs until SIGTERM/SIGINT, then releases everything.
    pub async fn run(mut self) -> Result<()> {
        let mut signals = Signals::install().context("installing signal handlers")?;
        let monitor_buf = (self.spec.conf.as_ref())
            .map(|c| c.global_defs.process.netlink_monitor)
            .unwrap_or_default();
        let mut net_events = linkwatch::watch(monitor_buf).context("subscribing to link events")?;
        let _control = self.control.take().map(|sock| {
            let bridge = std::sync::Arc::new(ControlBridge::new(self.ctl_tx.clone()));
            AbortOnDrop(tokio::spawn(sock.serve(bridge)))
        });
        sd_notify_state(&[sd_notify::NotifyState::Ready]);
        tracing::info!(instances = self.insts.len(), "vrrpd running");
        loop {
            let deadline = self
                .units
                .iter()
                .filter_map(Unit::next_deadline)
                .chain(self.extra_garp.next_deadline())
                .chain(self.link_delays.next_deadline())
                .min();
            let sleep_until = deadline
                .map(|d| self.start + d)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                sig = signals.recv() => {
                    if self.on_signal(sig).await == SignalAction::Stop {
                        break;
                    }
                }
                Some(rx) = self.rx_rx.recv() => self.on_packet(rx).await,
                Some(ev) = net_events.recv() => self.on_net_event(ev).await,
                Some(u) = self.scripts_mail.updates_rx.recv() => self.on_tracker_update(u).await,
                Some(u) = self.scripts_mail.process_rx.recv() => self.on_process_update(u).await,
                Some(req) = self.ctl_rx.recv() => self.on_control(req).await,
                _ = tokio::time::sleep_until(sleep_until.into()) => {
                    self.auto_priority.note_lateness(Instant::now().saturating_duration_since(sleep_until));
                    self.on_timers().await
                }
            }
        }
        sd_notify_state(&[sd_notify::NotifyState::Stopping]);
        self.shutdown().await;
        self.scripts_mail.shutdown().await;
        self.remove_statics().await;
        self.local_igmp.restore();
        if let Some(conf) = self.spec.conf.clone()
            && let Some(s) = &conf.global_defs.shutdown_script
        {
            let g = &conf.global_defs;
            lifecycle::run_lifecycle_script("shutdown_script", s, g.shutdown_script_timeout, g)
                .await;
        }
        Ok(())
    }

    // ----- shutdown and dumps --------------------------------------------

    async fn shutdown(&mut self) {
        let now = self.now();
        // In configuration order, as keepalived stops them.
        let mut order: Vec<usize> = (0..self.units.len()).collect();
        order.sort_by_key(|&u| self.config_position(u));
        for u in order {
            let acts = self.units[u].handle_all(now, Event::Shutdown);
            self.execute(u, acts, true).await;
        }
        if let Some(guard) = &self.guard
            && let Err(e) = guard.remove().await
        {
            tracing::warn!(error = format!("{e:#}"), "removing the takeover guard");
        }
        for rt in self.insts.iter().filter(|_| !self.opts.dont_release) {
            for v in rt.spec.vmac.iter().chain(&rt.spec.vip_vmacs) {
                let Err(e) = crate::net::vmac::remove(&self.nl, &v.name).await else {
                    continue;
                };
                tracing::warn!(vmac = %v.name, error = format!("{e:#}"), "removing the VMAC interface");
            }
        }
        if let Some(fw) = self.firewall.take()
            && let Err(e) = fw.remove().await
        {
            tracing::warn!(error = format!("{e:#}"), "removing the no_accept rules");
        }
        for e in self.sysctls.restore_all() {
            tracing::warn!(error = format!("{e:#}"), "restoring an interface sysctl");
        }
        tracing::info!("stopped");
    }

    /// Where unit `u`'s first member stands among the configured instances.
    fn config_position(&self, u: usize) -> usize {
        let first = self.units[u].members().first().map(|i| &i.config().name);
        self.spec
            .instances
            .iter()
            .position(|i| Some(&i.name) == first)
            .unwrap_or(usize::MAX)
    }

    fn snapshot(&self) -> Vec<dump::InstanceSnapshot> {
        self.insts
            .iter()
            .map(|r| {
                let unit = &self.units[r.unit];
                let inst = &unit.members()[r.member];
                dump::InstanceSnapshot::new(r, inst, unit.group_name())
            })
            .collect()
    }

    fn write_data_dump(&self) {
        let text = dump::data_text(&self.snapshot(), self.spec.router_id.as_deref());
        write_dump(&self.opts.data_file, &text);
    }

    /// Carries out what a signal asks for; returns it so the loop can stop on Stop.
    async fn on_signal(&mut self, sig: i32) -> SignalAction {
        let action = crate::signals::action_of(sig);
        match action {
            SignalAction::Stop => tracing::info!("{}: shutting down", name_of(sig)),
            SignalAction::Reload => {
                let _ = self.reload().await;
            }
            SignalAction::Data => self.write_data_dump(),
            SignalAction::Stats => self.write_stats_dump(),
            SignalAction::StatsClear => {
                self.write_stats_dump();
                for u in &mut self.units {
                    u.clear_counters();
                }
                for r in &mut self.insts {
                    r.stats = dump::InstStats::default();
                }
                self.iface_drops.clear();
                tracing::info!("statistics cleared");
            }
            SignalAction::Json => {
                let text = crate::dump_json::json_text(&self.snapshot());
                write_dump(&self.opts.json_file, &text);
            }
        }
        action
    }

    fn write_stats_dump(&self) {
        let text = dump::stats_text(&self.snapshot(), &self.iface_drops, |i| {
            self.ifaces.get(&i).map(|x| x.info.name.clone())
        });
        write_dump(&self.opts.stats_file, &text);
    }
}

/// Aborts a spawned task when dropped (the control server at shutdown).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
impl InstRt {
    /// Stand-in while the real entry is borrowed for an action.
    fn placeholder() -> Self {
        InstRt {
            spec: InstanceSpec::bare("", "", 1),
            unit: usize::MAX,
            member: usize::MAX,
            ifindex: 0,
            source: None,
            since: SystemTime::UNIX_EPOCH,
            last_reason: String::new(),
            stats: dump::InstStats::default(),
            weight_warning: None,
            tracked_links: Vec::new(),
            ip_id: 0,
        }
    }
}

fn write_dump(path: &std::path::Path, text: &str) {
    match std::fs::write(path, text) {
        Ok(()) => tracing::info!(path = %path.display(), "dump written"),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot write dump"),
    }
}

fn sd_notify_state(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}
