//! Log rate limiting per key, so a flood of bad packets cannot fill the journal: the first
//! occurrence is logged, then at most one line per window with the count suppressed meanwhile.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Lets one log line per key through per window, counting the rest, so a flood of bad packets cannot flood the log.
pub struct RateLimiter<K> {
    window: Duration,
    seen: HashMap<K, (Instant, u64)>,
}

/// Whether to log now, and how many occurrences were suppressed since the last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log now.
    Log {
        /// Occurrences not logged since the last line.
        suppressed: u64,
    },
    /// Stay quiet; the occurrence is counted.
    Suppress,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// A limiter allowing one line per key per `window`.
    pub fn new(window: Duration) -> Self {
        RateLimiter {
            window,
            seen: HashMap::new(),
        }
    }

    /// Whether an occurrence of `key` at `now` is logged.
    pub fn check(&mut self, key: K, now: Instant) -> Verdict {
        match self.seen.get_mut(&key) {
            None => {
                if self.seen.len() > 4096 {
                    self.seen.clear();
                }
                self.seen.insert(key, (now, 0));
                Verdict::Log { suppressed: 0 }
            }
            Some((last, suppressed)) => {
                if now.duration_since(*last) >= self.window {
                    let s = *suppressed;
                    *last = now;
                    *suppressed = 0;
                    Verdict::Log { suppressed: s }
                } else {
                    *suppressed += 1;
                    Verdict::Suppress
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_logs_then_suppresses_within_window() {
        let mut r = RateLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.check("a", t0), Verdict::Log { suppressed: 0 });
        assert_eq!(r.check("a", t0 + Duration::from_secs(1)), Verdict::Suppress);
        assert_eq!(r.check("a", t0 + Duration::from_secs(2)), Verdict::Suppress);
        assert_eq!(
            r.check("b", t0 + Duration::from_secs(2)),
            Verdict::Log { suppressed: 0 }
        );
        assert_eq!(
            r.check("a", t0 + Duration::from_secs(11)),
            Verdict::Log { suppressed: 2 }
        );
    }
}
