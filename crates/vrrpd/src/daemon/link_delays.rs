//! `interface_up_down_delays`: a link change of a listed interface reaches the instances only
//! once it has lasted the interface's delay (down or up); one undone before then (a bouncing
//! link) reaches them not at all, as keepalived 2.2.7 does (measured in the lab).

use std::collections::BTreeMap;
use std::time::Duration;

use keepalived_conf::UpDownDelay;

/// A change waiting for its delay.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    name: String,
    up: bool,
    at: Duration,
}

/// The held link changes, by interface index.
#[derive(Debug, Default)]
pub(super) struct LinkDelays {
    pending: BTreeMap<u32, Pending>,
}

impl LinkDelays {
    /// A change of `ifindex` to `up` at `now`: whether the instances hear it now. A change
    /// back to the state before a held one cancels both.
    pub(super) fn on_change(
        &mut self,
        ifindex: u32,
        name: &str,
        up: bool,
        delay: Option<UpDownDelay>,
        now: Duration,
    ) -> bool {
        if let Some(p) = self.pending.remove(&ifindex) {
            if p.up != up {
                return false;
            }
            self.pending.insert(ifindex, p);
            return false;
        }
        let wait = delay.map_or(Duration::ZERO, |d| if up { d.up } else { d.down });
        if wait.is_zero() {
            return true;
        }
        self.pending.insert(
            ifindex,
            Pending {
                name: name.to_string(),
                up,
                at: now + wait,
            },
        );
        false
    }

    /// The earliest held change's moment.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        self.pending.values().map(|p| p.at).min()
    }

    /// The changes whose delay has passed at `now`: (index, name, up).
    pub(super) fn due(&mut self, now: Duration) -> Vec<(u32, String, bool)> {
        let due: Vec<u32> = (self.pending.iter())
            .filter(|(_, p)| p.at <= now)
            .map(|(i, _)| *i)
            .collect();
        due.into_iter()
            .filter_map(|i| self.pending.remove(&i).map(|p| (i, p.name, p.up)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn two_one() -> Option<UpDownDelay> {
        Some(UpDownDelay {
            down: S(2),
            up: S(1),
        })
    }

    #[test]
    fn an_interface_without_delays_acts_at_once() {
        let mut d = LinkDelays::default();
        assert!(d.on_change(2, "eth0", false, None, S(0)));
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_change_lasting_its_delay_is_delivered_then() {
        let mut d = LinkDelays::default();
        assert!(!d.on_change(2, "eth0", false, two_one(), S(10)));
        assert_eq!(d.next_deadline(), Some(S(12)));
        assert!(d.due(S(11)).is_empty());
        assert_eq!(d.due(S(12)), [(2, "eth0".to_string(), false)]);
        // Up again: held for the up delay.
        assert!(!d.on_change(2, "eth0", true, two_one(), S(20)));
        assert_eq!(d.next_deadline(), Some(S(21)));
    }

    #[test]
    fn a_bounce_shorter_than_the_delay_is_never_delivered() {
        let mut d = LinkDelays::default();
        assert!(!d.on_change(2, "eth0", false, two_one(), S(10)));
        assert!(!d.on_change(2, "eth0", true, two_one(), S(11)));
        assert_eq!(d.next_deadline(), None);
        assert!(d.due(S(30)).is_empty());
    }
}
