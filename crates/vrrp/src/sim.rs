//! A deterministic simulator: several nodes running real [`Instance`]s and
//! [`SyncGroup`]s, a virtual clock, and a segment that can delay, drop,
//! duplicate, partition and heal. Adverts cross it as encoded bytes and go
//! through the real receive checks, so the codec is exercised too.
//!
//! Public so the daemon's tests and benchmarks can reuse it. Same seed and
//! same calls give the same run.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::net::IpAddr;
use std::time::Duration;

use crate::config::InstanceConfig;
use crate::instance::{Action, Event, Instance, State};
use crate::ipv4::{Ipv4Params, build_ipv4_packet};
use crate::packet::{Family, advert_pseudo_header};
use crate::rx::{self, RxCounters, RxError};
use crate::sync_group::SyncGroup;
use crate::unit::Unit;

/// Index of a node in the simulation.
pub type NodeId = usize;

/// What runs on a node: lone instances and sync groups.
// Built once per node; boxing would only make the specs clumsier to write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum UnitSpec {
    /// One instance.
    Single(InstanceConfig),
    /// A sync group of instances.
    Group(String, Vec<InstanceConfig>),
}

/// Builds the state machines a [`UnitSpec`] describes.
fn build_unit(spec: &UnitSpec) -> Result<Unit, SimError> {
    Ok(match spec {
        UnitSpec::Single(c) => Unit::Single(Box::new(
            Instance::new(c.clone()).map_err(SimError::Config)?,
        )),
        UnitSpec::Group(name, cs) => {
            let members = cs
                .iter()
                .map(|c| Instance::new(c.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(SimError::Config)?;
            Unit::Group(SyncGroup::new(name.clone(), members).map_err(SimError::Config)?)
        }
    })
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    spec: Vec<UnitSpec>,
    units: Vec<Unit>,
    up: bool,
    vips_held: BTreeSet<u8>,
    ip_id: u16,
    garps: u64,
    dropped: RxCounters,
}

/// A state change seen in the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTransition {
    /// When.
    pub at: Duration,
    /// Which node.
    pub node: NodeId,
    /// Which VRID.
    pub vrid: u8,
    /// Old state.
    pub from: State,
    /// New state.
    pub to: State,
    /// The instance's reason.
    pub reason: String,
}

/// A period with more than one MASTER for a VRID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DualMaster {
    /// VRID.
    pub vrid: u8,
    /// Start.
    pub from: Duration,
    /// End (`None` while it lasts).
    pub until: Option<Duration>,
}

/// Simulation errors (setup mistakes or a state machine that stops moving time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// An instance configuration is invalid.
    #[error("invalid instance configuration: {0}")]
    Config(crate::config::ConfigError),
    /// No such node.
    #[error("no node {0}")]
    NoNode(NodeId),
    /// A deadline did not move forward after its timer event.
    #[error("node {0} is stuck: its deadline does not advance")]
    Stuck(NodeId),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    to: NodeId,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    /// IPv4: the whole IP packet; IPv6: the VRRP payload.
    bytes: Vec<u8>,
}

/// Network behaviour for packets sent from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetParams {
    /// Loss probability in per-mille.
    pub loss_per_mille: u32,
    /// Duplication probability in per-mille.
    pub dup_per_mille: u32,
    /// Smallest one-way delay.
    pub delay_min: Duration,
    /// Largest one-way delay (uniform in between; may reorder).
    pub delay_max: Duration,
}

impl Default for NetParams {
    fn default() -> Self {
        NetParams {
            loss_per_mille: 0,
            dup_per_mille: 0,
            delay_min: Duration::from_micros(100),
            delay_max: Duration::from_micros(500),
        }
    }
}

/// splitmix64: small, fast, deterministic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// The simulator.
#[derive(Debug, Clone)]
pub struct Sim {
    now: Duration,
    nodes: Vec<Node>,
    blocked: BTreeSet<(NodeId, NodeId)>,
    net: NetParams,
    queue: BinaryHeap<Reverse<(Duration, u64, Delivery)>>,
    seq: u64,
    rng: Rng,
    transitions: Vec<SimTransition>,
    dual: Vec<DualMaster>,
    vip_violations: Vec<String>,
    adverts_sent: u64,
}

impl Sim {
    /// An empty simulation at time zero.
    pub fn new(seed: u64) -> Self {
        Sim {
            now: Duration::ZERO,
            nodes: Vec::new(),
            blocked: BTreeSet::new(),
            net: NetParams::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng(seed),
            transitions: Vec::new(),
            dual: Vec::new(),
            vip_violations: Vec::new(),
            adverts_sent: 0,
        }
    }

    /// Add a node (not started).
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        units: Vec<UnitSpec>,
    ) -> Result<NodeId, SimError> {
        let built = units
            .iter()
            .map(build_unit)
            .collect::<Result<Vec<_>, _>>()?;
        self.nodes.push(Node {
            name: name.into(),
            spec: units,
            units: built,
            up: true,
            vips_held: BTreeSet::new(),
            ip_id: 0,
            garps: 0,
            dropped: RxCounters::default(),
        });
        Ok(self.nodes.len() - 1)
    }

    /// Virtual time now.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// Set the network behaviour.
    pub fn set_net(&mut self, p: NetParams) {
        self.net = p;
    }

    /// Current network behaviour.
    pub fn net(&self) -> NetParams {
        self.net
    }

    /// Send [`Event::Start`] to every instance of every node.
    pub fn start_all(&mut self) {
        for n in 0..self.nodes.len() {
            self.deliver_all(n, Event::Start);
        }
    }

    /// Deliver an event to every instance of a node.
    pub fn deliver_all(&mut self, node: NodeId, ev: Event) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if !n.up {
            return;
        }
        let mut acts = Vec::new();
        for (u, unit) in n.units.iter_mut().enumerate() {
            acts.extend(
                unit.handle_all(now, ev.clone())
                    .into_iter()
                    .map(|(m, a)| (u, m, a)),
            );
        }
        self.apply(node, acts);
        self.observe();
    }

    /// Deliver an event to the instance serving `vrid` on a node.
    pub fn deliver(&mut self, node: NodeId, vrid: u8, ev: Event) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        if !n.up {
            return;
        }
        let mut acts = Vec::new();
        if let Some((u, m)) = find_member(&n.units, vrid) {
            acts.extend(
                n.units[u]
                    .handle(now, m, ev)
                    .into_iter()
                    .map(|(m, a)| (u, m, a)),
            );
        }
        self.apply(node, acts);
        self.observe();
    }

    /// Block traffic from `a` to `b` (one way).
    pub fn block(&mut self, a: NodeId, b: NodeId) {
        self.blocked.insert((a, b));
    }

    /// Cut both directions between `a` and `b`.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.block(a, b);
        self.block(b, a);
    }

    /// Restore both directions between `a` and `b`.
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.blocked.remove(&(a, b));
        self.blocked.remove(&(b, a));
    }

    /// Restore every link.
    pub fn heal_all(&mut self) {
        self.blocked.clear();
    }

    /// Power a node off: no timers, no packets, its VIPs are gone with it.
    pub fn crash(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.up = false;
            n.vips_held.clear();
        }
        self.observe();
    }

    /// Boot a crashed node with fresh instances and start them.
    pub fn restart(&mut self, node: NodeId) -> Result<(), SimError> {
        let n = self.nodes.get_mut(node).ok_or(SimError::NoNode(node))?;
        n.units = n
            .spec
            .iter()
            .map(build_unit)
            .collect::<Result<Vec<_>, _>>()?;
        n.up = true;
        n.vips_held.clear();
        self.deliver_all(node, Event::Start);
        Ok(())
    }

    /// Whether a node is up.
    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.up)
    }

    /// Node name.
    pub fn name(&self, node: NodeId) -> &str {
        self.nodes.get(node).map_or("", |n| n.name.as_str())
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The instance serving `vrid` on a node.
    pub fn instance(&self, node: NodeId, vrid: u8) -> Option<&Instance> {
        let n = self.nodes.get(node)?;
        let (u, m) = find_member(&n.units, vrid)?;
        n.units[u].members().get(m)
    }

    /// Every VRID configured anywhere.
    pub fn vrids(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self
            .nodes
            .iter()
            .flat_map(|n| {
                n.units
                    .iter()
                    .flat_map(|u| u.members().iter().map(|i| i.config().vrid))
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// State of the instance for `vrid` on a node (`None` if down or absent).
    pub fn state(&self, node: NodeId, vrid: u8) -> Option<State> {
        if !self.is_up(node) {
            return None;
        }
        self.instance(node, vrid).map(Instance::state)
    }

    /// Up nodes whose instance for `vrid` is MASTER.
    pub fn masters(&self, vrid: u8) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| self.state(n, vrid) == Some(State::Master))
            .collect()
    }

    /// The nodes the RFC rules allow as master for `vrid` once quiet, with
    /// preemption on: those with the highest effective priority. Among equal
    /// priorities the address breaks the tie only between two masters (a
    /// BACKUP accepts an equal-priority master), so any of them is right.
    /// Instances in FAULT, drain or not started are not candidates.
    pub fn rightful_masters(&self, vrid: u8) -> Vec<NodeId> {
        let eligible: Vec<(u8, NodeId)> = (0..self.nodes.len())
            .filter_map(|n| {
                let i = self.instance(n, vrid)?;
                let ok = self.is_up(n)
                    && matches!(i.state(), State::Backup | State::Master)
                    && !i.in_maintenance();
                ok.then(|| (i.effective_priority(), n))
            })
            .collect();
        let best = eligible.iter().map(|(p, _)| *p).max();
        eligible
            .into_iter()
            .filter(|(p, _)| Some(*p) == best)
            .map(|(_, n)| n)
            .collect()
    }

    /// Every transition so far.
    pub fn transitions(&self) -> &[SimTransition] {
        &self.transitions
    }

    /// Every period with two or more masters for a VRID.
    pub fn dual_masters(&self) -> &[DualMaster] {
        &self.dual
    }

    /// Moments where a node held VIPs while not MASTER or the reverse.
    pub fn vip_violations(&self) -> &[String] {
        &self.vip_violations
    }

    /// Adverts put on the segment so far.
    pub fn adverts_sent(&self) -> u64 {
        self.adverts_sent
    }

    /// GARP/NA bursts a node asked for.
    pub fn garps(&self, node: NodeId) -> u64 {
        self.nodes.get(node).map_or(0, |n| n.garps)
    }

    /// Packets a node dropped, by reason, summed over its instances (and
    /// packets for VRIDs it does not serve).
    pub fn rx_counters(&self, node: NodeId) -> RxCounters {
        let mut c = RxCounters::default();
        if let Some(n) = self.nodes.get(node) {
            c.merge(&n.dropped);
            for u in &n.units {
                for i in u.members() {
                    c.merge(i.counters());
                }
            }
        }
        c
    }

    /// Put raw bytes on the segment towards `to` (a hostile sender): for
    /// IPv4 a whole IP packet, for IPv6 a VRRP payload with the given
    /// addresses and hop limit.
    pub fn inject(
        &mut self,
        to: NodeId,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: Vec<u8>,
        delay: Duration,
    ) {
        let at = self.now + delay;
        self.enqueue(
            at,
            Delivery {
                to,
                src,
                dst,
                ttl,
                bytes,
            },
        );
    }

    /// Run until virtual time `until`.
    pub fn run_until(&mut self, until: Duration) -> Result<(), SimError> {
        loop {
            let next_packet = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let next_timer = (0..self.nodes.len())
                .filter(|&n| self.nodes[n].up)
                .filter_map(|n| self.node_deadline(n).map(|t| (t, n)))
                .min();
            let next = match (next_packet, next_timer) {
                (Some(p), Some((t, _))) => p.min(t),
                (Some(p), None) => p,
                (None, Some((t, _))) => t,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if next_packet == Some(next) {
                if let Some(Reverse((_, _, d))) = self.queue.pop() {
                    self.receive(d);
                }
            } else if let Some((_, n)) = next_timer {
                self.deliver_all(n, Event::Timer);
                if self.node_deadline(n).is_some_and(|t| t <= self.now) {
                    return Err(SimError::Stuck(n));
                }
            }
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Run for `d` more virtual time.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        self.run_until(self.now + d)
    }

    fn node_deadline(&self, n: NodeId) -> Option<Duration> {
        self.nodes[n]
            .units
            .iter()
            .filter_map(Unit::next_deadline)
            .min()
    }

    fn enqueue(&mut self, at: Duration, d: Delivery) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, d)));
    }

    fn receive(&mut self, d: Delivery) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(d.to) else {
            return;
        };
        if !n.up {
            return;
        }
        let pkt = match (d.src, d.dst) {
            (IpAddr::V6(s), IpAddr::V6(t)) => rx::from_ipv6(&d.bytes, s, t, d.ttl),
            _ => match rx::parse_ipv4(&d.bytes) {
                Ok(p) => p,
                Err(e) => {
                    n.dropped.record_drop(e);
                    return;
                }
            },
        };
        let Some((u, m)) = rx::peek_vrid(&pkt).and_then(|v| find_member(&n.units, v)) else {
            let e = if pkt.vrrp.len() < 2 {
                RxError::VrrpTruncated
            } else {
                RxError::UnknownVrid
            };
            n.dropped.record_drop(e);
            return;
        };
        let acts = match n.units[u].handle_packet(now, m, &pkt) {
            Ok(a) => a.into_iter().map(|(m, a)| (u, m, a)).collect(),
            Err(_) => Vec::new(),
        };
        self.apply(d.to, acts);
        self.observe();
    }

    fn apply(&mut self, node: NodeId, acts: Vec<(usize, usize, Action)>) {
        for (u, m, a) in acts {
            let Some(cfg) = self.nodes[node].units[u]
                .members()
                .get(m)
                .map(|i| i.config().clone())
            else {
                continue;
            };
            match a {
                Action::SendAdvert(adv) => self.send(node, &cfg, &adv),
                Action::AddVips { .. } => {
                    self.nodes[node].vips_held.insert(cfg.vrid);
                }
                Action::RemoveVips { .. } => {
                    self.nodes[node].vips_held.remove(&cfg.vrid);
                }
                Action::SendGratuitous { .. } => self.nodes[node].garps += 1,
                Action::Transition { from, to, reason } => self.transitions.push(SimTransition {
                    at: self.now,
                    node,
                    vrid: cfg.vrid,
                    from,
                    to,
                    reason,
                }),
                Action::AnnounceSource
                | Action::PriorityChanged { .. }
                | Action::MasterRxLowerPriority { .. } => {}
            }
        }
    }

    fn send(&mut self, from: NodeId, cfg: &InstanceConfig, adv: &crate::packet::Advert) {
        self.adverts_sent += 1;
        let src = cfg.primary_address;
        let dsts: Vec<(IpAddr, Vec<NodeId>)> = if cfg.is_unicast() {
            cfg.unicast_peers
                .iter()
                .map(|p| (p.addr, self.nodes_with_address(p.addr)))
                .collect()
        } else {
            let all = (0..self.nodes.len()).filter(|&n| n != from).collect();
            vec![(cfg.multicast_group, all)]
        };
        for (dst, receivers) in dsts {
            let pseudo = advert_pseudo_header(cfg, src, dst);
            let Ok(payload) = adv.encode_family(cfg.family, pseudo) else {
                continue;
            };
            let bytes = match (cfg.family, src, dst) {
                (Family::V4, IpAddr::V4(s), IpAddr::V4(t)) => {
                    let id = self.nodes[from].ip_id;
                    self.nodes[from].ip_id = id.wrapping_add(1);
                    build_ipv4_packet(
                        Ipv4Params {
                            src: s,
                            dst: t,
                            ttl: 255,
                            id,
                        },
                        &payload,
                    )
                }
                _ => payload,
            };
            for to in receivers {
                if self.blocked.contains(&(from, to)) {
                    continue;
                }
                let copies = if self.rng.below(1000) < u64::from(self.net.dup_per_mille) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if self.rng.below(1000) < u64::from(self.net.loss_per_mille) {
                        continue;
                    }
                    let span = self
                        .net
                        .delay_max
                        .saturating_sub(self.net.delay_min)
                        .as_micros() as u64;
                    let delay =
                        self.net.delay_min + Duration::from_micros(self.rng.below(span + 1));
                    let at = self.now + delay;
                    self.enqueue(
                        at,
                        Delivery {
                            to,
                            src,
                            dst,
                            ttl: 255,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
        }
    }

    fn nodes_with_address(&self, addr: IpAddr) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n].units.iter().any(|u| {
                    u.members()
                        .iter()
                        .any(|i| i.config().primary_address == addr)
                })
            })
            .collect()
    }

    /// Record dual-master periods and VIP/state mismatches after each step.
    fn observe(&mut self) {
        for vrid in self.vrids() {
            let count = self.masters(vrid).len();
            let open = self
                .dual
                .iter_mut()
                .find(|d| d.vrid == vrid && d.until.is_none());
            match (count > 1, open) {
                (true, None) => self.dual.push(DualMaster {
                    vrid,
                    from: self.now,
                    until: None,
                }),
                (false, Some(d)) => d.until = Some(self.now),
                _ => {}
            }
        }
        for n in 0..self.nodes.len() {
            if !self.nodes[n].up {
                continue;
            }
            for u in &self.nodes[n].units {
                for i in u.members() {
                    let vrid = i.config().vrid;
                    let held = self.nodes[n].vips_held.contains(&vrid);
                    if held != (i.state() == State::Master) {
                        self.vip_violations.push(format!(
                            "at {:?} node {} vrid {}: state {} but VIPs {}",
                            self.now,
                            self.nodes[n].name,
                            vrid,
                            i.state(),
                            if held { "held" } else { "absent" }
                        ));
                    }
                }
            }
        }
    }
}

fn find_member(units: &[Unit], vrid: u8) -> Option<(usize, usize)> {
    units.iter().enumerate().find_map(|(u, unit)| {
        unit.members()
            .iter()
            .position(|i| i.config().vrid == vrid)
            .map(|m| (u, m))
    })
}
