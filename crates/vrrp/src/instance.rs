//! One VRRP instance: INIT / BACKUP / MASTER / FAULT, driven by events and
//! time, emitting actions (reference c.3–c.8, RFC 3768 §6, RFC 5798 §6).
//!
//! The instance never reads a clock: every call carries `now`, a
//! [`Duration`] since an epoch of the caller's choosing (the daemon uses a
//! monotonic start instant, the simulator a virtual clock). After each call
//! the caller asks [`Instance::next_deadline`] and delivers
//! [`Event::Timer`] when it is reached. Only the instance's own deadlines and
//! *valid* adverts move its timers (issue 11).

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{ConfigError, InitialState, InstanceConfig, Vip};
use crate::packet::{Advert, Auth, Version};
use crate::rx::{self, CheckedAdvert, RxCounters, RxError, RxPacket};
use crate::timers;

/// Protocol state (plus `Stopped` after shutdown, which keepalived reports
/// to notify scripts as STOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or waiting for unweighted trackers' first result.
    Init,
    /// Following a master; the master-down timer runs.
    Backup,
    /// Owning the VIPs and advertising.
    Master,
    /// A fault condition holds: no adverts, no timers.
    Fault,
    /// Shut down.
    Stopped,
}

impl State {
    /// keepalived's name for the state (notify scripts, logs).
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The parts of a valid advert the state machine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// Sender's address (IP source).
    pub src: IpAddr,
    /// Advertised priority.
    pub priority: u8,
    /// Advertised interval.
    pub interval: Duration,
}

impl From<&CheckedAdvert> for ReceivedAdvert {
    fn from(c: &CheckedAdvert) -> Self {
        ReceivedAdvert {
            src: c.src,
            priority: c.advert.priority,
            interval: c.advert.interval.as_duration(),
        }
    }
}

/// What happens to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Leave INIT (daemon start, or instance added by a reload).
    Start,
    /// A deadline from [`Instance::next_deadline`] may have passed.
    Timer,
    /// An advert that passed [`rx::check`] (use [`Instance::handle_packet`]
    /// to run the checks and this in one call).
    Advert(ReceivedAdvert),
    /// A configured tracker (by [`crate::TrackerConfig::name`]) is up or down.
    TrackerChanged {
        /// Tracker name.
        name: String,
        /// Whether it is up (script exit 0, interface up, file value OK…).
        up: bool,
    },
    /// A value tracker (keepalived's `track_file`) read a new integer: a weighted one adds
    /// value x weight (negated with `reverse`; below -253 means FAULT), an unweighted one
    /// means FAULT while the value is not 0.
    TrackerValue {
        /// Tracker name.
        name: String,
        /// The integer read.
        value: i64,
    },
    /// The instance's own interface went up or down.
    LinkState {
        /// Link state.
        up: bool,
    },
    /// Whether adverts can be sent at all (e.g. false while the IPv6
    /// link-local source is tentative). While false the instance is in FAULT:
    /// it never claims MASTER while it cannot advertise.
    SendReady(bool),
    /// Drain on (true): a MASTER hands over with a priority-0 advert and the
    /// instance stays BACKUP, without FAULT, until drain is turned off.
    Maintenance(bool),
    /// Stop: a MASTER sends priority 0 and removes its VIPs.
    Shutdown,
}

/// Why gratuitous ARPs / unsolicited NAs are sent (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarpCause {
    /// The burst on becoming MASTER.
    BecameMaster,
    /// The second burst `garp_master_delay` after becoming MASTER.
    MasterDelay,
    /// Periodic refresh (`garp_master_refresh`).
    Refresh,
    /// A MASTER saw a lower-priority advert (`garp_lower_prio_repeat`).
    LowerPriority,
    /// The delayed burst after a lower-priority advert (`garp_lower_prio_delay`).
    LowerPriorityDelay,
}

/// What the I/O shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this advert to the multicast group or to every unicast peer.
    SendAdvert(Advert),
    /// Add the VIPs (and excluded VIPs, routes, rules) to the system.
    AddVips {
        /// Advertised VIPs.
        vips: Vec<Vip>,
        /// `virtual_ipaddress_excluded`.
        excluded: Vec<Vip>,
    },
    /// Remove them.
    RemoveVips {
        /// Advertised VIPs.
        vips: Vec<Vip>,
        /// `virtual_ipaddress_excluded`.
        excluded: Vec<Vip>,
    },
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each
    /// VIP, paced by the daemon's `vrrp_garp_interval`.
    SendGratuitous {
        /// The addresses to announce.
        vips: Vec<Vip>,
        /// Messages per address.
        count: u32,
        /// Why.
        cause: GarpCause,
    },
    /// Unicast instance leaving FAULT: announce our own source address so
    /// the master relearns us (keepalived sends a GARP for it).
    AnnounceSource,
    /// State changed; `reason` is the human-readable cause for logs, notify
    /// scripts and mail.
    Transition {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: String,
    },
    /// Effective priority changed (`notify_priority_changes`).
    PriorityChanged {
        /// Before.
        old: u8,
        /// After.
        new: u8,
    },
    /// A MASTER saw a lower-priority advert (`notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        /// Sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
}

#[derive(Debug, Clone)]
struct Tracker {
    name: String,
    weight: i32,
    reverse: bool,
    up: Option<bool>,
    /// For value trackers (`track_file`): the integer last read; the adjustment is then
    /// value x weight instead of the up/down rule.
    value: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MasterInfo {
    addr: IpAddr,
    priority: u8,
    /// The highest priority this master advertised while followed. A master advertising
    /// below its peak and below us has degraded (fast preempt applies), even when we were
    /// not able to preempt at the moment it dropped (our own priority was low then).
    peak: u8,
}

impl MasterInfo {
    /// The master after `adv` from it: the same master keeps its peak.
    fn after(previous: Option<MasterInfo>, adv: &ReceivedAdvert) -> MasterInfo {
        let peak = previous
            .filter(|m| m.addr == adv.src)
            .map_or(adv.priority, |m| m.peak.max(adv.priority));
        MasterInfo {
            addr: adv.src,
            priority: adv.priority,
            peak,
        }
    }
}

/// One VRRP instance. See the crate documentation for how to drive it.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    counters: RxCounters,
    state: State,
    started: bool,
    trackers: Vec<Tracker>,
    link_up: bool,
    send_ready: bool,
    maintenance: bool,
    owner_backoff: bool,
    group_fault: Option<String>,
    in_group: bool,
    wants_master: Option<String>,
    effective: u8,
    advertised: u8,
    dip_since: Option<Duration>,
    priority_changed_at: Option<Duration>,
    master_adver_interval: Duration,
    master: Option<MasterInfo>,
    advert_at: Option<Duration>,
    master_down_at: Option<Duration>,
    preempt_until: Option<Duration>,
    fast_preempt_at: Option<Duration>,
    /// While BACKUP after yielding: when the VIPs still held are removed (`release_delay`).
    release_at: Option<Duration>,
    garp_delay_at: Option<Duration>,
    garp_refresh_at: Option<Duration>,
    lower_prio_garp_at: Option<Duration>,
    last_forced_advert: Option<Duration>,
}

impl Instance {
    /// Create an instance in INIT. Fails if the configuration is invalid.
    pub fn new(cfg: InstanceConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let trackers = cfg
            .trackers
            .iter()
            .map(|t| Tracker {
                name: t.name.clone(),
                weight: t.weight,
                reverse: t.reverse,
                up: None,
                value: None,
            })
            .collect();
        let own = cfg.wire_interval().as_duration();
        let mut inst = Instance {
            counters: RxCounters::default(),
            state: State::Init,
            started: false,
            trackers,
            link_up: true,
            send_ready: true,
            maintenance: false,
            owner_backoff: false,
            group_fault: None,
            in_group: false,
            wants_master: None,
            effective: cfg.priority,
            advertised: cfg.priority,
            dip_since: None,
            priority_changed_at: None,
            master_adver_interval: own,
            master: None,
            advert_at: None,
            master_down_at: None,
            preempt_until: None,
            fast_preempt_at: None,
            release_at: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            lower_prio_garp_at: None,
            last_forced_advert: None,
            cfg,
        };
        inst.effective = inst.compute_priority();
        inst.advertised = inst.effective;
        Ok(inst)
    }

    /// The configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority (base + trackers, clamped to 1..=254; 255 for an
    /// owner unless backed off to 254 by the two-owner rule).
    pub fn effective_priority(&self) -> u8 {
        self.effective
    }

    /// Priority in this instance's adverts (differs from the effective one
    /// only while a dip is held back by `hold_time`).
    pub fn advertised_priority(&self) -> u8 {
        self.advertised
    }

    /// Address and priority of the master a BACKUP follows, if known.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master.map(|m| (m.addr, m.priority))
    }

    /// Master_Adver_Interval in use (a v3 BACKUP adopts the master's).
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// Whether drain (maintenance) is on.
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }

    /// Receive counters by reason.
    pub fn counters(&self) -> &RxCounters {
        &self.counters
    }

    /// Current Master_Down_Interval for this instance.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.cfg.version,
            self.effective,
            self.master_adver_interval,
            self.cfg.down_timer_adverts,
        )
    }

    /// The earliest time at which [`Event::Timer`] has work to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        let candidates: &[Option<Duration>] = match self.state {
            State::Master => &[
                self.advert_at,
                self.dip_since.map(|t| t + self.cfg.fast_failover.hold_time),
                self.garp_delay_at,
                self.garp_refresh_at,
                self.lower_prio_garp_at,
            ],
            State::Backup => &[self.master_down_at, self.fast_preempt_at, self.release_at],
            _ => &[],
        };
        candidates.iter().flatten().copied().min()
    }

    /// The advert this instance sends with `priority`.
    pub fn build_advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval: self.cfg.wire_interval(),
            auth: match self.cfg.version {
                Version::V2 => self.cfg.auth,
                Version::V3 => Auth::None,
            },
            addresses: self.cfg.vips.iter().map(|v| v.addr).collect(),
        }
    }

    /// Run the receive checks on a packet for this instance, count the
    /// result, and act on it if valid. An invalid packet changes nothing
    /// but its counter.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        pkt: &RxPacket<'_>,
    ) -> Result<Vec<Action>, RxError> {
        let current = self.master.map(|m| m.addr);
        match rx::check(&self.cfg, pkt, self.effective, current) {
            Ok(checked) => {
                self.counters.record_accept(checked.warnings);
                Ok(self.handle(now, Event::Advert(ReceivedAdvert::from(&checked))))
            }
            Err(e) => {
                self.counters.record_drop(e);
                Err(e)
            }
        }
    }

    /// Count a packet dropped before it could be matched to an instance
    /// (the daemon's per-interface counters may prefer this).
    pub fn record_drop(&mut self, e: RxError) {
        self.counters.record_drop(e);
    }

    /// Handle one event at time `now`; returns the actions to carry out in order.
    pub fn handle(&mut self, now: Duration, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Stopped {
            return out;
        }
        match event {
            Event::Start => self.on_start(now, &mut out),
            Event::Timer => self.on_timer(now, &mut out),
            Event::Advert(adv) => self.on_advert(now, adv, &mut out),
            Event::TrackerChanged { name, up } => {
                for t in self.trackers.iter_mut().filter(|t| t.name == name) {
                    t.up = Some(up);
                }
                self.reevaluate(now, &mut out);
            }
            Event::TrackerValue { name, value } => {
                for t in self.trackers.iter_mut().filter(|t| t.name == name) {
                    t.value = Some(value);
                    t.up = Some(if t.weight == 0 {
                        value == 0
                    } else {
                        value_adjustment(t.weight, t.reverse, value) >= -253
                    });
                }
                self.reevaluate(now, &mut out);
            }
            Event::LinkState { up } => {
                self.link_up = up;
                self.reevaluate(now, &mut out);
            }
            Event::SendReady(ready) => {
                self.send_ready = ready;
                self.reevaluate(now, &mut out);
            }
            Event::Maintenance(on) => self.on_maintenance(now, on, &mut out),
            Event::Shutdown => self.on_shutdown(&mut out),
        }
        out
    }

    // ----- priority and faults -------------------------------------------

    fn compute_priority(&self) -> u8 {
        if self.cfg.is_owner() {
            return if self.owner_backoff { 254 } else { 255 };
        }
        let adjust: i32 = self
            .trackers
            .iter()
            .filter(|t| t.weight != 0)
            .map(|t| {
                if let Some(value) = t.value {
                    return value_adjustment(t.weight, t.reverse, value).clamp(-254, 254) as i32;
                }
                // keepalived 2.2.7 (observed in SIGUSR1 dumps): a positive weight applies while
                // the tracker is up, a negative one while it is down; `reverse` negates the
                // amount and keeps that condition (weight 10 reverse, up: -10).
                let applies = match t.up {
                    Some(up) => up == (t.weight > 0),
                    None => false,
                };
                match (applies, t.reverse) {
                    (false, _) => 0,
                    (true, false) => t.weight,
                    (true, true) => -t.weight,
                }
            })
            .sum();
        (i32::from(self.cfg.priority) + adjust).clamp(1, 254) as u8
    }

    /// Why our priority is below its best, for transition reasons (mails, notify, logs):
    /// `"; own priority lowered by chk_elb down"`, or empty when no tracker costs us.
    fn lowered_by(&self) -> String {
        let costly: Vec<String> = self
            .trackers
            .iter()
            .filter(|t| t.weight != 0)
            .filter_map(|t| match (t.up, t.reverse) {
                (Some(false), false) => Some(format!("{} down", t.name)),
                (Some(true), true) if t.weight > 0 => Some(format!("{} up (reverse)", t.name)),
                _ => None,
            })
            .collect();
        if costly.is_empty() {
            String::new()
        } else {
            format!("; own priority lowered by {}", costly.join(", "))
        }
    }

    /// The fault condition of this instance alone (not the sync group's).
    pub fn own_fault(&self) -> Option<String> {
        if !self.link_up && !self.cfg.dont_track_primary {
            return Some("interface down".into());
        }
        if !self.send_ready {
            return Some("cannot send adverts (source address not usable)".into());
        }
        self.trackers
            .iter()
            .find(|t| {
                if t.value.is_some() {
                    // Value trackers: `up` already says whether the value forces FAULT.
                    t.up == Some(false)
                } else {
                    t.weight == 0 && t.up.is_some_and(|u| u == t.reverse)
                }
            })
            .map(|t| {
                format!(
                    "tracker {} {}",
                    t.name,
                    if t.reverse { "up (reverse)" } else { "down" }
                )
            })
    }

    fn fault_reason(&self) -> Option<String> {
        self.own_fault().or_else(|| self.group_fault.clone())
    }

    fn trackers_pending(&self) -> bool {
        self.trackers
            .iter()
            .any(|t| t.weight == 0 && t.up.is_none())
    }

    fn reevaluate(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.state == State::Stopped {
            return;
        }
        if !self.started {
            self.effective = self.compute_priority();
            self.advertised = self.effective;
            return;
        }
        if self.state == State::Init {
            self.effective = self.compute_priority();
            self.advertised = self.effective;
            self.leave_init(now, out);
            return;
        }
        // In FAULT the priority is bookkeeping only, so settle it first and
        // leave FAULT with the new value; otherwise move state first so a
        // priority change is never advertised by an instance going to FAULT.
        match (self.state, self.fault_reason()) {
            (State::Fault, None) => {
                self.update_priority(now, out);
                self.leave_fault(now, out);
            }
            (State::Fault, Some(_)) => self.update_priority(now, out),
            (_, Some(reason)) => {
                self.enter_fault(reason, out);
                self.update_priority(now, out);
            }
            _ => self.update_priority(now, out),
        }
    }

    fn update_priority(&mut self, now: Duration, out: &mut Vec<Action>) {
        let new = self.compute_priority();
        let old = self.effective;
        if new == old {
            return;
        }
        self.effective = new;
        self.priority_changed_at = Some(now);
        out.push(Action::PriorityChanged { old, new });
        match self.state {
            State::Backup => {
                if let Some(at) = self.master_down_at {
                    let v = self.cfg.version;
                    let i = self.master_adver_interval;
                    let shifted = at + timers::skew_time(v, new, i);
                    self.master_down_at =
                        Some(shifted.saturating_sub(timers::skew_time(v, old, i)));
                }
                if self.master.is_some_and(|m| m.priority >= new) {
                    self.fast_preempt_at = None;
                }
                self.fast_preempt_on_rise(now, out);
            }
            State::Master => {
                let hold = self.cfg.fast_failover.hold_time;
                if new < self.advertised && !hold.is_zero() {
                    self.dip_since.get_or_insert(now);
                } else {
                    self.dip_since = None;
                    self.publish_priority(now, out);
                }
            }
            _ => self.advertised = new,
        }
    }

    /// A BACKUP whose own priority rose above that of a master that has degraded (it
    /// advertises below its peak; we could not preempt when it dropped because we were low
    /// ourselves) takes over now instead of at the master's next advert plus
    /// Master_Down_Interval. Same conditions as fast preempt on a received advert.
    fn fast_preempt_on_rise(&mut self, now: Duration, out: &mut Vec<Action>) {
        let ff = self.cfg.fast_failover;
        let own = self.effective;
        let Some(m) = self.master else { return };
        let degraded = m.priority < own && m.peak >= own;
        let may = ff.fast_preempt
            && self.cfg.preempt
            && self.cfg.preempt_delay.is_zero()
            && !self.maintenance
            && self.steady(now)
            && self.fast_preempt_at.is_none();
        if !(degraded && may) {
            return;
        }
        if ff.fast_preempt_delay.is_zero() {
            let reason = format!(
                "fast preempt: our priority {own} rose above master {} (priority {}, was {})",
                m.addr, m.priority, m.peak
            );
            self.want_master(now, reason, out);
        } else {
            self.fast_preempt_at = Some(now + ff.fast_preempt_delay);
        }
    }

    /// Make the effective priority the advertised one (MASTER), with an
    /// immediate advert if configured.
    fn publish_priority(&mut self, _now: Duration, out: &mut Vec<Action>) {
        if self.advertised == self.effective {
            return;
        }
        self.advertised = self.effective;
        if self.cfg.fast_failover.immediate_advert_on_priority_change {
            out.push(Action::SendAdvert(self.build_advert(self.advertised)));
        }
    }

    fn steady(&self, now: Duration) -> bool {
        let hold = self.cfg.fast_failover.hold_time;
        hold.is_zero()
            || self
                .priority_changed_at
                .is_none_or(|t| now.saturating_sub(t) >= hold)
    }

    // ----- transitions ----------------------------------------------------

    fn transition(&mut self, to: State, reason: String, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        out.push(Action::Transition { from, to, reason });
    }

    fn clear_timers(&mut self) {
        self.advert_at = None;
        self.master_down_at = None;
        self.fast_preempt_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.lower_prio_garp_at = None;
        self.dip_since = None;
        self.wants_master = None;
    }

    fn vips_action(&self, add: bool) -> Action {
        let vips = self.cfg.vips.clone();
        let excluded = self.cfg.excluded_vips.clone();
        if add {
            Action::AddVips { vips, excluded }
        } else {
            Action::RemoveVips { vips, excluded }
        }
    }

    fn gratuitous(&self, count: u32, cause: GarpCause) -> Option<Action> {
        let vips: Vec<Vip> = self
            .cfg
            .vips
            .iter()
            .chain(self.cfg.excluded_vips.iter())
            .copied()
            .collect();
        (count > 0 && !vips.is_empty()).then_some(Action::SendGratuitous { vips, count, cause })
    }

    fn own_interval(&self) -> Duration {
        self.cfg.wire_interval().as_duration()
    }

    fn leave_init(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.trackers_pending() {
            return;
        }
        if let Some(reason) = self.fault_reason() {
            self.enter_fault(format!("init: {reason}"), out);
        } else if self.cfg.initial_state == InitialState::Master && self.cfg.is_owner() {
            self.become_master(
                now,
                "init: address owner (priority 255) with state MASTER".into(),
                out,
            );
        } else {
            self.enter_backup(now, "init".into(), out);
        }
    }

    fn become_master(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
        self.clear_timers();
        // Still holding the VIPs from before (release delay): AddVips below keeps them.
        self.release_at = None;
        if self.owner_backoff {
            self.owner_backoff = false;
            let old = self.effective;
            self.effective = self.compute_priority();
            out.push(Action::PriorityChanged {
                old,
                new: self.effective,
            });
        }
        self.master = None;
        self.preempt_until = None;
        self.master_adver_interval = self.own_interval();
        self.advertised = self.effective;
        let advert = Action::SendAdvert(self.build_advert(self.advertised));
        let announce = self.gratuitous(self.cfg.garp.master_repeat, GarpCause::BecameMaster);
        if self.cfg.fast_failover.fast_preempt {
            // Make before break: clients learn our MAC before the old master, on hearing our
            // advert, drops the addresses, so a request sent during the hand-over is not sent
            // to a host that no longer owns the VIP. (keepalived: advert first.)
            out.push(self.vips_action(true));
            out.extend(announce);
            out.push(advert);
        } else {
            // keepalived's order: the advert first, so the old master lets go at once.
            out.push(advert);
            out.push(self.vips_action(true));
            out.extend(announce);
        }
        let g = self.cfg.garp;
        self.garp_delay_at = (!g.master_delay.is_zero()).then(|| now + g.master_delay);
        self.garp_refresh_at = g.master_refresh.filter(|r| !r.is_zero()).map(|r| now + r);
        self.advert_at = Some(now + self.master_adver_interval);
        self.transition(State::Master, reason, out);
    }

    fn enter_backup(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.clear_timers();
        if was_master {
            let delay = self.cfg.fast_failover.release_delay;
            if delay.is_zero() {
                out.push(self.vips_action(false));
            } else {
                self.release_at = Some(now + delay);
            }
            self.advertised = self.effective;
        }
        if self.master.is_none() {
            self.master_adver_interval = self.own_interval();
        }
        self.master_down_at = Some(now + self.master_down_interval());
        self.transition(State::Backup, reason, out);
    }

    /// Removes VIPs still held after yielding (release delay), at once.
    fn release_now(&mut self, out: &mut Vec<Action>) {
        if self.release_at.take().is_some() {
            out.push(self.vips_action(false));
        }
    }

    fn enter_fault(&mut self, reason: String, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert(self.build_advert(0)));
            out.push(self.vips_action(false));
        }
        self.release_now(out);
        self.clear_timers();
        self.master = None;
        self.transition(State::Fault, reason, out);
    }

    fn leave_fault(&mut self, now: Duration, out: &mut Vec<Action>) {
        self.master = None;
        self.advertised = self.effective;
        if self.cfg.initial_state == InitialState::Master && self.cfg.is_owner() {
            self.become_master(now, "fault cleared (address owner)".into(), out);
        } else {
            self.enter_backup(now, "fault cleared".into(), out);
        }
        if self.cfg.is_unicast() {
            out.push(Action::AnnounceSource);
        }
    }

    /// The master-down timer fired or fast preemption is due: become MASTER,
    /// or, inside a sync group, say so and let the group decide.
    fn want_master(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
        if self.in_group {
            self.master_down_at = None;
            self.fast_preempt_at = None;
            self.wants_master = Some(reason);
        } else {
            self.become_master(now, reason, out);
        }
    }

    // ----- event handlers -------------------------------------------------

    fn on_start(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.started {
            return;
        }
        self.started = true;
        let d = self.cfg.preempt_delay;
        self.preempt_until = (!d.is_zero()).then(|| now + d);
        self.effective = self.compute_priority();
        self.advertised = self.effective;
        self.leave_init(now, out);
    }

    fn on_timer(&mut self, now: Duration, out: &mut Vec<Action>) {
        match self.state {
            State::Master => self.master_timers(now, out),
            State::Backup => self.backup_timers(now, out),
            _ => {}
        }
    }

    fn master_timers(&mut self, now: Duration, out: &mut Vec<Action>) {
        let hold = self.cfg.fast_failover.hold_time;
        if self.dip_since.is_some_and(|t| t + hold <= now) {
            self.dip_since = None;
            self.publish_priority(now, out);
        }
        if let Some(at) = self.advert_at.filter(|at| *at <= now) {
            out.push(Action::SendAdvert(self.build_advert(self.advertised)));
            let next = at + self.master_adver_interval;
            self.advert_at = Some(if next <= now {
                now + self.master_adver_interval
            } else {
                next
            });
        }
        if self.garp_delay_at.is_some_and(|t| t <= now) {
            self.garp_delay_at = None;
            out.extend(self.gratuitous(self.cfg.garp.master_repeat, GarpCause::MasterDelay));
        }
        if let Some(t) = self.garp_refresh_at.filter(|t| *t <= now) {
            let period = self
                .cfg
                .garp
                .master_refresh
                .unwrap_or(Duration::from_secs(1));
            let next = t + period;
            self.garp_refresh_at = Some(if next <= now { now + period } else { next });
            out.extend(self.gratuitous(self.cfg.garp.master_refresh_repeat, GarpCause::Refresh));
        }
        if self.lower_prio_garp_at.is_some_and(|t| t <= now) {
            self.lower_prio_garp_at = None;
            out.extend(self.gratuitous(
                self.cfg.garp.lower_prio_repeat,
                GarpCause::LowerPriorityDelay,
            ));
        }
    }

    fn backup_timers(&mut self, now: Duration, out: &mut Vec<Action>) {
        if self.release_at.is_some_and(|t| t <= now) {
            self.release_now(out);
        }
        if self.fast_preempt_at.is_some_and(|t| t <= now) {
            self.fast_preempt_at = None;
            let reason = match self.master {
                Some(m) => format!(
                    "fast preempt: master {} advertised a priority below ours ({})",
                    m.addr, self.effective
                ),
                None => "fast preempt".into(),
            };
            self.want_master(now, reason, out);
            return;
        }
        if self.master_down_at.is_some_and(|t| t <= now) {
            if self.maintenance {
                self.master_down_at = Some(now + self.master_down_interval());
                return;
            }
            let reason = format!(
                "master down timer expired (no higher-priority advert for {:?})",
                self.master_down_interval()
            );
            self.want_master(now, reason, out);
        }
    }

    fn on_advert(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.src == self.cfg.primary_address {
            // Our own advert looped back (or a forged one with our address):
            // keepalived warns and ignores it.
            return;
        }
        match self.state {
            State::Backup => self.backup_rx(now, adv, out),
            State::Master => self.master_rx(now, adv, out),
            _ => {}
        }
    }

    fn backup_rx(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            // The master is leaving: take over after Skew_Time only.
            let skew =
                timers::skew_time(self.cfg.version, self.effective, self.master_adver_interval);
            self.master_down_at = Some(now + skew);
            self.fast_preempt_at = None;
            self.wants_master = None;
            return;
        }
        let own = self.effective;
        let lower = adv.priority < own;
        let d = self.cfg.preempt_delay;
        if lower && self.cfg.preempt && !d.is_zero() && self.preempt_until.is_none() {
            self.preempt_until = Some(now + d);
        }
        let delay_pending = self.preempt_until.is_some_and(|t| now < t);
        let may_preempt =
            self.cfg.preempt && !delay_pending && !self.maintenance && self.steady(now);
        if !lower || !may_preempt {
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = adv.interval;
            }
            self.master = Some(MasterInfo::after(self.master, &adv));
            if !lower {
                self.fast_preempt_at = None;
                self.preempt_until = None;
            }
            self.wants_master = None;
            self.master_down_at = Some(now + self.master_down_interval());
            return;
        }
        // Preemptive and the advert is lower: discard it, so the down timer
        // runs out (keepalived: "received lower priority advert, discarding").
        let ff = self.cfg.fast_failover;
        let degraded_master = self
            .master
            .is_some_and(|m| m.addr == adv.src && m.peak >= own);
        if !(ff.fast_preempt && d.is_zero()) {
            return;
        }
        if ff.fast_preempt_delay.is_zero() {
            if degraded_master && self.fast_preempt_at.is_none() {
                let reason = format!(
                    "fast preempt: master {} advertised priority {} below ours ({own})",
                    adv.src, adv.priority
                );
                self.want_master(now, reason, out);
            }
            return;
        }
        let following = self.master.is_some_and(|m| m.addr == adv.src);
        if !(degraded_master || self.fast_preempt_at.is_some() && following) {
            return;
        }
        // The delay is the backup's anti-flap hold: a master that still advertises is alive,
        // only lower, so while the delay runs it is followed (Master_Down_Interval restarted)
        // and a dip shorter than the delay moves nothing, however long Master_Down_Interval
        // is. A keepalived master advertises its dips at once; this is where they are damped.
        let at = *self
            .fast_preempt_at
            .get_or_insert(now + ff.fast_preempt_delay);
        if now < at {
            self.master_down_at = Some(now + self.master_down_interval());
        }
    }

    fn master_rx(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            // Another master released: assert ourselves at once.
            out.push(Action::SendAdvert(self.build_advert(self.advertised)));
            return;
        }
        let ours = (self.advertised, self.cfg.primary_address);
        if (adv.priority, adv.src) < ours {
            // Lower: stay MASTER and, unless told not to, force a new election.
            // Rate-limited to one answer per interval so a stream of valid
            // lower adverts cannot make us flood the segment.
            let interval = self.master_adver_interval;
            let may_answer = self
                .last_forced_advert
                .is_none_or(|t| now.saturating_sub(t) >= interval);
            if may_answer {
                self.last_forced_advert = Some(now);
                if !self.cfg.effective_lower_prio_no_advert() {
                    out.push(Action::SendAdvert(self.build_advert(self.advertised)));
                }
                out.extend(
                    self.gratuitous(self.cfg.garp.lower_prio_repeat, GarpCause::LowerPriority),
                );
                let d = self.cfg.garp.lower_prio_delay;
                if !d.is_zero() && self.lower_prio_garp_at.is_none() {
                    self.lower_prio_garp_at = Some(now + d);
                }
            }
            out.push(Action::MasterRxLowerPriority {
                from: adv.src,
                priority: adv.priority,
            });
            return;
        }
        // Higher (or equal from a higher address): yield.
        if self.cfg.higher_prio_send_advert {
            out.push(Action::SendAdvert(self.build_advert(self.advertised)));
        }
        let reason = if adv.priority == ours.0 {
            format!(
                "equal priority {} advert from higher address {}",
                adv.priority, adv.src
            )
        } else {
            format!(
                "higher priority advert from {} ({} > {}){}",
                adv.src,
                adv.priority,
                ours.0,
                self.lowered_by()
            )
        };
        self.master = Some(MasterInfo::after(None, &adv));
        if self.cfg.version == Version::V3 {
            self.master_adver_interval = adv.interval;
        }
        self.enter_backup(now, reason, out);
        if self.cfg.is_owner() && adv.priority == 255 {
            // Two address owners: the lower address backs off to 254 until
            // the other disappears.
            self.owner_backoff = true;
            self.update_priority(now, out);
        }
    }

    fn on_maintenance(&mut self, now: Duration, on: bool, out: &mut Vec<Action>) {
        if self.maintenance == on {
            return;
        }
        self.maintenance = on;
        if on {
            match self.state {
                State::Master => {
                    out.push(Action::SendAdvert(self.build_advert(0)));
                    self.enter_backup(now, "maintenance: handing mastership over".into(), out);
                }
                State::Backup => {
                    self.fast_preempt_at = None;
                    if self.wants_master.take().is_some() {
                        self.master_down_at = Some(now + self.master_down_interval());
                    }
                }
                _ => {}
            }
        } else if self.state == State::Backup {
            self.master_down_at = Some(now + self.master_down_interval());
        }
    }

    fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert(self.build_advert(0)));
            out.push(self.vips_action(false));
        }
        self.release_now(out);
        self.clear_timers();
        self.transition(State::Stopped, "shutdown".into(), out);
    }

    // ----- reload -----------------------------------------------------------

    /// Apply a reloaded configuration without leaving the current state, so
    /// an unchanged or lightly changed instance does not flap (no VIP blip).
    ///
    /// Tracker states carry over by name; a MASTER removes VIPs that are no
    /// longer configured and adds (and announces) new ones; a priority
    /// change takes effect as a tracker change would. Fails with
    /// [`ConfigError::Incompatible`] if VRID, version or family changed (the
    /// daemon then stops the old instance and starts a new one).
    pub fn reconfigure(
        &mut self,
        now: Duration,
        cfg: InstanceConfig,
    ) -> Result<Vec<Action>, ConfigError> {
        cfg.validate()?;
        if cfg.vrid != self.cfg.vrid
            || cfg.version != self.cfg.version
            || cfg.family != self.cfg.family
        {
            return Err(ConfigError::Incompatible);
        }
        let mut out = Vec::new();
        let trackers = cfg
            .trackers
            .iter()
            .map(|t| Tracker {
                name: t.name.clone(),
                weight: t.weight,
                reverse: t.reverse,
                up: self
                    .trackers
                    .iter()
                    .find(|o| o.name == t.name)
                    .and_then(|o| o.up),
                value: self
                    .trackers
                    .iter()
                    .find(|o| o.name == t.name)
                    .and_then(|o| o.value),
            })
            .collect();
        if self.state == State::Master {
            let gone = |old: &[Vip], new: &[Vip]| -> Vec<Vip> {
                old.iter().filter(|v| !new.contains(v)).copied().collect()
            };
            let removed = gone(&self.cfg.vips, &cfg.vips);
            let removed_ex = gone(&self.cfg.excluded_vips, &cfg.excluded_vips);
            let added = gone(&cfg.vips, &self.cfg.vips);
            let added_ex = gone(&cfg.excluded_vips, &self.cfg.excluded_vips);
            if !removed.is_empty() || !removed_ex.is_empty() {
                out.push(Action::RemoveVips {
                    vips: removed,
                    excluded: removed_ex,
                });
            }
            if !added.is_empty() || !added_ex.is_empty() {
                let announce: Vec<Vip> = added.iter().chain(added_ex.iter()).copied().collect();
                out.push(Action::AddVips {
                    vips: added,
                    excluded: added_ex,
                });
                out.push(Action::SendGratuitous {
                    vips: announce,
                    count: cfg.garp.master_repeat.max(1),
                    cause: GarpCause::BecameMaster,
                });
            }
        }
        let interval_changed = cfg.wire_interval() != self.cfg.wire_interval();
        self.trackers = trackers;
        self.cfg = cfg;
        if !self.cfg.is_owner() {
            self.owner_backoff = false;
        }
        if interval_changed && self.state == State::Master {
            self.master_adver_interval = self.own_interval();
            self.advert_at = Some(now + self.master_adver_interval);
        }
        self.reevaluate(now, &mut out);
        Ok(out)
    }

    // ----- sync-group hooks (used by crate::SyncGroup) ---------------------

    pub(crate) fn set_in_group(&mut self, in_group: bool) {
        self.in_group = in_group;
    }

    /// Whether this member's timer ran out and it waits for its group.
    pub fn wants_master(&self) -> bool {
        self.wants_master.is_some()
    }

    pub(crate) fn group_promote(&mut self, now: Duration, group: &str, out: &mut Vec<Action>) {
        if let Some(reason) = self.wants_master.take() {
            self.become_master(now, format!("{reason} (sync group {group})"), out);
        }
    }

    pub(crate) fn group_force_backup(
        &mut self,
        now: Duration,
        reason: String,
        out: &mut Vec<Action>,
    ) {
        if self.state == State::Master {
            self.enter_backup(now, reason, out);
        }
    }

    pub(crate) fn set_group_fault(
        &mut self,
        now: Duration,
        fault: Option<String>,
        out: &mut Vec<Action>,
    ) {
        if self.group_fault == fault {
            return;
        }
        self.group_fault = fault;
        if self.started && self.state != State::Init {
            self.reevaluate(now, out);
        }
    }
}

/// keepalived's `track_file` adjustment: value x weight, negated by `reverse`.
fn value_adjustment(weight: i32, reverse: bool, value: i64) -> i64 {
    let adj = value.saturating_mul(i64::from(weight));
    if reverse { adj.saturating_neg() } else { adj }
}
