//! Member choice and member health for one cluster. Pure: the caller passes the time and a
//! random number, so every policy (weighted round-robin, least connections, power of two
//! choices, stickiness, passive ejection with back-off, active rise/fall, admin states) is
//! tested without sockets or clocks. The I/O shell holds one `Balancer` per cluster behind a
//! mutex that is taken briefly per request.

use std::time::{Duration, Instant};

use crate::config::BalanceMode;

mod hashed;
mod ramp;
use hashed::HashState;
pub use hashed::request_key;

/// Operator state set through the admin socket (HAProxy's `set server state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// Normal traffic.
    Ready,
    /// No new traffic, except requests sticky to this member; in-flight ones finish.
    Drain,
    /// No traffic at all (maintenance / `disable server`).
    Maint,
}

impl AdminState {
    /// The word `show servers state` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Drain => "drain",
            Self::Maint => "maint",
        }
    }
}

/// Passive health policy (copied from the cluster config).
#[derive(Debug, Clone, Copy)]
pub struct PassivePolicy {
    /// 0 disables passive ejection.
    pub consecutive_failures: u32,
    /// First ejection time.
    pub base_ejection: Duration,
    /// Longest ejection, however many in a row.
    pub max_ejection: Duration,
    /// Most members out of rotation at once through ejection, in percent of the cluster
    /// (rounded down, but at least one in a cluster of two or more; below 100 never all).
    /// Members down by active checks count as out.
    pub max_ejection_percent: u32,
    /// When fewer than this percentage of the members that checks leave up are in rotation,
    /// ejections are ignored and traffic goes to all of them (Envoy's panic threshold);
    /// 0 turns it off.
    pub panic_threshold_percent: u32,
}

/// What a passive failure was, so an ejection can say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCause {
    /// The member failed as a server: connect error, broken answer, timeout.
    Connection,
    /// The application answered 5xx (counted only with `count_5xx`).
    Status5xx,
}

impl FailureCause {
    /// The word used in logs and `show stat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Status5xx => "5xx",
        }
    }
}

/// Active health-check thresholds.
#[derive(Debug, Clone, Copy)]
pub struct ActivePolicy {
    /// Consecutive good checks that bring a member up.
    pub rise: u32,
    /// Consecutive failed checks that take a member down.
    pub fall: u32,
}

/// What changed after an event, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Passive ejection for this long, and why.
    Ejected(Duration, FailureCause),
    /// Active checks took the member down.
    WentDown,
    /// Active checks brought the member up.
    CameUp,
}

/// Dynamic state of one member.
#[derive(Debug, Clone)]
pub struct MemberState {
    /// Weight from the config, or set by `set weight`.
    pub weight: u32,
    /// Operator state (admin socket).
    pub admin: AdminState,
    /// Result of active checks (always true without them).
    pub checked_up: bool,
    /// Consecutive active results against the current `checked_up` (toward rise or fall).
    pub check_streak: u32,
    /// Requests currently being proxied to this member.
    pub in_flight: u32,
    /// Consecutive passive failures.
    pub failures: u32,
    /// Passive ejection end.
    pub ejected_until: Option<Instant>,
    /// Ejections without a success in between (drives the doubling back-off).
    pub ejections_in_row: u32,
    /// Why the member was last ejected.
    pub ejected_for: Option<FailureCause>,
    /// Smooth weighted round-robin accumulator.
    current: i64,
    /// Connection limit (`max_connections`); 0 is none.
    pub max_in_flight: u32,
    /// Start of this member's slow-start ramp, when it came back.
    pub ramp_from: Option<Instant>,
}

impl MemberState {
    /// A fresh member: ready, up, nothing in flight.
    pub fn new(weight: u32) -> Self {
        Self {
            weight,
            admin: AdminState::Ready,
            checked_up: true,
            check_streak: 0,
            in_flight: 0,
            failures: 0,
            ejected_until: None,
            ejections_in_row: 0,
            ejected_for: None,
            current: 0,
            max_in_flight: 0,
            ramp_from: None,
        }
    }

    /// Healthy by both active checks and passive ejection (admin state aside).
    pub fn healthy(&self, now: Instant) -> bool {
        self.checked_up && self.ejected_until.is_none_or(|t| now >= t)
    }

    /// May take new, non-sticky traffic.
    pub fn available(&self, now: Instant) -> bool {
        self.admin == AdminState::Ready && self.weight > 0 && self.healthy(now)
    }

    /// May take new traffic when ejections are ignored (the cluster is in panic).
    fn available_in_panic(&self) -> bool {
        self.admin == AdminState::Ready && self.weight > 0 && self.checked_up
    }

    /// Out of rotation by health: down by checks or ejected now.
    fn out_by_health(&self, now: Instant) -> bool {
        !self.checked_up || self.ejected_until.is_some_and(|t| now < t)
    }

    /// Status word for `show stat` / `show servers state`.
    pub fn status(&self, now: Instant) -> &'static str {
        match self.admin {
            AdminState::Maint => "MAINT",
            AdminState::Drain if self.healthy(now) => "DRAIN",
            _ if !self.checked_up => "DOWN",
            _ if !self.healthy(now) => "EJECTED",
            _ => "UP",
        }
    }
}

/// One cluster's balancing state.
#[derive(Debug, Clone)]
pub struct Balancer {
    /// How members are chosen.
    pub mode: BalanceMode,
    /// Members in config order (indexes match the cluster's member list).
    pub members: Vec<MemberState>,
    /// Passive ejection policy.
    pub passive: PassivePolicy,
    /// Active check thresholds, when the cluster has checks.
    pub active: Option<ActivePolicy>,
    /// Rotating start for least-connections tie breaks.
    cursor: usize,
    /// The Maglev table of `balance: hash` (see `enable_hashing`).
    hash: Option<HashState>,
    /// Slow-start ramp of returning members (zero: off).
    slow_start: Duration,
}

impl Balancer {
    /// A cluster's balancer with every member fresh, weighted as given.
    pub fn new(
        mode: BalanceMode,
        weights: &[u32],
        passive: PassivePolicy,
        active: Option<ActivePolicy>,
    ) -> Self {
        Self {
            mode,
            members: weights.iter().map(|&w| MemberState::new(w)).collect(),
            passive,
            active,
            cursor: 0,
            hash: None,
            slow_start: Duration::ZERO,
        }
    }

    /// Number of members that could take new traffic now.
    pub fn available_count(&self, now: Instant) -> usize {
        self.members.iter().filter(|m| m.available(now)).count()
    }

    /// Number of members healthy by checks and ejection (admin state ignored).
    pub fn healthy_count(&self, now: Instant) -> usize {
        self.members
            .iter()
            .filter(|m| m.healthy(now) && m.admin != AdminState::Maint)
            .count()
    }

    /// Number of members that could serve now: up by checks and not in maintenance, and
    /// not ejected unless the cluster is in panic (then ejections are ignored). This is the
    /// cluster's real capacity, which the health service's `must_be_up` follows.
    pub fn serving_count(&self, now: Instant) -> usize {
        let panic = self.in_panic(now);
        self.members
            .iter()
            .filter(|m| m.admin != AdminState::Maint && (panic || m.healthy(now)) && m.checked_up)
            .count()
    }

    /// Whether so few members are in rotation that ejections are ignored.
    pub fn in_panic(&self, now: Instant) -> bool {
        let threshold = self.passive.panic_threshold_percent as usize;
        if threshold == 0 {
            return false;
        }
        let eligible = self
            .members
            .iter()
            .filter(|m| m.available_in_panic())
            .count();
        let available = self.members.iter().filter(|m| m.available(now)).count();
        eligible > 0 && available * 100 < threshold * eligible
    }

    /// Whether ejecting member `i` keeps the cluster within `max_ejection_percent`.
    fn ejection_allowed(&self, i: usize, now: Instant) -> bool {
        let n = self.members.len();
        let percent = self.passive.max_ejection_percent.min(100) as usize;
        let mut cap = n * percent / 100;
        if n >= 2 && percent > 0 {
            cap = cap.max(1);
        }
        if percent < 100 {
            cap = cap.min(n.saturating_sub(1));
        }
        let out = (0..n)
            .filter(|&j| j != i && self.members[j].out_by_health(now))
            .count();
        out < cap
    }

    /// Chooses a member for a new request and counts it in flight. `sticky` is the member a
    /// cookie named (honoured while healthy and not in maintenance, even when draining);
    /// `tried` holds members that already failed this request. `random` feeds power-of-two.
    pub fn pick(
        &mut self,
        now: Instant,
        random: u64,
        sticky: Option<usize>,
        tried: &[usize],
    ) -> Option<usize> {
        self.pick_keyed(now, random, sticky, tried, None)
    }

    /// `pick` with the request's hash key (`balance: hash`); without a key a hashing cluster
    /// falls back to weighted round-robin, as HAProxy does for a missing header.
    pub fn pick_keyed(
        &mut self,
        now: Instant,
        random: u64,
        sticky: Option<usize>,
        tried: &[usize],
        key: Option<u64>,
    ) -> Option<usize> {
        if let Some(s) = sticky {
            if let Some(m) = self.members.get(s) {
                if m.admin != AdminState::Maint
                    && m.weight > 0
                    && m.healthy(now)
                    && m.has_room()
                    && !tried.contains(&s)
                {
                    self.members[s].in_flight += 1;
                    return Some(s);
                }
            }
        }
        let panic = self.in_panic(now);
        let choice = match self.mode {
            BalanceMode::RoundRobin => self.pick_wrr(now, panic, tried),
            BalanceMode::LeastConnections => self.pick_least(now, panic, tried),
            BalanceMode::PowerOfTwo => self.pick_p2c(now, panic, random, tried),
            BalanceMode::Hash => match key {
                Some(k) => self.pick_hashed(k, now, panic, tried),
                None => self.pick_wrr(now, panic, tried),
            },
        }?;
        self.members[choice].in_flight += 1;
        Some(choice)
    }

    /// Member `i` may take this request (`panic`: ejections are ignored).
    fn candidate(&self, i: usize, now: Instant, panic: bool, tried: &[usize]) -> bool {
        let m = &self.members[i];
        let ok = if panic {
            m.available_in_panic()
        } else {
            m.available(now)
        };
        ok && m.has_room() && !tried.contains(&i)
    }

    /// nginx's smooth weighted round-robin: spreads picks evenly in weight proportion.
    fn pick_wrr(&mut self, now: Instant, panic: bool, tried: &[usize]) -> Option<usize> {
        let mut total: i64 = 0;
        let mut best: Option<usize> = None;
        for i in 0..self.members.len() {
            if !self.candidate(i, now, panic, tried) {
                continue;
            }
            let w = i64::from(self.weight_at(i, now));
            self.members[i].current += w;
            total += w;
            let current = self.members[i].current;
            if best.is_none_or(|b| current > self.members[b].current) {
                best = Some(i);
            }
        }
        let b = best?;
        self.members[b].current -= total;
        Some(b)
    }

    /// Fewest in-flight per unit of weight; ties go round-robin.
    fn pick_least(&mut self, now: Instant, panic: bool, tried: &[usize]) -> Option<usize> {
        let n = self.members.len();
        let mut best: Option<usize> = None;
        for k in 0..n {
            let i = (self.cursor + k) % n;
            if !self.candidate(i, now, panic, tried) {
                continue;
            }
            if best.is_none_or(|b| self.less_loaded(i, b, now)) {
                best = Some(i);
            }
        }
        let b = best?;
        self.cursor = (b + 1) % n;
        Some(b)
    }

    /// Two weighted random candidates; the less loaded one wins.
    fn pick_p2c(
        &mut self,
        now: Instant,
        panic: bool,
        random: u64,
        tried: &[usize],
    ) -> Option<usize> {
        let total: u64 = (0..self.members.len())
            .filter(|&i| self.candidate(i, now, panic, tried))
            .map(|i| u64::from(self.weight_at(i, now)))
            .sum();
        if total == 0 {
            return None;
        }
        let draw = |r: u64| -> usize {
            let mut point = r % total;
            for i in 0..self.members.len() {
                if !self.candidate(i, now, panic, tried) {
                    continue;
                }
                let w = u64::from(self.weight_at(i, now));
                if point < w {
                    return i;
                }
                point -= w;
            }
            unreachable!("point < total weight")
        };
        let a = draw(random & 0xffff_ffff);
        let b = draw(random >> 32);
        Some(if self.less_loaded(b, a, now) { b } else { a })
    }

    /// in_flight(a)/weight(a) < in_flight(b)/weight(b), without division.
    fn less_loaded(&self, a: usize, b: usize, now: Instant) -> bool {
        let (ma, mb) = (&self.members[a], &self.members[b]);
        u64::from(ma.in_flight) * u64::from(self.weight_at(b, now))
            < u64::from(mb.in_flight) * u64::from(self.weight_at(a, now))
    }

    /// A request to `i` ended (whatever the outcome).
    pub fn finish(&mut self, i: usize) {
        if let Some(m) = self.members.get_mut(i) {
            m.in_flight = m.in_flight.saturating_sub(1);
        }
    }

    /// The member answered well: passive failure counters reset.
    pub fn on_success(&mut self, i: usize) {
        if let Some(m) = self.members.get_mut(i) {
            m.failures = 0;
            m.ejections_in_row = 0;
        }
    }

    /// A connect error, broken answer or counted 5xx. Returns `Ejected` when this failure
    /// crosses the threshold; an ejection doubles each time in a row, up to the maximum.
    /// At the `max_ejection_percent` cap the member stays in rotation, and its next
    /// failure asks again.
    pub fn on_failure(
        &mut self,
        i: usize,
        now: Instant,
        cause: FailureCause,
    ) -> Option<Transition> {
        let p = self.passive;
        if i >= self.members.len() || p.consecutive_failures == 0 {
            return None;
        }
        let allowed = self.ejection_allowed(i, now);
        let m = &mut self.members[i];
        if m.ejected_until.is_some_and(|t| now < t) {
            return None;
        }
        m.failures += 1;
        if m.failures < p.consecutive_failures {
            return None;
        }
        if !allowed {
            m.failures = p.consecutive_failures - 1;
            return None;
        }
        let factor = 1u32 << m.ejections_in_row.min(16);
        let time = p.base_ejection.saturating_mul(factor).min(p.max_ejection);
        m.ejected_until = Some(now + time);
        // Back from the ejection, the member ramps up (with `slow_start`).
        m.ramp_from = m.ejected_until;
        m.ejections_in_row += 1;
        // Back from ejection, one more failure ejects again (for twice as long).
        m.failures = p.consecutive_failures.saturating_sub(1);
        m.ejected_for = Some(cause);
        Some(Transition::Ejected(time, cause))
    }

    /// An active check result. Returns a transition when rise or fall is reached.
    pub fn on_probe(&mut self, i: usize, ok: bool) -> Option<Transition> {
        let policy = self.active?;
        let m = self.members.get_mut(i)?;
        if ok == m.checked_up {
            m.check_streak = 0;
            return None;
        }
        m.check_streak += 1;
        let needed = if ok { policy.rise } else { policy.fall };
        if m.check_streak < needed {
            return None;
        }
        m.checked_up = ok;
        m.check_streak = 0;
        if ok {
            // A member brought back by checks starts with a clean passive record.
            m.failures = 0;
            m.ejected_until = None;
            m.ejections_in_row = 0;
            Some(Transition::CameUp)
        } else {
            Some(Transition::WentDown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: FailureCause = FailureCause::Connection;

    fn passive(n: u32) -> PassivePolicy {
        PassivePolicy {
            consecutive_failures: n,
            base_ejection: Duration::from_secs(10),
            max_ejection: Duration::from_secs(60),
            max_ejection_percent: 50,
            panic_threshold_percent: 50,
        }
    }

    fn counts(
        b: &mut Balancer,
        now: Instant,
        n: usize,
        rand: &mut impl FnMut() -> u64,
    ) -> Vec<usize> {
        let mut c = vec![0; b.members.len()];
        for _ in 0..n {
            let i = b.pick(now, rand(), None, &[]).unwrap();
            b.finish(i);
            c[i] += 1;
        }
        c
    }

    #[test]
    fn weighted_round_robin_is_smooth_and_proportional() {
        let now = Instant::now();
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[5, 1, 1], passive(0), None);
        let seq: Vec<usize> = (0..7)
            .map(|_| {
                let i = b.pick(now, 0, None, &[]).unwrap();
                b.finish(i);
                i
            })
            .collect();
        // nginx's example: a a b a c a a  (never five a's in a row)
        assert_eq!(seq, vec![0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(counts(&mut b, now, 700, &mut || 0), vec![500, 100, 100]);
    }

    #[test]
    fn least_connections_prefers_idle_members_by_weight() {
        let now = Instant::now();
        let mut b = Balancer::new(BalanceMode::LeastConnections, &[1, 1, 2], passive(0), None);
        // Hold requests open: picks fill members to equal in_flight/weight.
        let held: Vec<usize> = (0..8).map(|_| b.pick(now, 0, None, &[]).unwrap()).collect();
        let per = |i| held.iter().filter(|&&x| x == i).count();
        assert_eq!((per(0), per(1), per(2)), (2, 2, 4));
        b.finish(0);
        assert_eq!(b.pick(now, 0, None, &[]), Some(0));
    }

    #[test]
    fn power_of_two_avoids_the_loaded_member_and_spreads() {
        let now = Instant::now();
        let mut b = Balancer::new(BalanceMode::PowerOfTwo, &[1, 1, 1], passive(0), None);
        for _ in 0..50 {
            b.members[0].in_flight += 1;
        }
        let mut rng = fastrand::Rng::with_seed(7);
        let c = counts(&mut b, now, 3000, &mut || rng.u64(..));
        assert!(c[0] < 400, "loaded member got {c:?}");
        assert!(c[1] > 1000 && c[2] > 1000, "{c:?}");
    }

    #[test]
    fn retries_skip_tried_members_and_none_when_exhausted() {
        let now = Instant::now();
        for mode in [
            BalanceMode::RoundRobin,
            BalanceMode::LeastConnections,
            BalanceMode::PowerOfTwo,
        ] {
            let mut b = Balancer::new(mode, &[1, 1], passive(0), None);
            let a = b.pick(now, 3, None, &[]).unwrap();
            let c = b.pick(now, 3, None, &[a]).unwrap();
            assert_ne!(a, c, "{mode:?}");
            assert_eq!(b.pick(now, 3, None, &[a, c]), None, "{mode:?}");
        }
    }

    #[test]
    fn sticky_member_used_while_up_even_when_draining_not_in_maint() {
        let now = Instant::now();
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[1, 1, 1], passive(0), None);
        assert_eq!(b.pick(now, 0, Some(2), &[]), Some(2));
        b.members[2].admin = AdminState::Drain;
        assert_eq!(b.pick(now, 0, Some(2), &[]), Some(2));
        for _ in 0..10 {
            assert_ne!(
                b.pick(now, 0, None, &[]),
                Some(2),
                "drained member got new traffic"
            );
        }
        b.members[2].admin = AdminState::Maint;
        assert_ne!(b.pick(now, 0, Some(2), &[]), Some(2));
        assert_ne!(
            b.pick(now, 0, Some(99), &[]),
            None,
            "bad cookie index falls back"
        );
    }

    #[test]
    fn passive_ejection_backs_off_and_recovers() {
        let t0 = Instant::now();
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[1, 1], passive(3), None);
        assert_eq!(b.on_failure(0, t0, C), None);
        assert_eq!(b.on_failure(0, t0, C), None);
        assert_eq!(
            b.on_failure(0, t0, C),
            Some(Transition::Ejected(Duration::from_secs(10), C))
        );
        assert_eq!(b.available_count(t0), 1);
        for _ in 0..5 {
            assert_eq!(b.pick(t0, 0, None, &[]), Some(1));
        }
        // Failures while ejected are not counted twice.
        assert_eq!(b.on_failure(0, t0 + Duration::from_secs(1), C), None);
        let t1 = t0 + Duration::from_secs(10);
        assert!(b.members[0].available(t1));
        // One failure after the ejection ends: ejected again for twice as long.
        assert_eq!(
            b.on_failure(0, t1, C),
            Some(Transition::Ejected(Duration::from_secs(20), C))
        );
        let t2 = t1 + Duration::from_secs(20);
        assert_eq!(
            b.on_failure(0, t2, C),
            Some(Transition::Ejected(Duration::from_secs(40), C))
        );
        let t3 = t2 + Duration::from_secs(40);
        assert_eq!(
            b.on_failure(0, t3, C),
            Some(Transition::Ejected(Duration::from_secs(60), C)),
            "capped"
        );
        let t4 = t3 + Duration::from_secs(60);
        b.on_success(0);
        assert_eq!(b.on_failure(0, t4, C), None, "success resets the count");
    }

    #[test]
    fn active_checks_need_rise_and_fall_in_a_row() {
        let now = Instant::now();
        let mut b = Balancer::new(
            BalanceMode::RoundRobin,
            &[1],
            passive(0),
            Some(ActivePolicy { rise: 2, fall: 3 }),
        );
        assert_eq!(b.on_probe(0, false), None);
        assert_eq!(b.on_probe(0, false), None);
        assert_eq!(
            b.on_probe(0, true),
            None,
            "a success breaks the fall streak"
        );
        assert_eq!(b.on_probe(0, false), None);
        assert_eq!(b.on_probe(0, false), None);
        assert_eq!(b.on_probe(0, false), Some(Transition::WentDown));
        assert_eq!(b.pick(now, 0, None, &[]), None, "all down -> no member");
        assert_eq!(b.members[0].status(now), "DOWN");
        assert_eq!(b.on_probe(0, true), None);
        assert_eq!(b.on_probe(0, true), Some(Transition::CameUp));
        assert_eq!(b.pick(now, 0, None, &[]), Some(0));
    }

    #[test]
    fn zero_weight_and_maint_members_get_nothing() {
        let now = Instant::now();
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[1, 0, 1], passive(0), None);
        b.members[2].admin = AdminState::Maint;
        assert_eq!(counts(&mut b, now, 10, &mut || 1), vec![10, 0, 0]);
        assert_eq!(b.members[2].status(now), "MAINT");
    }
    #[test]
    fn ejections_stop_at_the_cap_and_leave_a_member_in_rotation() {
        let t0 = Instant::now();
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[1, 1], passive(1), None);
        let s5 = FailureCause::Status5xx;
        assert_eq!(
            b.on_failure(0, t0, s5),
            Some(Transition::Ejected(Duration::from_secs(10), s5))
        );
        assert_eq!(b.members[0].ejected_for, Some(s5));
        // Half of two is one: the second member stays, however often it fails.
        for _ in 0..10 {
            assert_eq!(b.on_failure(1, t0, s5), None);
        }
        assert_eq!(b.available_count(t0), 1);
        assert_eq!(b.serving_count(t0), 1);
        // A one-member cluster keeps its member at the default cap.
        let mut one = Balancer::new(BalanceMode::RoundRobin, &[1], passive(1), None);
        assert_eq!(one.on_failure(0, t0, C), None);
        assert_eq!(one.pick(t0, 0, None, &[]), Some(0));
        // Members down by checks count as out: with one down, the other is not ejected.
        let mut b = Balancer::new(
            BalanceMode::RoundRobin,
            &[1, 1],
            passive(1),
            Some(ActivePolicy { rise: 1, fall: 1 }),
        );
        assert_eq!(b.on_probe(0, false), Some(Transition::WentDown));
        assert_eq!(b.on_failure(1, t0, C), None);
        assert_eq!(b.pick(t0, 0, None, &[]), Some(1));
    }

    #[test]
    fn below_the_panic_threshold_ejections_are_ignored() {
        let t0 = Instant::now();
        let mut p = passive(1);
        p.max_ejection_percent = 100;
        let mut b = Balancer::new(BalanceMode::RoundRobin, &[1, 1, 1, 1], p, None);
        assert!(b.on_failure(0, t0, C).is_some());
        assert!(b.on_failure(1, t0, C).is_some());
        // Two of four in rotation: at the threshold, not below it.
        assert!(!b.in_panic(t0));
        assert_eq!(counts(&mut b, t0, 4, &mut || 0), vec![0, 0, 2, 2]);
        assert!(b.on_failure(2, t0, C).is_some());
        // One of four: below 50 %, every member takes traffic again.
        assert!(b.in_panic(t0));
        assert_eq!(counts(&mut b, t0, 8, &mut || 0), vec![2, 2, 2, 2]);
        assert_eq!(b.serving_count(t0), 4);
        // Panic never resurrects a member in maintenance or down by checks.
        b.members[3].admin = AdminState::Maint;
        assert_eq!(counts(&mut b, t0, 6, &mut || 0)[3], 0);
        p.panic_threshold_percent = 0;
        b.passive = p;
        assert!(!b.in_panic(t0));
        assert_eq!(
            b.pick(t0, 0, None, &[]),
            None,
            "panic off: ejected stay out"
        );
    }
}
