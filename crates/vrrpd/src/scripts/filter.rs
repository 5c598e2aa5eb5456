//! The rise/fall filter of one tracker, plus pushed overrides (`track NAME up|down` on the
//! control socket). Pure: results go in, state changes come out.
//!
//! A pushed state takes effect at once and holds until a script result agrees with it; from
//! then on the script's results drive the state again through the normal rise/fall counts.
//! So `track chk down` before a planned stop of the balancer moves the VIP immediately and is
//! not undone by a script run that still passes while the balancer drains.

/// What a change of state was caused by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeCause {
    /// `rise` consecutive successes or `fall` consecutive failures.
    Counted {
        /// How many in a row.
        consecutive: u32,
    },
    /// A push from the control socket.
    Pushed,
}

/// A filtered state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The new state.
    pub up: bool,
    /// What caused it.
    pub cause: ChangeCause,
}

/// Rise/fall state of one tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    up: bool,
    consecutive_ok: u32,
    consecutive_fail: u32,
    pushed: Option<bool>,
}

impl RiseFall {
    /// Starts up, or down with `init_fail`. `rise`/`fall` of 0 are treated as 1.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            up: !init_fail,
            consecutive_ok: 0,
            consecutive_fail: 0,
            pushed: None,
        }
    }

    /// The current filtered state.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Whether a pushed state is currently overriding the script.
    pub fn pushed(&self) -> Option<bool> {
        self.pushed
    }

    /// Feeds one script result; returns the change if the filtered state flipped.
    pub fn observe(&mut self, ok: bool) -> Option<Change> {
        if ok {
            self.consecutive_ok = self.consecutive_ok.saturating_add(1);
            self.consecutive_fail = 0;
        } else {
            self.consecutive_fail = self.consecutive_fail.saturating_add(1);
            self.consecutive_ok = 0;
        }
        if let Some(pushed) = self.pushed {
            if pushed != ok {
                return None;
            }
            // The script now agrees with the push: hand control back to it.
            self.pushed = None;
            return None;
        }
        if !self.up && ok && self.consecutive_ok >= self.rise {
            self.up = true;
            return Some(Change {
                up: true,
                cause: ChangeCause::Counted {
                    consecutive: self.consecutive_ok,
                },
            });
        }
        if self.up && !ok && self.consecutive_fail >= self.fall {
            self.up = false;
            return Some(Change {
                up: false,
                cause: ChangeCause::Counted {
                    consecutive: self.consecutive_fail,
                },
            });
        }
        None
    }

    /// Applies a pushed state; returns the change if the filtered state flipped.
    pub fn push(&mut self, up: bool) -> Option<Change> {
        self.pushed = Some(up);
        self.consecutive_ok = 0;
        self.consecutive_fail = 0;
        if self.up == up {
            return None;
        }
        self.up = up;
        Some(Change {
            up,
            cause: ChangeCause::Pushed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(f: &mut RiseFall, results: &[bool]) -> Vec<Option<bool>> {
        results
            .iter()
            .map(|&ok| f.observe(ok).map(|c| c.up))
            .collect()
    }

    #[test]
    fn fall_needs_consecutive_failures_and_a_success_resets_the_count() {
        let mut f = RiseFall::new(2, 3, false);
        assert_eq!(
            feed(&mut f, &[false, false, true, false, false, false]),
            [None, None, None, None, None, Some(false)]
        );
        assert!(!f.is_up());
    }

    #[test]
    fn rise_needs_consecutive_successes() {
        let mut f = RiseFall::new(2, 1, true);
        assert!(!f.is_up());
        assert_eq!(
            feed(&mut f, &[true, false, true, true, true]),
            [None, None, None, Some(true), None]
        );
        assert_eq!(
            f.observe(false),
            Some(Change {
                up: false,
                cause: ChangeCause::Counted { consecutive: 1 }
            })
        );
    }

    #[test]
    fn push_down_holds_against_passing_runs_until_a_failure_agrees() {
        let mut f = RiseFall::new(1, 1, false);
        assert_eq!(f.push(false).map(|c| c.cause), Some(ChangeCause::Pushed));
        assert_eq!(feed(&mut f, &[true, true]), [None, None]);
        assert!(!f.is_up());
        // The script fails (the balancer has stopped): the push is released...
        assert_eq!(f.observe(false), None);
        assert_eq!(f.pushed(), None);
        // ...and the script drives the state again (rise 1).
        assert_eq!(f.observe(true).map(|c| c.up), Some(true));
    }

    #[test]
    fn push_to_the_current_state_changes_nothing() {
        let mut f = RiseFall::new(1, 1, false);
        assert_eq!(f.push(true), None);
        assert_eq!(f.observe(true), None);
        assert_eq!(f.pushed(), None);
    }
}
