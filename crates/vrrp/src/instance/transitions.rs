//! Entering and leaving states: the actions each transition emits (VIPs, adverts, GARP) and
//! the timers it sets.

use super::*;

impl Instance {
    pub(super) fn transition(&mut self, to: State, reason: String, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        out.push(Action::Transition { from, to, reason });
    }

    pub(super) fn clear_timers(&mut self) {
        self.advert_at = None;
        self.master_down_at = None;
        self.skew_wait = None;
        self.fast_preempt_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.lower_prio_garp_at = None;
        self.dip_since = None;
        self.wants_master = None;
    }

    pub(super) fn vips_action(&self, add: bool) -> Action {
        let vips = self.cfg.vips.clone();
        let excluded = self.cfg.excluded_vips.clone();
        if add {
            Action::AddVips { vips, excluded }
        } else {
            Action::RemoveVips { vips, excluded }
        }
    }

    pub(super) fn gratuitous(&self, count: u32, cause: GarpCause) -> Option<Action> {
        let vips: Vec<Vip> = self
            .cfg
            .vips
            .iter()
            .chain(self.cfg.excluded_vips.iter())
            .copied()
            .collect();
        (count > 0 && !vips.is_empty()).then_some(Action::SendGratuitous { vips, count, cause })
    }

    pub(super) fn own_interval(&self) -> Duration {
        self.cfg.wire_interval().as_duration()
    }

    pub(super) fn leave_init(&mut self, now: Duration, out: &mut Vec<Action>) {
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

    pub(super) fn become_master(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
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
        let advert = self.outgoing(self.advertised);
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

    pub(super) fn enter_backup(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
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
    pub(super) fn release_now(&mut self, out: &mut Vec<Action>) {
        if self.release_at.take().is_some() {
            out.push(self.vips_action(false));
        }
    }

    pub(super) fn enter_fault(&mut self, reason: String, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(self.outgoing(0));
            out.push(self.vips_action(false));
        }
        self.release_now(out);
        self.clear_timers();
        self.master = None;
        self.transition(State::Fault, reason, out);
    }

    pub(super) fn leave_fault(&mut self, now: Duration, out: &mut Vec<Action>) {
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
    pub(super) fn want_master(&mut self, now: Duration, reason: String, out: &mut Vec<Action>) {
        if self.in_group {
            self.master_down_at = None;
            self.fast_preempt_at = None;
            self.wants_master = Some(reason);
        } else {
            self.become_master(now, reason, out);
        }
    }

    /// A MASTER hands over by itself (priority 0, BACKUP for `reason`) and, as after hearing
    /// a priority-0 advert, takes over again after its Skew_Time unless a better router
    /// answers; `after` names the cause in the takeover's reason.
    pub(super) fn hand_over_to_retake(
        &mut self,
        now: Duration,
        reason: String,
        after: String,
        out: &mut Vec<Action>,
    ) {
        out.push(self.outgoing(0));
        self.enter_backup(now, reason, out);
        let skew = timers::skew_time(self.cfg.version, self.effective, self.own_interval());
        self.skew_down(now, skew, after, true);
    }

    /// The master-down timer cut to `skew`, remembering why for the takeover's reason.
    /// `retake`: we handed over ourselves and mean to take over again.
    pub(super) fn skew_down(&mut self, now: Duration, skew: Duration, after: String, retake: bool) {
        let at = now + skew;
        self.master_down_at = Some(at);
        self.skew_wait = Some(SkewWait {
            at,
            wait: skew,
            after,
            retake,
        });
    }
}
