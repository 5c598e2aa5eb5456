//! Carrying out the state machine's actions: adverts on the raw sockets, VIPs, routes and
//! rules over netlink, gratuitous ARP / NA, and the transition's log line, notify scripts
//! and mail. [`Daemon::interpret`] is the one place an [`Action`] is given meaning.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use vrrp::{Action, Family, GarpCause, Instance, MemberAction, State, Unit};

use super::{Daemon, InstRt};
use crate::ratelimit::Verdict;

/// What a transition of one member reports about its unit, read once per batch of actions.
pub(super) struct MemberView {
    /// The sync group's name, its state as notify scripts see it, and whether the change
    /// is told (see [`group_retaking`]).
    group: Option<(String, &'static str, bool)>,
    /// The member's effective priority.
    priority: u8,
    /// The member's state name (`MASTER`, `BACKUP`, ...).
    state: &'static str,
}

impl MemberView {
    fn of(unit: &Unit, member: usize) -> Self {
        MemberView {
            group: unit
                .group_name()
                .map(|g| (g.to_string(), group_state(unit), !group_retaking(unit))),
            priority: unit
                .members()
                .get(member)
                .map(Instance::effective_priority)
                .unwrap_or(0),
            state: unit
                .members()
                .get(member)
                .map(|i| i.state().name())
                .unwrap_or("INIT"),
        }
    }
}

impl Daemon {
    /// Carries out a batch of actions of running unit `unit`.
    pub(super) async fn execute(&mut self, unit: usize, acts: Vec<MemberAction>, releasing: bool) {
        for (m, a) in acts {
            let Some(pos) = self
                .insts
                .iter()
                .position(|r| r.unit == unit && r.member == m)
            else {
                continue;
            };
            let view = MemberView::of(&self.units[unit], m);
            let mut rt = std::mem::replace(&mut self.insts[pos], InstRt::placeholder());
            self.interpret(&mut rt, &view, a, releasing).await;
            self.insts[pos] = rt;
        }
        self.scripts_mail.flush_group_lines();
    }

    /// Carries out the release actions of a unit already taken out of the running set.
    pub(super) async fn execute_detached(
        &mut self,
        unit: &Unit,
        insts: &mut [InstRt],
        acts: Vec<MemberAction>,
    ) {
        for (m, a) in acts {
            if let Some(rt) = insts.iter_mut().find(|r| r.member == m) {
                let view = MemberView::of(unit, m);
                self.interpret(rt, &view, a, true).await;
            }
        }
        self.scripts_mail.flush_group_lines();
    }

    /// The one interpreter of the state machine's actions: carries out `action` for instance
    /// `rt` (whose unit is described by `view`). `releasing` marks a unit being stopped.
    async fn interpret(
        &mut self,
        rt: &mut InstRt,
        view: &MemberView,
        action: Action,
        releasing: bool,
    ) {
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
                let addrs: Vec<IpAddr> =
                    vips.iter().chain(excluded.iter()).map(|v| v.addr).collect();
                if !rt.spec.vrrp.accept {
                    self.no_accept(rt, &addrs, true).await;
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
                if !rt.spec.vrrp.accept {
                    let addrs: Vec<IpAddr> =
                        vips.iter().chain(excluded.iter()).map(|v| v.addr).collect();
                    self.no_accept(rt, &addrs, false).await;
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
                    if let Some(x) = rt.spec.garp_extra_if {
                        let now = self.now();
                        self.extra_garp.start(&rt.spec.name, now, x.interval);
                    }
                }
                if from == State::Master {
                    rt.stats.released_master += 1;
                    self.extra_garp.stop(&rt.spec.name);
                }
                rt.stats.transitions += 1;
                crate::metrics::events::transition(&rt.spec.name, from.name(), to.name(), &reason);
                rt.since = SystemTime::now();
                self.scripts_mail.on_transition(
                    &rt.spec.name,
                    view.group
                        .as_ref()
                        .map(|(g, s, told)| (g.as_str(), *s, *told)),
                    from.name(),
                    to.name(),
                    view.priority,
                    &reason,
                );
                rt.last_reason = reason;
            }
            Action::PriorityChanged { old, new } => {
                tracing::info!(instance = %rt.spec.name, old, new, "effective priority changed");
                self.scripts_mail
                    .on_priority_change(&rt.spec.name, view.state, new);
            }
            Action::MasterRxLowerPriority { from, priority } => {
                tracing::info!(instance = %rt.spec.name, from = %from, priority, "MASTER received lower priority advert");
                self.scripts_mail
                    .on_master_rx_lower(&rt.spec.name, view.priority);
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
            let pseudo = vrrp::packet::advert_pseudo_header(cfg, src, dst);
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
                    let params = vrrp::ipv4::Ipv4Params {
                        src: s4,
                        dst: d4,
                        ttl,
                        id: rt.ip_id,
                    };
                    let (pkt, sock) = match adv.auth {
                        vrrp::Auth::Ah { key, seq } => {
                            let cover = if cfg.is_unicast() {
                                vrrp::ah::Cover::Unicast
                            } else {
                                vrrp::ah::Cover::Multicast
                            };
                            let pkt = vrrp::ah::build_ah_packet(params, &body, &key, cover, seq);
                            (pkt, iface.v4_ah.as_ref().context("no IPv4 AH socket")?)
                        }
                        _ => (
                            vrrp::ipv4::build_ipv4_packet(params, &body),
                            iface.v4.as_ref().context("no IPv4 socket")?,
                        ),
                    };
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

    /// Accept_Mode off: the VIPs neither receive nor send while held (keepalived's rules).
    async fn no_accept(&mut self, rt: &InstRt, addrs: &[IpAddr], add: bool) {
        if self.firewall.is_none() {
            if !add {
                return;
            }
            let options = self.spec.nft_options;
            match crate::net::nft::NoAcceptFirewall::install(&self.nft_table, options).await {
                Ok(fw) => self.firewall = Some(fw),
                Err(e) => {
                    tracing::error!(instance = %rt.spec.name, error = format!("{e:#}"), "no_accept: rules not installed; the VIPs accept traffic");
                    return;
                }
            }
        }
        // Each address with the interface it lives on (link-local VIPs are filtered there).
        let on: Vec<(IpAddr, &str)> = addrs
            .iter()
            .map(|a| {
                let ifname = rt
                    .spec
                    .vip_for(*a)
                    .map_or(&rt.spec.interface, |v| &v.ifname);
                (*a, ifname.as_str())
            })
            .collect();
        if let Some(fw) = &self.firewall
            && let Err(e) = fw.set(&on, add, rt.spec.vrrp.dont_track_primary).await
        {
            tracing::error!(instance = %rt.spec.name, add, error = format!("{e:#}"), "no_accept rule change failed");
        }
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

    /// Sends `count` rounds of gratuitous ARPs / NAs for `addrs`, each on the interface its
    /// address lives on, paced per interface or `garp_group` (see [`super::garp_pacing`]).
    pub(super) fn announce(&self, rt: &InstRt, addrs: Vec<IpAddr>, count: u32, cause: GarpCause) {
        let mut plan: Vec<(
            Arc<crate::net::garp::Announcer>,
            IpAddr,
            String,
            std::time::Duration,
        )> = Vec::new();
        for a in addrs {
            let ifname = rt
                .spec
                .vip_for(a)
                .map(|v| v.ifname.clone())
                .unwrap_or_else(|| rt.spec.interface.clone());
            let Some(i) = self.ifaces.values().find(|i| i.info.name == ifname) else {
                continue;
            };
            let (slot, gap) = super::garp_pacing::slot_of(&self.spec, &ifname, a.is_ipv6());
            plan.push((i.announcer.clone(), a, slot, gap));
        }
        let now = tokio::time::Instant::now();
        let mut sends = Vec::new();
        for _ in 0..count {
            for (ann, a, slot, gap) in &plan {
                sends.push((self.garp_slots.reserve(slot, *gap, now), ann.clone(), *a));
            }
        }
        // Stable: the rounds keep their order where slots give the same moment.
        sends.sort_by_key(|(at, _, _)| *at);
        let name = rt.spec.name.clone();
        tracing::debug!(instance = %name, ?cause, count, "sending gratuitous ARP / NA");
        tokio::spawn(async move {
            for (at, ann, a) in sends {
                tokio::time::sleep_until(at).await;
                let res = match a {
                    IpAddr::V4(v4) => ann.send_garp(v4),
                    IpAddr::V6(v6) => ann.send_na(v6),
                };
                if let Err(e) = res {
                    tracing::warn!(instance = %name, address = %a, error = %e, "announce failed");
                }
            }
        });
    }
}

/// Every member of a sync group handed over for a deleted VIP and takes over again at once:
/// keepalived 2.2.7 runs no group notify script and writes no group FIFO line for that
/// BACKUP moment (seen in the lab), only the members' and the group's MASTER again; vrrpd
/// sends no group mail for it either.
fn group_retaking(u: &Unit) -> bool {
    u.members().iter().all(Instance::retaking)
}

/// A sync group's state as its notify scripts see it.
pub(super) fn group_state(u: &Unit) -> &'static str {
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
