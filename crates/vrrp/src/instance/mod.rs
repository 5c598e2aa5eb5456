//! One VRRP instance: INIT / BACKUP / MASTER / FAULT, driven by events and
//! time, emitting actions (reference c.3–c.8, RFC 3768 §6, RFC 5798 §6).
//!
//! The instance never reads a clock: every call carries `now`, a
//! [`Duration`] since an epoch of the caller's choosing (the daemon uses a
//! monotonic start instant, the simulator a virtual clock). After each call
//! the caller asks [`Instance::next_deadline`] and delivers
//! [`Event::Timer`] when it is reached. Only the instance's own deadlines and
//! *valid* adverts move its timers, so a hostile segment cannot.

mod events;
mod handlers;
mod priority;
mod transitions;

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{ConfigError, InitialState, InstanceConfig, Vip};
use crate::packet::{Advert, Auth, Version};
use crate::rx::{self, RxCounters, RxError, RxPacket};
use crate::timers;

pub use events::{Action, Event, GarpCause, ReceivedAdvert, State};
use priority::value_adjustment;

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

/// A master-down deadline cut to Skew_Time (a priority-0 advert, a deleted VIP).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SkewWait {
    /// The deadline it set; once `master_down_at` is another, the cause is stale.
    at: Duration,
    /// The wait, Skew_Time.
    wait: Duration,
    /// What cut it short, for the log ("a priority-0 advert").
    after: String,
    /// We handed over ourselves (a deleted VIP) and mean to take over again.
    retake: bool,
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
    /// An old-style unicast checksum was accepted (keepalived logs this once).
    old_checksum_seen: bool,
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
    /// Why `master_down_at` is only a Skew_Time away, while it is: the log line of the
    /// takeover then names the wait it really was, not Master_Down_Interval.
    skew_wait: Option<SkewWait>,
    preempt_until: Option<Duration>,
    fast_preempt_at: Option<Duration>,
    /// While BACKUP after yielding: when the VIPs still held are removed (`release_delay`).
    release_at: Option<Duration>,
    garp_delay_at: Option<Duration>,
    garp_refresh_at: Option<Duration>,
    lower_prio_garp_at: Option<Duration>,
    last_forced_advert: Option<Duration>,
    /// keepalived's one AH sequence counter per instance: the last number sent or accepted.
    /// Each advert sent takes the next; a received one must be above it and raises it.
    ah_seq: u32,
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
            old_checksum_seen: false,
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
            skew_wait: None,
            preempt_until: None,
            fast_preempt_at: None,
            release_at: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            lower_prio_garp_at: None,
            last_forced_advert: None,
            ah_seq: 0,
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

    /// The AH sequence counter: the number of the last advert sent or accepted (0 before
    /// any; always 0 without `auth_type AH`).
    pub fn ah_seq(&self) -> u32 {
        self.ah_seq
    }

    /// Receive counters by reason.
    pub fn counters(&self) -> &RxCounters {
        &self.counters
    }

    /// Whether an advert with the old unicast checksum has been accepted: keepalived 2.2.7
    /// says "Setting unicast VRRPv3 checksum to old version" the first time.
    pub fn old_checksum_seen(&self) -> bool {
        self.old_checksum_seen
    }

    /// Receive counters back to zero (keepalived's STATS_CLEAR signal).
    pub fn clear_counters(&mut self) {
        self.counters = RxCounters::default();
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
                if let Err(e) = self.accept_ah_seq(&checked) {
                    self.counters.record_drop(e);
                    return Err(e);
                }
                self.counters.record_accept(checked.warnings);
                if checked.warnings.contains(rx::RxWarning::OldUnicastChecksum) {
                    self.old_checksum_seen = true;
                }
                Ok(self.handle(now, Event::Advert(ReceivedAdvert::from(&checked))))
            }
            Err(e) => {
                self.counters.record_drop(e);
                Err(e)
            }
        }
    }

    /// keepalived's anti-replay: an AH sequence number not above the counter is dropped, a
    /// higher one becomes the counter. A MASTER hearing a lower-priority advert jumps one past
    /// it ("Syncing seq_num"), so its answer is above anything that peer has sent.
    fn accept_ah_seq(&mut self, c: &rx::CheckedAdvert) -> Result<(), RxError> {
        let Some(seq) = c.ah_seq else {
            return Ok(());
        };
        if c.src == self.cfg.primary_address {
            return Ok(()); // our own, looped back: ignored by the state machine too
        }
        if seq <= self.ah_seq {
            return Err(RxError::AhReplay);
        }
        self.ah_seq = seq;
        let p = c.advert.priority;
        let lower = p != 0 && (p, c.src) < (self.advertised, self.cfg.primary_address);
        if self.state == State::Master && lower {
            self.ah_seq = seq.saturating_add(1);
        }
        Ok(())
    }

    /// The advert to send with `priority`; under AH it takes the next sequence number.
    fn outgoing(&mut self, priority: u8) -> Action {
        let mut adv = self.build_advert(priority);
        if let Auth::Ah { seq, .. } = &mut adv.auth {
            self.ah_seq = self.ah_seq.saturating_add(1);
            *seq = self.ah_seq;
        }
        Action::SendAdvert(adv)
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
        self.on_stall(now, &mut out);
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
            Event::VipDeleted(addr) => self.on_vip_deleted(now, addr, &mut out),
            Event::Shutdown => self.on_shutdown(&mut out),
        }
        out
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

    /// BACKUP only for a moment: it handed over itself (a deleted VIP, or a sync group
    /// member's) and takes over again at its Skew_Time unless a better router answers.
    /// keepalived 2.2.7 sends no `GROUP ... BACKUP` notify for a group that does this.
    pub fn retaking(&self) -> bool {
        self.state == State::Backup
            && (self.skew_wait.as_ref())
                .is_some_and(|w| w.retake && self.master_down_at == Some(w.at))
    }

    /// A sync group member handed over for a deleted VIP: this MASTER does the same (a
    /// priority-0 advert, its VIPs removed) and takes over again after its own Skew_Time,
    /// as keepalived 2.2.7 does, so the group comes back on this node together.
    pub(crate) fn group_hand_over(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
        if self.state != State::Master {
            return;
        }
        self.hand_over_to_retake(now, reason, "its sync group handed over".into(), out);
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
