//! What the event loop reacts to, besides configuration: timers, received adverts, kernel
//! link and address events. Each is fed to the units concerned and their actions executed.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use vrrp::{Event, RxError};

use super::reload::source_from;
use super::{Daemon, Received, extra_garp, link_delays};
use crate::net::linkwatch::NetEvent;
use crate::net::netlink::IfAddr;
use crate::ratelimit::Verdict;
use crate::spec::TrackerId;
use crate::vip_watch;

impl Daemon {
    pub(super) async fn on_timers(&mut self) {
        let now = self.now();
        for u in 0..self.units.len() {
            if self.units[u].next_deadline().is_some_and(|d| d <= now) {
                let acts = self.units[u].handle_all(now, Event::Timer);
                self.execute(u, acts, false).await;
            }
        }
        for (idx, name, up) in self.link_delays.due(now) {
            tracing::info!(interface = %name, up, "link change lasted its interface_up_down_delays");
            self.link_changed(idx, &name, up).await;
        }
        for name in self.extra_garp.due(now) {
            if let Some(rt) = self.insts.iter().find(|r| r.spec.name == name) {
                let addrs = extra_garp::extra_addresses(&rt.spec);
                self.announce(rt, addrs, 1, vrrp::GarpCause::Refresh);
            }
        }
    }

    pub(super) async fn on_packet(&mut self, rx: Received) {
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
            if self.spec.log_unknown_vrids {
                self.log_unknown_vrid(rx.ifindex, vrid, pkt.src);
            }
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
        let seen = |units: &[vrrp::Unit]| units[u].members()[m].old_checksum_seen();
        let old_before = seen(&self.units);
        match self.units[u].handle_packet(now, m, &pkt) {
            Ok(acts) => {
                if !old_before && seen(&self.units) {
                    let name = &self.insts[pos].spec.name;
                    tracing::info!(instance = %name, from = %pkt.src, "({name}) Setting unicast VRRPv3 checksum to old version");
                }
                let rt = &mut self.insts[pos];
                rt.stats.adverts_received += 1;
                if prio == Some(0) {
                    rt.stats.prio0_received += 1;
                }
                if let Some(p) = prio.filter(|p| *p > 0) {
                    self.weight_check(pos, p);
                    self.master_interval_heard(pos);
                }
                self.execute(u, acts, false).await;
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

    /// `log_unknown_vrids`: keepalived's line, with the sender, at most one per interface and
    /// VRID per limiter window (keepalived logs every advert; the count is in `show stats`).
    fn log_unknown_vrid(&mut self, ifindex: u32, vrid: u8, src: IpAddr) {
        let ifname = self
            .ifaces
            .get(&ifindex)
            .map(|i| i.info.name.clone())
            .unwrap_or_default();
        let key = (format!("{ifname} vrid {vrid}"), "unknown_vrid");
        if let Verdict::Log { suppressed } = self.limiter.check(key, Instant::now()) {
            tracing::info!(interface = %ifname, vrid, from = %src, suppressed,
                "Unknown VRID({vrid}) received on interface({ifname}). ignoring...");
        }
    }

    pub(super) fn log_drop(&mut self, scope: String, e: RxError, src: IpAddr) {
        if let Verdict::Log { suppressed } = self
            .limiter
            .check((scope.clone(), e.name()), Instant::now())
        {
            tracing::warn!(scope = %scope, from = %src, reason = e.name(), suppressed, "dropped VRRP packet: {e}");
        }
    }

    pub(super) async fn on_net_event(&mut self, ev: NetEvent) {
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
                    self.link_event(idx, &name, usable).await;
                }
                if usable {
                    self.interface_appeared(idx, &name).await;
                    self.restore_statics_on(idx, &name).await;
                }
            }
            NetEvent::LinkGone { index, name } => {
                if let Some(name) = name {
                    // Not held: a deletion is no bounce (keepalived 2.2.7 faults at once).
                    self.link_delays.deleted(&name);
                    self.link_changed(index, &name, false).await;
                    if self.ifaces.contains_key(&index) {
                        self.interface_vanished(&name);
                    }
                }
            }
            NetEvent::AddressesChanged { index } => self.addresses_changed(index).await,
            NetEvent::AddressRemoved(a) => {
                self.restore_static_address(&a).await;
                self.vip_deleted(&a).await;
            }
            NetEvent::OwnRouteOrRuleRemoved => self.restore_static_routes_and_rules().await,
        }
    }

    /// A VIP of a MASTER deleted by someone else: the instance hands over and takes over
    /// again, as keepalived does. vrrpd's own deletions come from instances that are no longer
    /// MASTER (or no longer running), so they do not match; an address already added again
    /// by the time the event is read, or one that went with its link, is not news either.
    async fn vip_deleted(&mut self, gone: &IfAddr) {
        let watched = self.insts.iter().map(|r| vip_watch::Watched {
            spec: &r.spec,
            master: self.units[r.unit].members()[r.member].state() == vrrp::State::Master,
        });
        let deleted = vip_watch::Deleted {
            ifindex: gone.index,
            addr: gone.addr,
        };
        let ifindex_of = |n: &str| {
            (self.ifaces.values())
                .find(|i| i.info.name == n)
                .map(|i| i.info.index)
        };
        let hit = vip_watch::watchers(deleted, watched, ifindex_of);
        if hit.is_empty()
            || self
                .nl
                .has_address(gone.index, gone.addr)
                .await
                .unwrap_or(true)
        {
            return;
        }
        // A link going down or away takes its addresses with it (IPv6 on down): the link
        // rule (FAULT) answers that, not a hand-over.
        let ifname = self.ifaces.get(&gone.index).map(|i| i.info.name.clone());
        let usable = match ifname {
            Some(n) => {
                (self.nl.link_by_name(&n).await).is_ok_and(|l| l.usable && l.index == gone.index)
            }
            None => false,
        };
        if !usable {
            return;
        }
        for pos in hit {
            let (u, m) = (self.insts[pos].unit, self.insts[pos].member);
            let name = self.insts[pos].spec.name.clone();
            tracing::warn!(instance = %name, vip = %gone.addr, "({name}) VIP {} deleted behind our back: handing over and taking over again", gone.addr);
            let now = self.now();
            let acts = self.units[u].handle(now, m, Event::VipDeleted(gone.addr));
            self.execute(u, acts, false).await;
        }
    }

    /// A link change, passed on now or held by the interface's `interface_up_down_delays`.
    async fn link_event(&mut self, ifindex: u32, name: &str, up: bool) {
        let delay = self.link_delay(name);
        let now = self.now();
        if self.link_delays.on_change(ifindex, name, up, delay, now) {
            self.link_changed(ifindex, name, up).await;
        } else {
            tracing::info!(interface = %name, up, "link change held (interface_up_down_delays)");
        }
    }

    /// The `interface_up_down_delays` of `name` as keepalived applies them: a VMAC's are its
    /// parent's, each at most the ceiling of the instances on the interface and of the
    /// masters heard there.
    pub(super) fn link_delay(&self, name: &str) -> Option<keepalived_conf::UpDownDelay> {
        let base = (self.insts.iter())
            .flat_map(|r| r.spec.vmac.iter().chain(&r.spec.vip_vmacs))
            .find(|v| v.name == name)
            .map_or(name, |v| v.base.as_str());
        let configured = *self
            .spec
            .conf
            .as_ref()?
            .interface_up_down_delays
            .get(base)?;
        let own = (self.insts.iter())
            .filter(|r| r.spec.interface == base)
            .map(|r| {
                let c = &r.spec.vrrp;
                link_delays::ceiling(c.wire_interval().as_duration(), c.down_timer_adverts)
            });
        let ceiling = own.chain(self.link_delays.learned_ceiling(base)).min();
        Some(link_delays::capped(configured, ceiling))
    }

    /// Says which configured delays the instances' advert intervals shorten (after a load).
    pub(super) fn warn_capped_link_delays(&mut self) {
        self.link_delays.forget_learned();
        let Some(conf) = self.spec.conf.clone() else {
            return;
        };
        for (ifname, configured) in &conf.interface_up_down_delays {
            if let Some(d) = self.link_delay(ifname).filter(|d| d != configured) {
                tracing::warn!(interface = %ifname, down = ?d.down, up = ?d.up,
                    "interface {ifname} debounce timer(s) not less than (down_timer_adverts - 1) * advert_int of an instance on it: shortened");
            }
        }
    }

    /// A backup heard a master on `ifname` advertising every `interval`: a faster one than
    /// before lowers the interface's delays for good (keepalived: "lower advert_int reducing
    /// interface ... debounce timer(s)").
    fn master_interval_heard(&mut self, pos: usize) {
        let rt = &self.insts[pos];
        let ifname = rt.spec.interface.clone();
        let has_delay = (self.spec.conf.as_ref())
            .is_some_and(|c| c.interface_up_down_delays.contains_key(&ifname));
        let member = &self.units[rt.unit].members()[rt.member];
        if !has_delay || member.state() != vrrp::State::Backup {
            return;
        }
        let c = link_delays::ceiling(
            member.master_adver_interval(),
            rt.spec.vrrp.down_timer_adverts,
        );
        let before = self.link_delay(&ifname);
        if self.link_delays.lower_ceiling(&ifname, c) && self.link_delay(&ifname) != before {
            let name = &rt.spec.name;
            tracing::warn!(instance = %name, interface = %ifname, ceiling = ?c,
                "({name}) lower advert_int reducing interface {ifname} debounce timer(s)");
        }
    }

    async fn link_changed(&mut self, ifindex: u32, name: &str, up: bool) {
        let now = self.now();
        let tracker = TrackerId::Interface(name.to_string()).key();
        let targets: Vec<(usize, usize, Vec<Event>)> = self
            .insts
            .iter()
            .filter_map(|r| {
                let mut evs = Vec::new();
                if r.ifindex == ifindex {
                    evs.push(Event::LinkState { up });
                }
                if r.spec.tracked_interfaces().any(|t| t == name) {
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
                self.execute(u, acts, false).await;
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
        // Instances built while their interface had no address yet (a recreated interface
        // under dynamic_interfaces): built again now that it has one.
        let mut unaddressed = std::collections::BTreeSet::new();
        for pos in 0..self.insts.len() {
            // A VMAC's own addresses are its VIPs; its source is the base interface's.
            if self.insts[pos].ifindex != ifindex
                || self.insts[pos]
                    .spec
                    .vmac
                    .as_ref()
                    .is_some_and(|m| !m.xmit_base && !m.v6)
            {
                continue;
            }
            let resolved = source_from(&self.insts[pos].spec, &addrs);
            let configured = self.units[self.insts[pos].unit].members()[self.insts[pos].member]
                .config()
                .primary_address;
            if configured.is_unspecified() && resolved.is_some_and(|(_, usable)| usable) {
                unaddressed.insert(self.insts[pos].unit);
                continue;
            }
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
                self.execute(u, acts, false).await;
            }
        }
        if !unaddressed.is_empty() {
            tracing::info!("an interface got its first address: its instances are built again");
            self.rebuild_units(&unaddressed).await;
        }
    }
}
