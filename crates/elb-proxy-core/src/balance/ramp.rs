//! Per-member limits on top of member choice: the connection limit (`max_connections`,
//! HAProxy's `maxconn`) that makes a full member no candidate, and slow start, which ramps
//! the weight of a member that comes back (up by checks, out of maintenance, back from an
//! ejection) from 1 to its weight over `slow_start`, as HAProxy's `slowstart` does.

use std::time::{Duration, Instant};

use super::{AdminState, Balancer, MemberState};

impl MemberState {
    /// Below its connection limit (or without one).
    pub(super) fn has_room(&self) -> bool {
        self.max_in_flight == 0 || self.in_flight < self.max_in_flight
    }
}

impl Balancer {
    /// Sets the members' connection limits (config order; 0 is none).
    pub fn set_limits(&mut self, max_in_flight: &[u32]) {
        for (m, &l) in self.members.iter_mut().zip(max_in_flight) {
            m.max_in_flight = l;
        }
    }

    /// Turns slow start on (`Duration::ZERO` turns it off).
    pub fn set_slow_start(&mut self, ramp: Duration) {
        self.slow_start = ramp;
    }

    /// Member `i` came back at `now` (checks brought it up, or an operator made it ready):
    /// its weight ramps up from here.
    pub fn returned(&mut self, i: usize, now: Instant) {
        if let Some(m) = self.members.get_mut(i) {
            m.ramp_from = Some(now);
        }
    }

    /// Member `i`'s weight at `now`: its weight, or during slow start the share of it that
    /// the elapsed part of the ramp gives (at least 1).
    pub(super) fn weight_at(&self, i: usize, now: Instant) -> u32 {
        let m = &self.members[i];
        let Some(from) = m.ramp_from else {
            return m.weight;
        };
        if self.slow_start.is_zero() || m.weight == 0 {
            return m.weight;
        }
        let elapsed = now.saturating_duration_since(from);
        if elapsed >= self.slow_start {
            return m.weight;
        }
        let share = u128::from(m.weight) * elapsed.as_nanos() / self.slow_start.as_nanos();
        (share as u32).max(1)
    }

    /// Whether a request found no member only because members are at their connection
    /// limit: then it may wait in the queue.
    pub fn only_full_members(&self, now: Instant) -> bool {
        let panic = self.in_panic(now);
        self.members.iter().any(|m| {
            let ok = if panic {
                m.admin == AdminState::Ready && m.weight > 0 && m.checked_up
            } else {
                m.available(now)
            };
            ok && !m.has_room()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::PassivePolicy;
    use super::*;
    use crate::config::BalanceMode;

    fn balancer(weights: &[u32]) -> Balancer {
        let passive = PassivePolicy {
            consecutive_failures: 1,
            base_ejection: Duration::from_secs(10),
            max_ejection: Duration::from_secs(10),
            max_ejection_percent: 100,
            panic_threshold_percent: 0,
        };
        Balancer::new(BalanceMode::RoundRobin, weights, passive, None)
    }

    fn share_of_0(b: &mut Balancer, now: Instant) -> usize {
        (0..100)
            .filter(|_| {
                let i = b.pick(now, 0, None, &[]).unwrap();
                b.finish(i);
                i == 0
            })
            .count()
    }

    #[test]
    fn a_returning_member_ramps_from_a_small_share_to_its_weight() {
        let t0 = Instant::now();
        let mut b = balancer(&[10, 10]);
        b.set_slow_start(Duration::from_secs(100));
        b.returned(0, t0);
        let early = share_of_0(&mut b, t0 + Duration::from_secs(10));
        let middle = share_of_0(&mut b, t0 + Duration::from_secs(50));
        let done = share_of_0(&mut b, t0 + Duration::from_secs(100));
        assert!(early <= 10, "at 10 % of the ramp: {early} of 100");
        assert!(
            (30..=36).contains(&middle),
            "at half the ramp: {middle} of 100"
        );
        assert_eq!(done, 50);
        // Back from an ejection, the ramp starts where the ejection ends.
        let t1 = t0 + Duration::from_secs(200);
        assert!(
            b.on_failure(1, t1, super::super::FailureCause::Connection)
                .is_some()
        );
        let back = t1 + Duration::from_secs(10);
        assert_eq!(
            share_of_0(&mut b, t1 + Duration::from_secs(5)),
            100,
            "ejected"
        );
        // Member 1 at weight 1 of 10 a second into its ramp: about 1 pick in 11.
        let s = share_of_0(&mut b, back + Duration::from_secs(1));
        assert!((85..=95).contains(&s), "{s} of 100 to member 0");
    }

    #[test]
    fn a_full_member_is_skipped_and_a_cluster_of_full_members_may_queue() {
        let now = Instant::now();
        let mut b = balancer(&[1, 1]);
        b.set_limits(&[1, 2]);
        let picks: Vec<usize> = (0..3).map(|_| b.pick(now, 0, None, &[]).unwrap()).collect();
        assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 1);
        assert_eq!(b.pick(now, 0, None, &[]), None);
        assert!(b.only_full_members(now));
        b.finish(0);
        assert_eq!(b.pick(now, 0, None, &[]), Some(0));
        // Sticky requests respect the limit too.
        assert_ne!(b.pick(now, 0, Some(0), &[]), Some(0));
        let mut free = balancer(&[1]);
        assert!(!free.only_full_members(now));
        free.members[0].admin = AdminState::Maint;
        assert!(
            !free.only_full_members(now),
            "a member in maintenance is not full"
        );
    }
}
