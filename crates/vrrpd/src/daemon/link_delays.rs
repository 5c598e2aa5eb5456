//! `interface_up_down_delays`: a link change of a listed interface reaches the instances only
//! once it has lasted the interface's delay (down or up); one undone before then (a bouncing
//! link) reaches them not at all, as keepalived 2.2.7 does (measured in the lab).
//!
//! As keepalived 2.2.7 (seen in the lab), a delay is at most [`ceiling`] of the advert
//! interval of every instance on the interface (so a backup cannot take over before this
//! instance faults), lowered for good when a backup there hears a master advertising faster;
//! a VMAC takes its parent's delays.
//!
//! A deleted link is not a bounce: as keepalived 2.2.7 (seen in the lab, `dynamic_interfaces`),
//! the deletion is passed on at once, and so is a link of that name created again until it
//! first comes up.

use std::collections::{BTreeMap, BTreeSet};
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
    /// Per interface name, the lowest ceiling a master's adverts imposed since the last load.
    learned: BTreeMap<String, Duration>,
    /// Names of deleted links: the next link of that name is a new one.
    deleted: BTreeSet<String>,
    /// New links of a deleted name that have not come up yet: not held.
    fresh: BTreeMap<u32, String>,
}

/// The longest delay keepalived lets stand beside an instance advertising every `interval`:
/// `down_timer_adverts - 1` intervals less 1/256 of one, in whole microseconds (2 s at
/// 1 s and the default 3 gives 1.996094 s, as keepalived logs it).
pub(super) fn ceiling(interval: Duration, down_timer_adverts: u32) -> Duration {
    let us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
    let n = u64::from(down_timer_adverts.saturating_sub(1));
    Duration::from_micros(us.saturating_mul(n).saturating_sub(us / 256))
}

/// `configured` with each of its delays shortened to `ceiling` at most.
pub(super) fn capped(configured: UpDownDelay, ceiling: Option<Duration>) -> UpDownDelay {
    let cap = |d: Duration| ceiling.map_or(d, |c| d.min(c));
    UpDownDelay {
        down: cap(configured.down),
        up: cap(configured.up),
    }
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
        if self.deleted.remove(name) {
            self.fresh.insert(ifindex, name.to_string());
        }
        if self.fresh.contains_key(&ifindex) {
            if up {
                self.fresh.remove(&ifindex);
            }
            return true;
        }
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

    /// The link `name` was deleted: its held change is dropped (the deletion itself is passed
    /// on at once), and the next link of that name is not held until it first comes up.
    pub(super) fn deleted(&mut self, name: &str) {
        self.pending.retain(|_, p| p.name != name);
        self.fresh.retain(|_, n| n != name);
        self.deleted.insert(name.to_string());
    }

    /// A master heard on `ifname` imposes `ceiling`: whether it is lower than any before.
    pub(super) fn lower_ceiling(&mut self, ifname: &str, ceiling: Duration) -> bool {
        match self.learned.get_mut(ifname) {
            Some(c) if *c <= ceiling => false,
            Some(c) => {
                *c = ceiling;
                true
            }
            None => {
                self.learned.insert(ifname.to_string(), ceiling);
                true
            }
        }
    }

    /// The ceiling masters' adverts imposed on `ifname`, if any.
    pub(super) fn learned_ceiling(&self, ifname: &str) -> Option<Duration> {
        self.learned.get(ifname).copied()
    }

    /// A new configuration: the delays are read afresh, as keepalived reads them on reload.
    pub(super) fn forget_learned(&mut self) {
        self.learned.clear();
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

    /// keepalived 2.2.7's figures in the lab: "delay by 1996094" (1 s), 3992188 (2 s), and
    /// 3996094 with `down_timer_adverts 5`.
    #[test]
    fn the_ceiling_is_keepalived_s() {
        let us = |n| Duration::from_micros(n);
        assert_eq!(ceiling(S(1), 3), us(1_996_094));
        assert_eq!(ceiling(S(2), 3), us(3_992_188));
        assert_eq!(ceiling(S(1), 5), us(3_996_094));
        assert_eq!(ceiling(S(1), 1), Duration::ZERO);
    }

    #[test]
    fn each_delay_is_capped_on_its_own() {
        let d = UpDownDelay {
            down: S(1),
            up: S(5),
        };
        let c = capped(d, Some(ceiling(S(1), 3)));
        assert_eq!((c.down, c.up), (S(1), Duration::from_micros(1_996_094)));
        assert_eq!(capped(d, None), d);
    }

    #[test]
    fn a_learned_ceiling_only_goes_down() {
        let mut d = LinkDelays::default();
        assert!(d.lower_ceiling("eth0", S(5)));
        assert!(!d.lower_ceiling("eth0", S(6)));
        assert!(d.lower_ceiling("eth0", S(2)));
        assert_eq!(d.learned_ceiling("eth0"), Some(S(2)));
        d.forget_learned();
        assert_eq!(d.learned_ceiling("eth0"), None);
    }

    #[test]
    fn a_deleted_link_drops_its_held_change_and_its_successor_is_not_held_until_up() {
        let mut d = LinkDelays::default();
        assert!(!d.on_change(2, "mv0", false, two_one(), S(10)));
        d.deleted("mv0");
        assert_eq!(d.next_deadline(), None);
        // Created down, then up: both at once; after that the delays hold again.
        assert!(d.on_change(7, "mv0", false, two_one(), S(10)));
        assert!(d.on_change(7, "mv0", true, two_one(), S(10)));
        assert!(!d.on_change(7, "mv0", false, two_one(), S(20)));
        // Another link's held change stays.
        assert!(!d.on_change(3, "eth0", false, two_one(), S(20)));
        d.deleted("mv1");
        assert_eq!(d.next_deadline(), Some(S(22)));
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
