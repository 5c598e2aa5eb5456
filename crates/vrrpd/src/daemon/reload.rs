//! Loading a configuration into the running daemon: the [plan](crate::plan) says which units
//! are kept, released or started; this carries it out (sockets, leftover VIPs, the first
//! events of new instances) and answers `reload`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use anyhow::{Context, Result};
use vrrp::{Event, Family, Instance, SyncGroup, Unit};

use super::{Daemon, Iface, InstRt, sd_notify_state};
use crate::dump;
use crate::net::netlink;
use crate::net::vmac::VmacSpec;
use crate::plan::{self, Step, UnitLayout};
use crate::spec::{DaemonSpec, DownInstance, InstanceSpec, TrackerId};

/// A unit taken out of the running set, with its instances' bookkeeping.
struct Running {
    layout: UnitLayout,
    unit: Unit,
    insts: Vec<InstRt>,
}

impl Daemon {
    /// Installs `spec`: keeps units whose configuration is unchanged (same state, no flap),
    /// releases removed or changed ones, and starts new ones. Returns the instances that could
    /// not be built (each with why). With `strict` (the first start without
    /// `--start-partial`) such an instance is an error before anything starts.
    pub(super) async fn apply(
        &mut self,
        spec: DaemonSpec,
        strict: bool,
    ) -> Result<Vec<DownInstance>> {
        if let (Some(old), Some(new)) = (&self.spec.conf, &spec.conf) {
            super::process_tuning::warn_startup_only(old, new);
        }
        if let Some(conf) = &spec.conf {
            self.scripts_mail.apply(conf.clone()).await;
        }
        self.apply_statics(&spec.statics).await;
        let plan = plan::plan(&self.spec, &spec);
        let old_vmacs: Vec<VmacSpec> = (self.insts.iter())
            .flat_map(|r| r.spec.vmac.iter().chain(&r.spec.vip_vmacs))
            .cloned()
            .collect();
        let mut old = self.take_running();
        let mut to_start = Vec::new();
        let mut failed = Vec::new();
        for step in plan.units {
            let kept = match &step {
                Step::Keep(layout) => take(&mut old, layout),
                Step::Start(_) => None,
            };
            match kept {
                Some(r) => self.install(r),
                // New or changed, or kept but not running (it could not be built before).
                None => {
                    if let Some(u) = self.build_unit(&spec, step.layout(), &mut failed).await? {
                        to_start.push(u);
                    }
                }
            }
        }
        for layout in &plan.released {
            if let Some(r) = take(&mut old, layout) {
                self.release(r).await;
            }
        }
        debug_assert!(
            old.is_empty(),
            "a running unit is neither kept nor released"
        );
        let new_vmacs = (spec.instances.iter()).flat_map(|s| s.vmac.iter().chain(&s.vip_vmacs));
        self.remove_vmacs(&crate::net::vmac::dropped(&old_vmacs, new_vmacs))
            .await;
        if strict && !failed.is_empty() {
            anyhow::bail!(
                "not starting: {} (start with --start-partial to run the other instances)",
                joined(&failed)
            );
        }
        self.spec = spec;
        self.spec.down.extend(failed.iter().cloned());
        self.scripts_mail.finish_apply().await;
        // In configuration order, as keepalived starts them.
        to_start.sort_by_key(|&u| self.config_position(u));
        self.scripts_mail.hold_lines();
        for u in to_start {
            self.start_unit(u).await;
        }
        self.scripts_mail.release_held();
        self.warn_capped_link_delays();
        Ok(failed)
    }

    /// Empties the running set, unit by unit.
    fn take_running(&mut self) -> Vec<Running> {
        let layouts = std::mem::take(&mut self.layouts);
        let mut running: Vec<Running> = std::mem::take(&mut self.units)
            .into_iter()
            .zip(layouts)
            .map(|(unit, layout)| Running {
                layout,
                unit,
                insts: Vec::new(),
            })
            .collect();
        for i in std::mem::take(&mut self.insts) {
            running[i.unit].insts.push(i);
        }
        for r in &mut running {
            r.insts.sort_by_key(|i| i.member);
        }
        running
    }

    /// Takes units out of the running set without a shutdown (their interface is gone); an
    /// `apply` of the unchanged file builds them again.
    pub(super) fn forget_units(&mut self, units: &std::collections::BTreeSet<usize>) {
        for (u, r) in self.take_running().into_iter().enumerate() {
            if !units.contains(&u) {
                self.install(r);
            }
        }
    }

    /// Puts a kept unit back at the end of the running set.
    fn install(&mut self, r: Running) {
        let idx = self.units.len();
        self.units.push(r.unit);
        self.layouts.push(r.layout);
        self.insts.extend(r.insts.into_iter().map(|mut i| {
            i.unit = idx;
            i
        }));
    }

    /// Builds a new unit's instances (those that can be prepared) and installs it, not yet
    /// started; returns its index, or `None` when no member could be built.
    async fn build_unit(
        &mut self,
        spec: &DaemonSpec,
        layout: &UnitLayout,
        failed: &mut Vec<DownInstance>,
    ) -> Result<Option<usize>> {
        let unit_idx = self.units.len();
        let members = layout
            .members
            .iter()
            .filter_map(|n| spec.instances.iter().find(|i| &i.name == n));
        let mut built = Vec::new();
        for s in members {
            match self.prepare_instance(s, unit_idx, built.len()).await {
                Ok(x) => built.push(x),
                Err(e) => {
                    tracing::error!(instance = %s.name, error = format!("{e:#}"), "instance not started");
                    failed.push(DownInstance {
                        name: s.name.clone(),
                        reason: format!("{e:#}"),
                    });
                }
            }
        }
        if built.is_empty() {
            return Ok(None);
        }
        let (insts, rts): (Vec<Instance>, Vec<InstRt>) = built.into_iter().unzip();
        let unit = match &layout.group {
            None => Unit::Single(Box::new(insts.into_iter().next().expect("one member"))),
            Some(g) => Unit::Group(SyncGroup::new(g.clone(), insts)?),
        };
        self.units.push(unit);
        self.layouts.push(layout.clone());
        self.insts.extend(rts);
        Ok(Some(unit_idx))
    }

    /// Stops a unit that the new configuration drops or changes.
    async fn release(&mut self, mut r: Running) {
        let now = self.now();
        let acts = r.unit.handle_all(now, Event::Shutdown);
        self.execute_detached(&r.unit, &mut r.insts, acts).await;
        for i in &r.insts {
            tracing::info!(instance = %i.spec.name, "instance removed by reload");
        }
    }

    /// Deletes the VMACs no instance uses any more (a reload removed the instance or its
    /// `use_vmac`), with their interface entries, unless `-V` keeps what is released.
    async fn remove_vmacs(&mut self, names: &[String]) {
        if self.opts.dont_release {
            return;
        }
        for name in names {
            tracing::info!(vmac = %name, "removing a VMAC interface no instance uses any more");
            if let Err(e) = crate::net::vmac::remove(&self.nl, name).await {
                tracing::warn!(vmac = %name, error = format!("{e:#}"), "removing the VMAC interface");
            }
            let insts = &self.insts;
            self.ifaces
                .retain(|idx, i| i.info.name != *name || insts.iter().any(|r| r.ifindex == *idx));
        }
    }

    /// Delivers the first events (link, trackers, maintenance), then Start.
    async fn start_unit(&mut self, u: usize) {
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
        self.execute(u, acts, false).await;
    }

    /// Resolves an instance's interface and source address, opens sockets, removes VIPs left
    /// over by a crashed run, and builds the state machine.
    pub(super) async fn prepare_instance(
        &mut self,
        s: &InstanceSpec,
        unit: usize,
        member: usize,
    ) -> Result<(Instance, InstRt)> {
        for m in s.vmac.iter().chain(&s.vip_vmacs) {
            crate::net::vmac::ensure(&self.nl, m).await?;
        }
        if let Some(ifname) = &s.promote_secondaries {
            // A missing interface is reported below, with the instance.
            if let Err(e) = self.sysctls.set(ifname, "promote_secondaries", "1") {
                tracing::warn!(instance = %s.name, error = format!("{e:#}"), "promote_secondaries not set");
            }
        }
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
        let ah = matches!(s.vrrp.auth, vrrp::Auth::Ah { .. });
        iface.ensure_socket(s.is_v6(), ah, &groups, &self.rx_tx)?;
        let share = s.rx_buf.bytes(iface.info.mtu);
        iface.add_rx_share(s.is_v6(), ah, &s.name, share);
        // The other interfaces VIPs live on (a `dev`, a VMAC): their gratuitous ARPs / NAs go
        // out there, and their link state is known.
        for v in s.vips.iter().chain(&s.excluded) {
            if v.ifname != s.interface
                && let Ok(l) = self.nl.link_by_name(&v.ifname).await
            {
                self.ifaces.entry(l.index).or_insert_with(|| Iface::new(l));
            }
        }
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
        let mut tracked_links = Vec::new();
        for t in s.tracked_interfaces() {
            // keepalived counts a tracked interface that does not exist as down.
            let up = self.nl.link_by_name(t).await.is_ok_and(|l| l.usable);
            tracked_links.push((t.to_string(), up));
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
            tracked_links,
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
        if rt.spec.fault_no_peer {
            tracing::error!(instance = %rt.spec.name, "({}) Cannot use unicast without any peers - going to fault state", rt.spec.name);
            evs.push(Event::TrackerChanged {
                name: crate::spec::NO_UNICAST_PEER.into(),
                up: false,
            });
        }
        for t in &rt.spec.trackers {
            if let Some(st) = self.scripts_mail.trackers.get(t) {
                evs.push(Event::TrackerChanged {
                    name: t.key(),
                    up: st.up,
                });
            }
        }
        for t in rt.spec.tracked_interfaces() {
            let up = self
                .ifaces
                .values()
                .find(|i| i.info.name == t)
                .map(|i| i.info.usable)
                // Interfaces we hold no socket on: as netlink said when the instance was built.
                .or_else(|| {
                    rt.tracked_links
                        .iter()
                        .find(|(n, _)| n == t)
                        .map(|(_, up)| *up)
                });
            if let Some(up) = up {
                evs.push(Event::TrackerChanged {
                    name: TrackerId::Interface(t.to_string()).key(),
                    up,
                });
            }
        }
        evs
    }

    /// The configured source, or the interface's primary IPv4 / link-local IPv6; with whether
    /// it can be sent from now.
    pub(super) async fn resolve_source(
        &self,
        s: &InstanceSpec,
        ifindex: u32,
    ) -> Option<(IpAddr, bool)> {
        // A VMAC has no address of its own: adverts carry the base interface's.
        let ifindex = match &s.vmac {
            Some(m) if !m.xmit_base && !m.v6 => match self.nl.link_by_name(&m.base).await {
                Ok(l) => l.index,
                Err(_) => ifindex,
            },
            _ => ifindex,
        };
        let addrs = self.nl.addresses(ifindex).await.ok()?;
        source_from(s, &addrs)
    }

    pub(super) async fn vip_ifindex(&self, v: &crate::spec::Vip, default: u32) -> u32 {
        if let Some(i) = self.ifaces.values().find(|i| i.info.name == v.ifname) {
            return i.info.index;
        }
        match self.nl.link_by_name(&v.ifname).await {
            Ok(l) => l.index,
            Err(_) => default,
        }
    }

    pub(super) async fn reload(&mut self) -> Result<String, String> {
        sd_notify_state(&[sd_notify::NotifyState::Reloading]);
        tracing::info!("reloading configuration");
        let loaded = (self.loader)(true);
        if let Some(c) = loaded.as_ref().ok().and_then(|s| s.conf.as_ref()) {
            super::process_name::apply(&c.global_defs);
            self.local_igmp.apply(&c.global_defs);
        }
        let result = match loaded {
            Ok(spec) => match self.apply(spec, false).await.inspect(|_| {
                self.scripts_mail.write_states_after_reload();
            }) {
                Ok(failed) if failed.is_empty() => {
                    tracing::info!(instances = self.insts.len(), "configuration reloaded");
                    Ok(format!("reloaded: {} instances", self.insts.len()))
                }
                Ok(failed) => {
                    let why = format!(
                        "reloaded, but not started: {}; {} instances running",
                        joined(&failed),
                        self.insts.len()
                    );
                    tracing::error!("{why}");
                    Err(why)
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
}

/// The instances that did not start, for one log line or answer.
fn joined(down: &[DownInstance]) -> String {
    down.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The running unit laid out as `layout`, taken out of `old`.
fn take(old: &mut Vec<Running>, layout: &UnitLayout) -> Option<Running> {
    let i = old.iter().position(|r| &r.layout == layout)?;
    Some(old.remove(i))
}

/// An instance's advert source among `addrs`: the configured one, else the primary IPv4 or
/// the IPv6 link-local; with whether it is usable (present and not tentative).
pub(super) fn source_from(s: &InstanceSpec, addrs: &[netlink::IfAddr]) -> Option<(IpAddr, bool)> {
    if let Some(src) = s.source {
        let present = addrs.iter().find(|a| a.addr == src);
        return Some((src, present.is_some_and(|a| !a.tentative)));
    }
    if s.is_v6() {
        // The interface's own link-local, never a link-local VIP the instance added there.
        let is_vip = |a: &IpAddr| s.vips.iter().chain(&s.excluded).any(|v| v.addr == *a);
        let ll = addrs.iter().find(|a| match a.addr {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 && !is_vip(&a.addr),
            _ => false,
        })?;
        Some((ll.addr, !ll.tentative))
    } else {
        netlink::primary_v4_of(addrs).map(|a| (IpAddr::V4(a), true))
    }
}
