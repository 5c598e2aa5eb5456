//! The event loop: one task owns every instance, so the state machines never race. It waits
//! for the earliest of: an instance deadline, a received packet, a kernel link/address event,
//! a signal, a tracker update or a control command, feeds it to the `vrrp` state machine and
//! carries out the actions in order (send adverts, add/remove VIPs, announce, log).

mod control_bridge;
mod hooks;
mod iface;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use vrrp::{Action, Event, Family, GarpCause, Instance, RxError, State, SyncGroup, Unit};

use crate::dump;
use crate::net::linkwatch::{self, NetEvent};
use crate::net::netlink::{self, Netlink};
use crate::ratelimit::{RateLimiter, Verdict};
use crate::spec::{DaemonSpec, InstanceSpec, interface_tracker};
use control_bridge::{ControlBridge, ControlReq};
use hooks::Hooks;
pub use hooks::file_tracker;
use iface::Iface;
pub use iface::Received;

/// Loads the configuration (argument: true on reload); returns a clear error when it cannot.
pub type Loader = Box<dyn Fn(bool) -> Result<DaemonSpec> + Send>;

/// Options the daemon runs with.
pub struct Options {
    /// Control socket path; `None` = no control socket.
    pub control_socket: Option<PathBuf>,
    pub data_file: PathBuf,
    pub stats_file: PathBuf,
    /// keepalived's -V: leave VIPs in place on exit.
    pub dont_release: bool,
    /// Group allowed on the control socket (mode 0660 instead of 0600), e.g. for elb-proxy's
    /// drain push when it runs as its own user.
    pub control_group: Option<nix::unistd::Gid>,
    /// `--takeover-guard`: how long after a takeover segments of unknown connections to the
    /// VIPs are dropped instead of reset (see [`crate::net::guard`]).
    pub takeover_guard: Option<Duration>,
}

/// Per-instance bookkeeping that the state machine does not keep.
pub struct InstRt {
    pub spec: InstanceSpec,
    pub unit: usize,
    pub member: usize,
    pub ifindex: u32,
    /// The address adverts go out from, once usable.
    pub source: Option<IpAddr>,
    pub since: SystemTime,
    pub last_reason: String,
    pub stats: dump::InstStats,
    /// Weight-check finding against the last peer priority heard (logged once per change).
    pub weight_warning: Option<(u8, Option<String>)>,
    ip_id: u16,
}

pub struct Daemon {
    start: Instant,
    nl: Netlink,
    opts: Options,
    loader: Loader,
    spec: DaemonSpec,
    units: Vec<Unit>,
    insts: Vec<InstRt>,
    ifaces: HashMap<u32, Iface>,
    rx_tx: mpsc::Sender<Received>,
    rx_rx: mpsc::Receiver<Received>,
    /// Drops before an instance could be chosen, per interface.
    iface_drops: HashMap<u32, vrrp::RxCounters>,
    limiter: RateLimiter<(String, &'static str)>,
    hooks: Hooks,
    /// `set maintenance on`: survives reloads.
    maintenance: bool,
    ctl_tx: mpsc::Sender<ControlReq>,
    ctl_rx: mpsc::Receiver<ControlReq>,
    guard: Option<crate::net::guard::TakeoverGuard>,
}

impl Daemon {
    /// Loads the configuration, opens sockets, removes leftover VIPs and starts every instance.
    pub async fn start(loader: Loader, opts: Options) -> Result<Self> {
        let spec = loader(false)?;
        let nl = Netlink::connect().context("opening rtnetlink")?;
        let (rx_tx, rx_rx) = mpsc::channel(4096);
        let (ctl_tx, ctl_rx) = mpsc::channel(64);
        let guard = match opts.takeover_guard {
            Some(window) => Some(crate::net::guard::TakeoverGuard::install(window).await?),
            None => None,
        };
        let mut d = Daemon {
            start: Instant::now(),
            nl,
            opts,
            loader,
            spec: DaemonSpec::default(),
            units: Vec::new(),
            insts: Vec::new(),
            ifaces: HashMap::new(),
            rx_tx,
            rx_rx,
            iface_drops: HashMap::new(),
            limiter: RateLimiter::new(Duration::from_secs(10)),
            hooks: Hooks::new(),
            maintenance: false,
            ctl_tx,
            ctl_rx,
            guard,
        };
        d.apply(spec).await?;
        Ok(d)
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs until SIGTERM/SIGINT, then releases everything.
    pub async fn run(mut self) -> Result<()> {
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sighup = signal(SignalKind::hangup())?;
        let mut sigusr1 = signal(SignalKind::user_defined1())?;
        let mut sigusr2 = signal(SignalKind::user_defined2())?;
        let mut net_events = linkwatch::watch().context("subscribing to link events")?;
        let _control = match &self.opts.control_socket {
            Some(path) => {
                let sock = crate::control::bind(path, crate::control::ControlLimits::default())
                    .with_context(|| format!("control socket {}", path.display()))?;
                if let Some(gid) = self.opts.control_group {
                    crate::control::allow_group(path, gid)
                        .with_context(|| format!("control socket {} group", path.display()))?;
                }
                let bridge = std::sync::Arc::new(ControlBridge::new(self.ctl_tx.clone()));
                Some(AbortOnDrop(tokio::spawn(sock.serve(bridge))))
            }
            None => None,
        };
        sd_notify_state(&[sd_notify::NotifyState::Ready]);
        tracing::info!(instances = self.insts.len(), "vrrpd running");
        loop {
            let deadline = self.units.iter().filter_map(Unit::next_deadline).min();
            let sleep_until = deadline
                .map(|d| self.start + d)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                biased;
                _ = sigterm.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
                _ = sigint.recv() => { tracing::info!("SIGINT: shutting down"); break; }
                _ = sighup.recv() => { let _ = self.reload().await; }
                _ = sigusr1.recv() => self.write_data_dump(),
                _ = sigusr2.recv() => self.write_stats_dump(),
                Some(rx) = self.rx_rx.recv() => self.on_packet(rx).await,
                Some(ev) = net_events.recv() => self.on_net_event(ev).await,
                Some(u) = self.hooks.updates_rx.recv() => self.on_tracker_update(u).await,
                Some(req) = self.ctl_rx.recv() => self.on_control(req).await,
                _ = tokio::time::sleep_until(sleep_until.into()) => self.on_timers().await,
            }
        }
        sd_notify_state(&[sd_notify::NotifyState::Stopping]);
        self.shutdown().await;
        self.hooks.shutdown().await;
        Ok(())
    }

    // ----- configuration -------------------------------------------------

    /// Installs `spec`: keeps units whose configuration is unchanged (same state, no flap),
    /// releases removed or changed ones, and starts new ones.
    async fn apply(&mut self, spec: DaemonSpec) -> Result<()> {
        if let Some(conf) = &spec.conf {
            self.hooks.apply(conf.clone()).await;
        }
        let new_groups = unit_plans(&spec);
        let old_groups = unit_plans(&self.spec);
        let mut old_units: Vec<Option<Unit>> = std::mem::take(&mut self.units)
            .into_iter()
            .map(Some)
            .collect();
        let old_insts = std::mem::take(&mut self.insts);
        let mut old_insts_by_unit: HashMap<usize, Vec<InstRt>> = HashMap::new();
        for i in old_insts {
            old_insts_by_unit.entry(i.unit).or_default().push(i);
        }
        let mut kept_old = vec![false; old_units.len()];
        let mut to_start = Vec::new();
        for plan in &new_groups {
            let members: Vec<&InstanceSpec> = plan
                .members
                .iter()
                .filter_map(|n| spec.instances.iter().find(|i| &i.name == n))
                .collect();
            let same = old_groups.iter().position(|o| {
                o.group == plan.group
                    && o.members.len() == members.len()
                    && o.members.iter().zip(&members).all(|(on, ns)| {
                        self.spec
                            .instances
                            .iter()
                            .find(|i| &i.name == on)
                            .is_some_and(|oi| oi == *ns)
                    })
            });
            let unit_idx = self.units.len();
            if let Some(o) = same
                && let Some(u) = old_units[o].take()
            {
                kept_old[o] = true;
                self.units.push(u);
                let mut rts = old_insts_by_unit.remove(&o).unwrap_or_default();
                rts.sort_by_key(|r| r.member);
                for mut r in rts {
                    r.unit = unit_idx;
                    self.insts.push(r);
                }
                continue;
            }
            // New (or changed) unit.
            let mut built = Vec::new();
            for (m, s) in members.iter().enumerate() {
                match self.prepare_instance(s, unit_idx, m).await {
                    Ok(x) => built.push(x),
                    Err(e) => {
                        tracing::error!(instance = %s.name, error = format!("{e:#}"), "instance not started");
                    }
                }
            }
            if built.is_empty() {
                continue;
            }
            let (insts, rts): (Vec<Instance>, Vec<InstRt>) = built.into_iter().unzip();
            let unit = match &plan.group {
                None => Unit::Single(Box::new(insts.into_iter().next().expect("one member"))),
                Some(g) => Unit::Group(SyncGroup::new(g.clone(), insts)?),
            };
            self.units.push(unit);
            self.insts
                .extend(rts.into_iter().enumerate().map(|(m, mut r)| {
                    r.member = m;
                    r
                }));
            to_start.push(unit_idx);
        }
        // Release units that are gone or changed.
        for (o, u) in old_units.iter_mut().enumerate() {
            if kept_old[o] {
                continue;
            }
            if let Some(mut u) = u.take() {
                let rts = old_insts_by_unit.remove(&o).unwrap_or_default();
                let now = self.now();
                let acts = u.handle_all(now, Event::Shutdown);
                for (m, a) in acts {
                    if let Some(rt) = rts.iter().find(|r| r.member == m) {
                        let mut rt_copy = rt.clone_for_release();
                        self.execute_with(&mut rt_copy, a, true).await;
                    }
                }
                for r in &rts {
                    tracing::info!(instance = %r.spec.name, "instance removed by reload");
                }
            }
        }
        self.spec = spec;
        // Start the new ones.
        for u in to_start {
            let now = self.now();
            let mut acts = Vec::new();
            let members = self.units[u].members().len();
            for m in 0..members {
                let mut pre = self.initial_events(u, m);
                if self.maintenance {
                    pre.push(Event::Maintenance(true));
                }
                for ev in pre {
                    acts.extend(self.units[u].handle(now, m, ev));
                }
            }
            acts.extend(self.units[u].handle_all(now, Event::Start));
            self.execute_all(u, acts).await;
        }
        Ok(())
    }

    /// Resolves an instance's interface and source address, opens sockets, removes VIPs left
    /// over by a crashed run, and builds the state machine.
    async fn prepare_instance(
        &mut self,
        s: &InstanceSpec,
        unit: usize,
        member: usize,
    ) -> Result<(Instance, InstRt)> {
        let link = self
            .nl
            .link_by_name(&s.interface)
            .await
            .with_context(|| format!("interface {}", s.interface))?;
        let ifindex = link.index;
        let iface = self
            .ifaces
            .entry(ifindex)
            .or_insert_with(|| Iface::new(link.clone()));
        iface.info = link;
        let groups = [s.vrrp.multicast_group];
        iface.ensure_socket(s.is_v6(), &groups, &self.rx_tx)?;
        let source = self.resolve_source(s, ifindex).await;
        let mut cfg = s.vrrp.clone();
        cfg.primary_address = source.map(|(a, _)| a).unwrap_or(match cfg.family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let inst = Instance::new(cfg).with_context(|| format!("instance {}", s.name))?;
        // Leftovers from a run that could not clean up (SIGKILL, crash).
        let mut removed = Vec::new();
        for v in s.vips.iter().chain(s.excluded.iter()) {
            let idx = self.vip_ifindex(v, ifindex).await;
            if self.nl.has_address(idx, v.addr).await.unwrap_or(false) {
                if let Err(e) = self.nl.del_vip(idx, v).await {
                    tracing::warn!(instance = %s.name, vip = %v.addr, error = %e, "cannot remove leftover VIP");
                } else {
                    removed.push(v.addr.to_string());
                }
            }
        }
        if !removed.is_empty() {
            tracing::info!(instance = %s.name, vips = removed.join(" "), "removing VIPs left by a previous run");
        }
        let rt = InstRt {
            spec: s.clone(),
            unit,
            member,
            ifindex,
            source: source.and_then(|(a, usable)| usable.then_some(a)),
            since: SystemTime::now(),
            last_reason: "init".into(),
            stats: dump::InstStats::default(),
            weight_warning: None,
            ip_id: 0,
        };
        Ok((inst, rt))
    }

    /// Events delivered before Start: link down, tracked interfaces, source not usable.
    fn initial_events(&self, unit: usize, member: usize) -> Vec<Event> {
        let Some(rt) = self
            .insts
            .iter()
            .find(|r| r.unit == unit && r.member == member)
        else {
            return Vec::new();
        };
        let mut evs = Vec::new();
        let up = self.ifaces.get(&rt.ifindex).is_some_and(|i| i.info.usable);
        if !up {
            evs.push(Event::LinkState { up: false });
        }
        if rt.source.is_none() {
            evs.push(Event::SendReady(false));
        }
        for t in &rt.spec.vrrp.trackers {
            if let Some(st) = self.hooks.trackers.get(&t.name) {
                evs.push(Event::TrackerChanged {
                    name: t.name.clone(),
                    up: st.up,
                });
            }
        }
        for t in &rt.spec.track_interfaces {
            let up = self
                .ifaces
                .values()
                .find(|i| &i.info.name == t)
                .map(|i| i.info.usable);
            // Interfaces we hold no socket on are looked up by the link watcher's first event.
            if let Some(up) = up {
                evs.push(Event::TrackerChanged {
                    name: interface_tracker(t),
                    up,
                });
            }
        }
        evs
    }

    /// The configured source, or the interface's primary IPv4 / link-local IPv6; with whether
    /// it can be sent from now.
    async fn resolve_source(&self, s: &InstanceSpec, ifindex: u32) -> Option<(IpAddr, bool)> {
        let addrs = self.nl.addresses(ifindex).await.ok()?;
        source_from(s, &addrs)
    }

    async fn vip_ifindex(&self, v: &crate::spec::Vip, default: u32) -> u32 {
        if let Some(i) = self.ifaces.values().find(|i| i.info.name == v.ifname) {
            return i.info.index;
        }
        match self.nl.link_by_name(&v.ifname).await {
            Ok(l) => l.index,
            Err(_) => default,
        }
    }

    async fn reload(&mut self) -> Result<String, String> {
        sd_notify_state(&[sd_notify::NotifyState::Reloading]);
        tracing::info!("reloading configuration");
        let result = match (self.loader)(true) {
            Ok(spec) => match self.apply(spec).await {
                Ok(()) => {
                    tracing::info!(instances = self.insts.len(), "configuration reloaded");
                    Ok(format!("reloaded: {} instances", self.insts.len()))
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "reload failed");
                    Err(format!("reload failed: {e:#}"))
                }
            },
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "new configuration not loaded; the running one stays"
                );
                Err(format!("{e:#}; the running configuration stays"))
            }
        };
        sd_notify_state(&[sd_notify::NotifyState::Ready]);
        result
    }

    // ----- events --------------------------------------------------------

    async fn on_timers(&mut self) {
        let now = self.now();
        for u in 0..self.units.len() {
            if self.units[u].next_deadline().is_some_and(|d| d <= now) {
                let acts = self.units[u].handle_all(now, Event::Timer);
                self.execute_all(u, acts).await;
            }
        }
    }

    async fn on_packet(&mut self, rx: Received) {
        let pkt = if rx.v6 {
            let (IpAddr::V6(src), dst) = (rx.meta.src, rx.meta.dst) else {
                return;
            };
            let dst = match dst {
                Some(IpAddr::V6(d)) => d,
                _ => Ipv6Addr::UNSPECIFIED,
            };
            Ok(vrrp::rx::from_ipv6(
                &rx.bytes,
                src,
                dst,
                rx.meta.hop_limit.unwrap_or(0),
            ))
        } else {
            vrrp::rx::parse_ipv4(&rx.bytes)
        };
        let pkt = match pkt {
            Ok(p) => p,
            Err(e) => {
                self.iface_drop(rx.ifindex, e, rx.meta.src);
                return;
            }
        };
        let Some(vrid) = vrrp::rx::peek_vrid(&pkt) else {
            self.iface_drop(rx.ifindex, RxError::VrrpTruncated, pkt.src);
            return;
        };
        let Some(pos) = self.insts.iter().position(|r| {
            r.ifindex == rx.ifindex && r.spec.is_v6() == rx.v6 && r.spec.vrrp.vrid == vrid
        }) else {
            self.iface_drop(rx.ifindex, RxError::UnknownVrid, pkt.src);
            return;
        };
        // Our own adverts (unicast to ourselves, or a looped copy) are not news.
        if self.insts[pos].source == Some(pkt.src) {
            return;
        }
        let (u, m) = (self.insts[pos].unit, self.insts[pos].member);
        let now = self.now();
        let prio = pkt.vrrp.get(2).copied();
        match self.units[u].handle_packet(now, m, &pkt) {
            Ok(acts) => {
                let rt = &mut self.insts[pos];
                rt.stats.adverts_received += 1;
                if prio == Some(0) {
                    rt.stats.prio0_received += 1;
                }
                if let Some(p) = prio.filter(|p| *p > 0) {
                    self.weight_check(pos, p);
                }
                self.execute_all(u, acts).await;
            }
            Err(e) => {
                let name = self.insts[pos].spec.name.clone();
                self.log_drop(name, e, pkt.src);
            }
        }
    }

    fn iface_drop(&mut self, ifindex: u32, e: RxError, src: IpAddr) {
        self.iface_drops.entry(ifindex).or_default().record_drop(e);
        if e == RxError::UnknownVrid {
            return; // other routers' VRIDs on a shared segment are normal
        }
        let name = self
            .ifaces
            .get(&ifindex)
            .map(|i| i.info.name.clone())
            .unwrap_or_default();
        self.log_drop(name, e, src);
    }

    fn log_drop(&mut self, scope: String, e: RxError, src: IpAddr) {
        if let Verdict::Log { suppressed } = self
            .limiter
            .check((scope.clone(), e.name()), Instant::now())
        {
            tracing::warn!(scope = %scope, from = %src, reason = e.name(), suppressed, "dropped VRRP packet: {e}");
        }
    }

    async fn on_net_event(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Link(info) => {
                let idx = info.index;
                let name = info.name.clone();
                let usable = info.usable;
                let changed = match self.ifaces.get_mut(&idx) {
                    Some(i) => {
                        let c = i.info.usable != usable;
                        i.info = info;
                        c
                    }
                    None => true,
                };
                if changed {
                    tracing::info!(interface = %name, up = usable, "link state");
                    self.link_changed(idx, &name, usable).await;
                }
            }
            NetEvent::LinkGone { index, name } => {
                if let Some(name) = name
                    && self.ifaces.contains_key(&index)
                {
                    self.link_changed(index, &name, false).await;
                }
            }
            NetEvent::AddressesChanged { index } => self.addresses_changed(index).await,
        }
    }

    async fn link_changed(&mut self, ifindex: u32, name: &str, up: bool) {
        let now = self.now();
        let tracker = interface_tracker(name);
        let targets: Vec<(usize, usize, Vec<Event>)> = self
            .insts
            .iter()
            .filter_map(|r| {
                let mut evs = Vec::new();
                if r.ifindex == ifindex {
                    evs.push(Event::LinkState { up });
                }
                if r.spec.track_interfaces.iter().any(|t| t == name) {
                    evs.push(Event::TrackerChanged {
                        name: tracker.clone(),
                        up,
                    });
                }
                (!evs.is_empty()).then_some((r.unit, r.member, evs))
            })
            .collect();
        for (u, m, evs) in targets {
            for ev in evs {
                let acts = self.units[u].handle(now, m, ev);
                self.execute_all(u, acts).await;
            }
        }
    }

    /// Re-checks every instance's source on this interface (IPv6 link-local leaving
    /// tentative, a configured source address appearing or vanishing).
    async fn addresses_changed(&mut self, ifindex: u32) {
        if !self.insts.iter().any(|r| r.ifindex == ifindex) {
            return;
        }
        // One dump per event, shared by every instance on the interface.
        let Ok(addrs) = self.nl.addresses(ifindex).await else {
            return;
        };
        for pos in 0..self.insts.len() {
            if self.insts[pos].ifindex != ifindex {
                continue;
            }
            let resolved = source_from(&self.insts[pos].spec, &addrs);
            let configured = self.units[self.insts[pos].unit].members()[self.insts[pos].member]
                .config()
                .primary_address;
            let now_usable = resolved
                .filter(|(a, usable)| *usable && *a == configured)
                .map(|(a, _)| a);
            if now_usable != self.insts[pos].source {
                let ready = now_usable.is_some();
                let name = self.insts[pos].spec.name.clone();
                tracing::info!(instance = %name, source = ?now_usable, ready, "advert source changed");
                self.insts[pos].source = now_usable;
                let (u, m) = (self.insts[pos].unit, self.insts[pos].member);
                let now = self.now();
                let acts = self.units[u].handle(now, m, Event::SendReady(ready));
                self.execute_all(u, acts).await;
            }
        }
    }

    // ----- actions -------------------------------------------------------

    async fn execute_all(&mut self, unit: usize, acts: Vec<(usize, Action)>) {
        for (m, a) in acts {
            let Some(pos) = self
                .insts
                .iter()
                .position(|r| r.unit == unit && r.member == m)
            else {
                continue;
            };
            let mut rt = std::mem::replace(&mut self.insts[pos], InstRt::placeholder());
            self.execute_with(&mut rt, a, false).await;
            self.insts[pos] = rt;
        }
    }

    /// Carries out one action for one instance. `releasing` marks a unit being removed.
    async fn execute_with(&mut self, rt: &mut InstRt, action: Action, releasing: bool) {
        match action {
            Action::SendAdvert(adv) => {
                if let Err(e) = self.send_advert(rt, &adv).await {
                    let name = rt.spec.name.clone();
                    if let Verdict::Log { suppressed } =
                        self.limiter.check((name.clone(), "send"), Instant::now())
                    {
                        tracing::warn!(instance = %name, error = format!("{e:#}"), suppressed, "cannot send advert");
                    }
                } else {
                    rt.stats.adverts_sent += 1;
                    if adv.priority == 0 {
                        rt.stats.prio0_sent += 1;
                    }
                }
            }
            Action::AddVips { vips, excluded } => {
                if let Some(guard) = &self.guard {
                    let addrs: Vec<IpAddr> =
                        vips.iter().chain(excluded.iter()).map(|v| v.addr).collect();
                    if let Err(e) = guard.arm(&addrs).await {
                        tracing::warn!(instance = %rt.spec.name, error = format!("{e:#}"), "takeover guard not armed");
                    }
                }
                for v in vips.iter().chain(excluded.iter()) {
                    self.set_vip(rt, v.addr, true).await;
                }
                self.set_routes(rt, true).await;
            }
            Action::RemoveVips { vips, excluded } => {
                if releasing && self.opts.dont_release {
                    return;
                }
                self.set_routes(rt, false).await;
                for v in vips.iter().chain(excluded.iter()) {
                    self.set_vip(rt, v.addr, false).await;
                }
            }
            Action::SendGratuitous { vips, count, cause } => {
                self.announce(rt, vips.iter().map(|v| v.addr).collect(), count, cause);
            }
            Action::AnnounceSource => {
                if let Some(src) = rt.source {
                    self.announce(rt, vec![src], 1, GarpCause::BecameMaster);
                }
            }
            Action::Transition { from, to, reason } => {
                tracing::info!(
                    instance = %rt.spec.name,
                    from = from.name(),
                    to = to.name(),
                    reason = %reason,
                    "({}) Entering {} STATE",
                    rt.spec.name,
                    to.name()
                );
                if to == State::Master {
                    rt.stats.became_master += 1;
                }
                if from == State::Master {
                    rt.stats.released_master += 1;
                }
                rt.stats.transitions += 1;
                rt.since = SystemTime::now();
                let (group, prio) = self
                    .units
                    .get(rt.unit)
                    .map(|u| {
                        let prio = u
                            .members()
                            .get(rt.member)
                            .map(Instance::effective_priority)
                            .unwrap_or(0);
                        (
                            u.group_name().map(|g| (g.to_string(), group_state(u))),
                            prio,
                        )
                    })
                    .unwrap_or((None, 0));
                self.hooks.on_transition(
                    &rt.spec.name,
                    group.as_ref().map(|(g, s)| (g.as_str(), *s)),
                    from.name(),
                    to.name(),
                    prio,
                    &reason,
                );
                rt.last_reason = reason;
            }
            Action::PriorityChanged { old, new } => {
                tracing::info!(instance = %rt.spec.name, old, new, "effective priority changed");
            }
            Action::MasterRxLowerPriority { from, priority } => {
                tracing::info!(instance = %rt.spec.name, from = %from, priority, "MASTER received lower priority advert");
            }
        }
    }

    async fn send_advert(&mut self, rt: &mut InstRt, adv: &vrrp::Advert) -> Result<()> {
        let src = rt
            .source
            .context("no usable source address on the interface")?;
        let iface = self.ifaces.get(&rt.ifindex).context("interface gone")?;
        let cfg = &rt.spec.vrrp;
        let dsts: Vec<IpAddr> = if cfg.unicast_peers.is_empty() {
            vec![cfg.multicast_group]
        } else {
            cfg.unicast_peers.iter().map(|p| p.addr).collect()
        };
        for dst in dsts {
            let pseudo =
                vrrp::packet::pseudo_header_for(cfg.version, cfg.v3_checksum_as_v2, src, dst);
            match (src, dst) {
                (IpAddr::V4(s4), IpAddr::V4(d4)) => {
                    let body = adv.encode_family(Family::V4, pseudo)?;
                    rt.ip_id = rt.ip_id.wrapping_add(1);
                    if rt.ip_id == 0 {
                        rt.ip_id = 1;
                    }
                    let ttl = if d4.is_multicast() {
                        255
                    } else {
                        rt.spec.unicast_ttl
                    };
                    let pkt = vrrp::ipv4::build_ipv4_packet(
                        vrrp::ipv4::Ipv4Params {
                            src: s4,
                            dst: d4,
                            ttl,
                            id: rt.ip_id,
                        },
                        &body,
                    );
                    let sock = iface.v4.as_ref().context("no IPv4 socket")?;
                    sock.send_v4(&pkt, d4).await?;
                }
                (IpAddr::V6(s6), IpAddr::V6(d6)) => {
                    let body = adv.encode_family(Family::V6, pseudo)?;
                    let sock = iface.v6.as_ref().context("no IPv6 socket")?;
                    sock.send_v6(&body, Some(s6), d6).await?;
                }
                _ => anyhow::bail!("source and destination families differ"),
            }
        }
        Ok(())
    }

    async fn set_vip(&mut self, rt: &InstRt, addr: IpAddr, add: bool) {
        let Some(v) = rt.spec.vip_for(addr).cloned() else {
            return;
        };
        let idx = self.vip_ifindex(&v, rt.ifindex).await;
        let res = if add {
            self.nl.add_vip(idx, &v).await
        } else {
            self.nl.del_vip(idx, &v).await
        };
        if let Err(e) = res {
            tracing::error!(instance = %rt.spec.name, vip = %addr, add, error = %e, "VIP change failed");
        }
    }

    /// Installs or removes the instance's `virtual_routes` and `virtual_rules` (after the VIPs,
    /// before them).
    async fn set_routes(&mut self, rt: &InstRt, add: bool) {
        for r in &rt.spec.rules {
            let res = if add {
                self.nl.add_rule(r).await
            } else {
                self.nl.del_rule(r).await
            };
            if let Err(e) = res {
                tracing::error!(instance = %rt.spec.name, add, error = %e, "virtual rule change failed");
            }
        }
        for r in &rt.spec.routes {
            let oif = match &r.dev {
                Some(d) => match self.nl.link_by_name(d).await {
                    Ok(l) => Some(l.index),
                    Err(e) => {
                        tracing::error!(instance = %rt.spec.name, error = %e, "virtual route device");
                        continue;
                    }
                },
                None => None,
            };
            let res = if add {
                self.nl.add_route(r, oif).await
            } else {
                self.nl.del_route(r, oif).await
            };
            if let Err(e) = res {
                tracing::error!(instance = %rt.spec.name, route = %format!("{}/{}", r.dst, r.prefix_len), add, error = %e, "virtual route change failed");
            }
        }
    }

    fn announce(&self, rt: &InstRt, addrs: Vec<IpAddr>, count: u32, cause: GarpCause) {
        let mut plan: Vec<(Arc<crate::net::garp::Announcer>, IpAddr)> = Vec::new();
        for a in addrs {
            let ifname = rt
                .spec
                .vip_for(a)
                .map(|v| v.ifname.clone())
                .unwrap_or_else(|| rt.spec.interface.clone());
            let Some(i) = self.ifaces.values().find(|i| i.info.name == ifname) else {
                continue;
            };
            plan.push((i.announcer.clone(), a));
        }
        let garp_gap = self.spec.garp_interval;
        let gna_gap = self.spec.gna_interval;
        let name = rt.spec.name.clone();
        tracing::debug!(instance = %name, ?cause, count, "sending gratuitous ARP / NA");
        tokio::spawn(async move {
            for _ in 0..count {
                for (ann, a) in &plan {
                    let (res, gap) = match a {
                        IpAddr::V4(v4) => (ann.send_garp(*v4), garp_gap),
                        IpAddr::V6(v6) => (ann.send_na(*v6), gna_gap),
                    };
                    if let Err(e) = res {
                        tracing::warn!(instance = %name, address = %a, error = %e, "announce failed");
                    }
                    if !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                }
            }
        });
    }

    // ----- shutdown and dumps --------------------------------------------

    async fn shutdown(&mut self) {
        let now = self.now();
        for u in 0..self.units.len() {
            let acts = self.units[u].handle_all(now, Event::Shutdown);
            let mut releasing = Vec::new();
            for (m, a) in acts {
                releasing.push((m, a));
            }
            for (m, a) in releasing {
                let Some(pos) = self.insts.iter().position(|r| r.unit == u && r.member == m) else {
                    continue;
                };
                let mut rt = std::mem::replace(&mut self.insts[pos], InstRt::placeholder());
                self.execute_with(&mut rt, a, true).await;
                self.insts[pos] = rt;
            }
        }
        if let Some(guard) = &self.guard
            && let Err(e) = guard.remove().await
        {
            tracing::warn!(error = format!("{e:#}"), "removing the takeover guard");
        }
        tracing::info!("stopped");
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

    fn write_stats_dump(&self) {
        let text = dump::stats_text(&self.snapshot(), &self.iface_drops, |i| {
            self.ifaces.get(&i).map(|x| x.info.name.clone())
        });
        write_dump(&self.opts.stats_file, &text);
    }
}

/// A sync group's state as its notify scripts see it.
fn group_state(u: &Unit) -> &'static str {
    let m = u.members();
    if m.iter().any(|i| i.state() == State::Fault) {
        "FAULT"
    } else if m.iter().all(|i| i.state() == State::Stopped) {
        "STOP"
    } else if m.iter().all(|i| i.state() == State::Master) {
        "MASTER"
    } else {
        "BACKUP"
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
            spec: InstanceSpec {
                name: String::new(),
                interface: String::new(),
                vrrp: vrrp::InstanceConfig::new(
                    "",
                    1,
                    vrrp::Version::V2,
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                ),
                source: None,
                unicast_ttl: 255,
                vips: Vec::new(),
                excluded: Vec::new(),
                routes: Vec::new(),
                rules: Vec::new(),
                track_interfaces: Vec::new(),
            },
            unit: usize::MAX,
            member: usize::MAX,
            ifindex: 0,
            source: None,
            since: SystemTime::UNIX_EPOCH,
            last_reason: String::new(),
            stats: dump::InstStats::default(),
            weight_warning: None,
            ip_id: 0,
        }
    }

    fn clone_for_release(&self) -> Self {
        InstRt {
            spec: self.spec.clone(),
            unit: self.unit,
            member: self.member,
            ifindex: self.ifindex,
            source: self.source,
            since: self.since,
            last_reason: self.last_reason.clone(),
            stats: self.stats.clone(),
            weight_warning: self.weight_warning.clone(),
            ip_id: self.ip_id,
        }
    }
}

/// An instance's advert source among `addrs`: the configured one, else the primary IPv4 or
/// the IPv6 link-local; with whether it is usable (present and not tentative).
fn source_from(s: &InstanceSpec, addrs: &[netlink::IfAddr]) -> Option<(IpAddr, bool)> {
    if let Some(src) = s.source {
        let present = addrs.iter().find(|a| a.addr == src);
        return Some((src, present.is_some_and(|a| !a.tentative)));
    }
    if s.is_v6() {
        let ll = addrs.iter().find(|a| match a.addr {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            _ => false,
        })?;
        Some((ll.addr, !ll.tentative))
    } else {
        netlink::primary_v4_of(addrs).map(|a| (IpAddr::V4(a), true))
    }
}

/// How instances are grouped into units: each sync group, then each instance in none.
struct UnitPlan {
    group: Option<String>,
    members: Vec<String>,
}

fn unit_plans(spec: &DaemonSpec) -> Vec<UnitPlan> {
    let mut plans = Vec::new();
    let mut grouped = std::collections::HashSet::new();
    for g in &spec.groups {
        let members: Vec<String> = g
            .members
            .iter()
            .filter(|m| spec.instances.iter().any(|i| &i.name == *m))
            .cloned()
            .collect();
        if members.is_empty() {
            continue;
        }
        grouped.extend(members.iter().cloned());
        plans.push(UnitPlan {
            group: Some(g.name.clone()),
            members,
        });
    }
    for i in &spec.instances {
        if !grouped.contains(&i.name) {
            plans.push(UnitPlan {
                group: None,
                members: vec![i.name.clone()],
            });
        }
    }
    plans
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
