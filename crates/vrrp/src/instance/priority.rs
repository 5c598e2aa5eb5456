//! The effective priority (trackers, owner, maintenance), fault causes, and when a changed
//! priority is published on the wire (`hold_time`, fast preempt).

use super::*;

impl Instance {
    pub(super) fn compute_priority(&self) -> u8 {
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
    pub(super) fn lowered_by(&self) -> String {
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

    pub(super) fn fault_reason(&self) -> Option<String> {
        self.own_fault().or_else(|| self.group_fault.clone())
    }

    pub(super) fn trackers_pending(&self) -> bool {
        self.trackers
            .iter()
            .any(|t| t.weight == 0 && t.up.is_none())
    }

    pub(super) fn reevaluate(&mut self, now: Duration, out: &mut Vec<Action>) {
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

    pub(super) fn update_priority(&mut self, now: Duration, out: &mut Vec<Action>) {
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
    pub(super) fn fast_preempt_on_rise(&mut self, now: Duration, out: &mut Vec<Action>) {
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
    pub(super) fn publish_priority(&mut self, _now: Duration, out: &mut Vec<Action>) {
        if self.advertised == self.effective {
            return;
        }
        self.advertised = self.effective;
        if self.cfg.fast_failover.immediate_advert_on_priority_change {
            out.push(self.outgoing(self.advertised));
        }
    }

    pub(super) fn steady(&self, now: Duration) -> bool {
        let hold = self.cfg.fast_failover.hold_time;
        hold.is_zero()
            || self
                .priority_changed_at
                .is_none_or(|t| now.saturating_sub(t) >= hold)
    }
}

/// keepalived's `track_file` adjustment: value x weight, negated by `reverse`.
pub(super) fn value_adjustment(weight: i32, reverse: bool, value: i64) -> i64 {
    let adj = value.saturating_mul(i64::from(weight));
    if reverse { adj.saturating_neg() } else { adj }
}
