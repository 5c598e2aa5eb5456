//! One handler per event: start, timers, received adverts (as BACKUP and as MASTER),
//! maintenance and shutdown.

use super::*;

impl Instance {
    pub(super) fn on_start(&mut self, now: Duration, out: &mut Vec<Action>) {
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

    pub(super) fn on_timer(&mut self, now: Duration, out: &mut Vec<Action>) {
        match self.state {
            State::Master => self.master_timers(now, out),
            State::Backup => self.backup_timers(now, out),
            _ => {}
        }
    }

    /// `timer_expired_backup` (only without preemption): a MASTER or BACKUP whose own timer
    /// is handled long after it was due (the process was not scheduled) does not act on it. A
    /// MASTER goes BACKUP and a BACKUP starts its down timer again, so a router that took over
    /// meanwhile keeps the VIPs instead of losing them back to the one that stalled.
    pub(super) fn on_stall(&mut self, now: Duration, out: &mut Vec<Action>) {
        let Some(other) = self.cfg.timer_expired_backup.filter(|_| !self.cfg.preempt) else {
            return;
        };
        let due = match self.state {
            State::Master => self.advert_at,
            State::Backup => self.master_down_at,
            _ => None,
        };
        let Some(due) = due else {
            return;
        };
        let (v, adv, n) = (
            self.cfg.version,
            self.master_adver_interval,
            self.cfg.down_timer_adverts,
        );
        if !timers::stalled(v, other, adv, n, due, now) {
            return;
        }
        let late = now - due;
        if self.state == State::Master {
            let reason = format!(
                "timer expired {late:?} late (scheduling stall): another router may be MASTER"
            );
            self.enter_backup(now, reason, out);
        } else {
            self.master_down_at = Some(now + self.master_down_interval());
        }
    }

    pub(super) fn master_timers(&mut self, now: Duration, out: &mut Vec<Action>) {
        let hold = self.cfg.fast_failover.hold_time;
        if self.dip_since.is_some_and(|t| t + hold <= now) {
            self.dip_since = None;
            self.publish_priority(now, out);
        }
        if let Some(at) = self.advert_at.filter(|at| *at <= now) {
            out.push(self.outgoing(self.advertised));
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

    pub(super) fn backup_timers(&mut self, now: Duration, out: &mut Vec<Action>) {
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
            let reason = match self.skew_wait.take() {
                Some(w) if self.master_down_at == Some(w.at) => format!(
                    "skew time expired after {} ({:.3}s)",
                    w.after,
                    w.wait.as_secs_f64()
                ),
                _ => format!(
                    "master down timer expired (no higher-priority advert for {:?})",
                    self.master_down_interval()
                ),
            };
            self.want_master(now, reason, out);
        }
    }

    pub(super) fn on_advert(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
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

    pub(super) fn backup_rx(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            // The master is leaving: take over after Skew_Time only.
            let skew =
                timers::skew_time(self.cfg.version, self.effective, self.master_adver_interval);
            self.skew_down(
                now,
                skew,
                format!("a priority-0 advert from {}", adv.src),
                false,
            );
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

    pub(super) fn master_rx(&mut self, now: Duration, adv: ReceivedAdvert, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            // Another master released: assert ourselves at once.
            out.push(self.outgoing(self.advertised));
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
                    out.push(self.outgoing(self.advertised));
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
            out.push(self.outgoing(self.advertised));
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

    pub(super) fn on_maintenance(&mut self, now: Duration, on: bool, out: &mut Vec<Action>) {
        if self.maintenance == on {
            return;
        }
        self.maintenance = on;
        if on {
            match self.state {
                State::Master => {
                    out.push(self.outgoing(0));
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

    pub(super) fn on_vip_deleted(&mut self, now: Duration, addr: IpAddr, out: &mut Vec<Action>) {
        if self.state != State::Master {
            return;
        }
        self.hand_over_to_retake(
            now,
            format!("VIP {addr} deleted behind our back"),
            format!("VIP {addr} was deleted"),
            out,
        );
    }

    pub(super) fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(self.outgoing(0));
            out.push(self.vips_action(false));
        }
        self.release_now(out);
        self.clear_timers();
        self.transition(State::Stopped, "shutdown".into(), out);
    }
}
