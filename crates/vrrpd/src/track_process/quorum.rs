//! Whether a tracked process counts as up: `quorum <= count <= quorum_max`, reported after
//! `fork_delay` when a process appeared and `terminate_delay` when one went away, so a
//! restart or a fork/exec within the delay does not bounce the instance. Time is a
//! parameter (pure).

use std::time::{Duration, Instant};

/// What made the count change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A process started, exec'd or was renamed into the match (or found by a scan).
    Appeared,
    /// A matching process exited (or stopped matching).
    Vanished,
}

/// The quorum rule and delays of one tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumRule {
    /// `quorum`: at least this many must run.
    pub quorum: u32,
    /// `quorum_max`: at most this many may run.
    pub quorum_max: Option<u32>,
    /// `fork_delay`: how long a rise waits before it counts.
    pub fork_delay: Duration,
    /// `terminate_delay`: how long a fall waits before it counts.
    pub terminate_delay: Duration,
}

impl QuorumRule {
    /// The state `count` processes stand for, without delay.
    pub fn up(&self, count: usize) -> bool {
        let n = u32::try_from(count).unwrap_or(u32::MAX);
        n >= self.quorum && self.quorum_max.is_none_or(|max| n <= max)
    }
}

/// The state reported and a change waiting for its delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumState {
    /// The rule it applies.
    pub rule: QuorumRule,
    reported: Option<bool>,
    pending: Option<(bool, Instant)>,
}

impl QuorumState {
    /// A state that has reported nothing yet.
    pub fn new(rule: QuorumRule) -> Self {
        QuorumState {
            rule,
            reported: None,
            pending: None,
        }
    }

    /// The state last reported (None before the first count).
    pub fn reported(&self) -> Option<bool> {
        self.reported
    }

    /// A new count; returns the state to report now, if it changes now. The first count is
    /// reported at once (the state at start has no delay).
    pub fn on_count(&mut self, count: usize, cause: Cause, now: Instant) -> Option<bool> {
        let up = self.rule.up(count);
        if self.reported.is_none() {
            self.reported = Some(up);
            return Some(up);
        }
        if self.reported == Some(up) {
            // Back to what was reported before the delay ran out: nothing happened.
            self.pending = None;
            return None;
        }
        if self.pending.is_some_and(|(p, _)| p == up) {
            return None; // already waiting for this change
        }
        let delay = match cause {
            Cause::Appeared => self.rule.fork_delay,
            Cause::Vanished => self.rule.terminate_delay,
        };
        if delay.is_zero() {
            self.reported = Some(up);
            self.pending = None;
            return Some(up);
        }
        self.pending = Some((up, now + delay));
        None
    }

    /// When the waiting change is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }

    /// The state to report when the delay has run out at `now`.
    pub fn on_time(&mut self, now: Instant) -> Option<bool> {
        match self.pending {
            Some((up, at)) if at <= now => {
                self.pending = None;
                self.reported = Some(up);
                Some(up)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(quorum: u32, max: Option<u32>, fork_ms: u64, term_ms: u64) -> QuorumRule {
        QuorumRule {
            quorum,
            quorum_max: max,
            fork_delay: Duration::from_millis(fork_ms),
            terminate_delay: Duration::from_millis(term_ms),
        }
    }

    #[test]
    fn quorum_bounds_decide_up() {
        let r = rule(2, Some(3), 0, 0);
        assert_eq!(
            (r.up(1), r.up(2), r.up(3), r.up(4)),
            (false, true, true, false)
        );
        // quorum_max 0: up only while no such process runs (with weight 0 reverse usage).
        let absent = rule(1, Some(0), 0, 0);
        assert!(!absent.up(0) && !absent.up(1));
        let unbounded = rule(1, None, 0, 0);
        assert!(unbounded.up(1000));
    }

    #[test]
    fn a_change_waits_for_its_delay_and_a_bounce_cancels_it() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut s = QuorumState::new(rule(1, None, 100, 500));
        assert_eq!(
            s.on_count(1, Cause::Appeared, t0),
            Some(true),
            "first count at once"
        );
        // The process exits: down only after terminate_delay.
        assert_eq!(s.on_count(0, Cause::Vanished, ms(10)), None);
        assert_eq!(s.deadline(), Some(ms(510)));
        assert_eq!(s.on_time(ms(400)), None);
        // It comes back within the delay: nothing is reported, the wait is cancelled.
        assert_eq!(s.on_count(1, Cause::Appeared, ms(450)), None);
        assert_eq!((s.deadline(), s.on_time(ms(600))), (None, None));
        // It exits for good: down at the deadline.
        assert_eq!(s.on_count(0, Cause::Vanished, ms(700)), None);
        assert_eq!(s.on_time(ms(1200)), Some(false));
        // It starts again: up after fork_delay.
        assert_eq!(s.on_count(1, Cause::Appeared, ms(1300)), None);
        assert_eq!(s.on_time(ms(1400)), Some(true));
        assert_eq!(s.reported(), Some(true));
    }

    #[test]
    fn without_delays_changes_are_reported_at_once() {
        let t0 = Instant::now();
        let mut s = QuorumState::new(rule(1, None, 0, 0));
        assert_eq!(s.on_count(0, Cause::Vanished, t0), Some(false));
        assert_eq!(s.on_count(1, Cause::Appeared, t0), Some(true));
        assert_eq!(s.on_count(2, Cause::Appeared, t0), None);
        assert_eq!(s.on_count(0, Cause::Vanished, t0), Some(false));
    }
}
