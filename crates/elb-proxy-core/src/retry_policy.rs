//! The decisions of the retry and queue policy, shared by both engines: whether a failed
//! attempt may go to another member (`retry_on`, idempotency, whether anything was sent),
//! the retry budget that keeps retries a bounded share of requests, and queue admission.
//! Pure: the caller passes the time.

use std::time::{Duration, Instant};

use http::Method;

use crate::config::{RetryBudget, RetryOn};

/// How an attempt failed, in `retry_on`'s terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connect refused, reset or timed out, or a pooled connection found dead: nothing sent.
    ConnectFailure,
    /// The member closed or reset the connection before the answer's head.
    ResetBeforeResponse,
    /// No answer head in time.
    Timeout,
    /// The member answered with this status.
    Status(u16),
}

/// Whether `method` is idempotent (RFC 9110 9.2.2): a repeat has the effect of one.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether a request can be sent again after it (or part of it) went out: idempotent, and
/// without a body (the proxy streams bodies and keeps no copy).
pub fn replayable(method: &Method, has_body: bool) -> bool {
    is_idempotent(method) && !has_body
}

/// Whether `retry_on` names a failure that happens after the request was sent (so the
/// engine must keep what it needs to send it again).
pub fn retries_after_send(on: &[RetryOn]) -> bool {
    on.iter().any(|r| *r != RetryOn::ConnectFailure)
}

/// Whether `on` retries `failure`; `sent`: the request (or part of it) reached the member;
/// `replayable`: see [`replayable`]. Nothing sent is always safe; once sent, only a
/// replayable request is retried.
pub fn may_retry(on: &[RetryOn], failure: Failure, sent: bool, replayable: bool) -> bool {
    let listed = match failure {
        Failure::ConnectFailure => on.contains(&RetryOn::ConnectFailure),
        Failure::ResetBeforeResponse => on.contains(&RetryOn::ResetBeforeResponse),
        Failure::Timeout => on.contains(&RetryOn::Timeout),
        Failure::Status(502) => on.contains(&RetryOn::Status502),
        Failure::Status(503) => on.contains(&RetryOn::Status503),
        Failure::Status(504) => on.contains(&RetryOn::Status504),
        Failure::Status(_) => false,
    };
    listed && (!sent || replayable)
}

/// Buckets of the budget's sliding window.
const BUCKETS: usize = 10;

/// Requests and retries of a cluster over a sliding window (ten buckets).
#[derive(Debug, Clone)]
pub struct RetryBudgetState {
    budget: RetryBudget,
    /// (bucket number, requests, retries) per slot.
    slots: [(u64, u64, u64); BUCKETS],
    epoch: Instant,
}

impl RetryBudgetState {
    /// An empty window for `budget`; `now` starts its clock.
    pub fn new(budget: RetryBudget, now: Instant) -> Self {
        Self {
            budget,
            slots: [(0, 0, 0); BUCKETS],
            epoch: now,
        }
    }

    fn bucket_len(&self) -> Duration {
        (self.budget.window.0 / BUCKETS as u32).max(Duration::from_millis(1))
    }

    fn slot(&mut self, now: Instant) -> &mut (u64, u64, u64) {
        let n = (now.saturating_duration_since(self.epoch).as_nanos()
            / self.bucket_len().as_nanos()) as u64;
        let s = &mut self.slots[(n % BUCKETS as u64) as usize];
        if s.0 != n {
            *s = (n, 0, 0);
        }
        s
    }

    fn totals(&self, now: Instant) -> (u64, u64) {
        let n = (now.saturating_duration_since(self.epoch).as_nanos()
            / self.bucket_len().as_nanos()) as u64;
        self.slots
            .iter()
            .filter(|s| s.0 + (BUCKETS as u64) > n && s.0 <= n)
            .fold((0, 0), |(q, r), s| (q + s.1, r + s.2))
    }

    /// Counts a request (once, however often it is retried).
    pub fn on_request(&mut self, now: Instant) {
        self.slot(now).1 += 1;
    }

    /// Takes one retry from the budget; false when the window's share is spent.
    pub fn try_retry(&mut self, now: Instant) -> bool {
        let (requests, retries) = self.totals(now);
        let share = requests * u64::from(self.budget.percent.0) / 100;
        if retries >= share.max(u64::from(self.budget.min_retries)) {
            return false;
        }
        self.slot(now).2 += 1;
        true
    }
}

/// The cluster queue's admission: at most `limit` requests wait for a member.
#[derive(Debug, Clone, Default)]
pub struct QueueState {
    limit: usize,
    waiting: usize,
    peak: usize,
}

impl QueueState {
    /// A queue of `limit` places (0: none, a request finding every member full gets 503).
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            waiting: 0,
            peak: 0,
        }
    }

    /// Takes a place; false when the queue is full.
    pub fn enter(&mut self) -> bool {
        if self.waiting >= self.limit {
            return false;
        }
        self.waiting += 1;
        self.peak = self.peak.max(self.waiting);
        true
    }

    /// Gives a place back (served, timed out or gone).
    pub fn leave(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
    }

    /// Requests waiting now (`qcur`).
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Most requests that waited at once (`qmax`).
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// The queue's size (`qlimit`).
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Dur, Percent};

    const ALL: [RetryOn; 6] = [
        RetryOn::ConnectFailure,
        RetryOn::ResetBeforeResponse,
        RetryOn::Status502,
        RetryOn::Status503,
        RetryOn::Status504,
        RetryOn::Timeout,
    ];

    #[test]
    fn after_sending_only_replayable_requests_are_retried() {
        let get = replayable(&Method::GET, false);
        let post = replayable(&Method::POST, true);
        let put_with_body = replayable(&Method::PUT, true);
        assert!(get && !post && !put_with_body);
        assert!(may_retry(&ALL, Failure::Status(503), true, get));
        assert!(!may_retry(&ALL, Failure::Status(503), true, post));
        assert!(
            !may_retry(&ALL, Failure::Status(500), true, get),
            "500 is not listed"
        );
        // Nothing sent: a POST may go to another member.
        assert!(may_retry(&ALL, Failure::ConnectFailure, false, post));
        // Only what retry_on lists.
        let connect_only = [RetryOn::ConnectFailure];
        assert!(!may_retry(&connect_only, Failure::Timeout, true, get));
        assert!(!may_retry(&connect_only, Failure::Status(502), true, get));
        assert!(!retries_after_send(&connect_only) && retries_after_send(&ALL));
        assert!(!may_retry(
            &[RetryOn::Status503],
            Failure::ConnectFailure,
            false,
            get
        ));
    }

    fn budget(percent: u32, min: u32) -> RetryBudget {
        RetryBudget {
            percent: Percent(percent),
            window: Dur(Duration::from_secs(10)),
            min_retries: min,
        }
    }

    #[test]
    fn the_budget_caps_retries_at_their_share_of_the_window_and_refills() {
        let t0 = Instant::now();
        let mut b = RetryBudgetState::new(budget(20, 3), t0);
        for _ in 0..100 {
            b.on_request(t0);
        }
        let granted = (0..100).filter(|_| b.try_retry(t0)).count();
        assert_eq!(granted, 20, "20 % of 100 requests");
        // Half a window later the old requests still count; a full window later they do not.
        let t1 = t0 + Duration::from_secs(5);
        assert!(!b.try_retry(t1));
        let t2 = t0 + Duration::from_secs(11);
        for _ in 0..10 {
            b.on_request(t2);
        }
        // 10 requests: 2 by the share, but the minimum of 3 holds.
        assert_eq!((0..10).filter(|_| b.try_retry(t2)).count(), 3);
    }

    #[test]
    fn the_queue_admits_up_to_its_limit_and_remembers_its_peak() {
        let mut q = QueueState::new(2);
        assert!(q.enter() && q.enter());
        assert!(!q.enter(), "full");
        q.leave();
        assert!(q.enter());
        assert_eq!((q.waiting(), q.peak(), q.limit()), (2, 2, 2));
        q.leave();
        q.leave();
        q.leave();
        assert_eq!(q.waiting(), 0);
        assert!(
            !QueueState::new(0).enter(),
            "no queue: every request refused"
        );
    }
}
