//! The up/down decision over consecutive probes, with keepalived's `rise`
//! and `fall`: a change needs that many results in a row. Pure.

/// The tracked state and the run of results against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    up: Option<bool>,
    against: u32,
    rise: u32,
    fall: u32,
}

impl Health {
    /// No state until the first result, which decides at once.
    pub fn new(rise: u32, fall: u32) -> Self {
        Self {
            up: None,
            against: 0,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// The current state (None before the first result).
    pub fn up(&self) -> Option<bool> {
        self.up
    }

    /// Counts one result; returns the new state when it changed.
    pub fn record(&mut self, healthy: bool) -> Option<bool> {
        match self.up {
            None => {
                self.up = Some(healthy);
                Some(healthy)
            }
            Some(up) if up == healthy => {
                self.against = 0;
                None
            }
            Some(up) => {
                self.against += 1;
                let needed = if up { self.fall } else { self.rise };
                if self.against < needed {
                    return None;
                }
                self.against = 0;
                self.up = Some(healthy);
                Some(healthy)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_result_decides_then_rise_and_fall_count() {
        let mut h = Health::new(2, 3);
        assert_eq!(h.record(true), Some(true));
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None, "a success resets the run");
        assert_eq!((h.record(false), h.record(false)), (None, None));
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(true));
        assert_eq!(h.up(), Some(true));
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_result() {
        let mut h = Health::new(0, 1);
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), Some(true));
        assert_eq!(h.record(false), Some(false));
    }
}
