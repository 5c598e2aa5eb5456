//! The pause between two gratuitous ARPs (or two NAs) on one interface, as keepalived 2.2.7
//! keeps it (measured in the lab): `vrrp_garp_interval` / `vrrp_gna_interval` per interface,
//! each interface paced on its own; a `garp_group` sets its own pauses and paces all its
//! interfaces together (the group's switch sees one stream). The pacing spans every
//! announcement, so two instances' bursts on one interface do not add up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::spec::DaemonSpec;

/// Which pacing slot an interface's ARPs (or NAs) take, and the pause of that slot.
pub(super) fn slot_of(spec: &DaemonSpec, ifname: &str, v6: bool) -> (String, Duration) {
    let global = if v6 {
        spec.gna_interval
    } else {
        spec.garp_interval
    };
    let family = if v6 { "na" } else { "arp" };
    match spec
        .garp_groups
        .iter()
        .position(|g| g.interfaces.iter().any(|i| i == ifname))
    {
        Some(n) => {
            let g = &spec.garp_groups[n];
            let own = if v6 { g.gna_interval } else { g.garp_interval };
            (format!("group {n} {family}"), own.unwrap_or(global))
        }
        None => (format!("{ifname} {family}"), global),
    }
}

/// The next free moment of each slot.
#[derive(Debug, Default)]
pub(super) struct Slots {
    next: Mutex<HashMap<String, Instant>>,
}

impl Slots {
    /// Reserves the first free moment of `slot` at or after `now`; the slot is then busy for
    /// `gap`.
    pub(super) fn reserve(&self, slot: &str, gap: Duration, now: Instant) -> Instant {
        let mut next = self.next.lock().expect("slots lock");
        let free = next.entry(slot.to_string()).or_insert(now);
        let at = (*free).max(now);
        *free = at + gap;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_conf::GarpGroup;

    fn spec() -> DaemonSpec {
        DaemonSpec {
            garp_interval: Duration::from_millis(100),
            gna_interval: Duration::from_millis(50),
            garp_groups: vec![GarpGroup {
                garp_interval: Some(Duration::from_millis(300)),
                gna_interval: None,
                interfaces: vec!["eth1".into(), "eth2".into()],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_groups_interfaces_share_one_slot_with_the_groups_pause() {
        let s = spec();
        assert_eq!(slot_of(&s, "eth1", false), slot_of(&s, "eth2", false));
        assert_eq!(slot_of(&s, "eth1", false).1, Duration::from_millis(300));
        // The group sets no NA pause: the global one.
        assert_eq!(slot_of(&s, "eth1", true).1, Duration::from_millis(50));
        assert_ne!(slot_of(&s, "eth1", true).0, slot_of(&s, "eth1", false).0);
    }

    #[test]
    fn other_interfaces_are_paced_each_on_its_own_at_the_global_pause() {
        let s = spec();
        let (a, gap) = slot_of(&s, "eth0", false);
        assert_eq!(gap, Duration::from_millis(100));
        assert_ne!(a, slot_of(&s, "eth3", false).0);
    }

    #[test]
    fn reservations_follow_each_other_by_the_gap_across_announcements() {
        let slots = Slots::default();
        let t0 = Instant::now();
        let gap = Duration::from_millis(300);
        assert_eq!(slots.reserve("g", gap, t0), t0);
        assert_eq!(slots.reserve("g", gap, t0), t0 + gap);
        // Another slot is free at once.
        assert_eq!(slots.reserve("h", gap, t0), t0);
        // Long after, the slot is free again at once.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(slots.reserve("g", gap, later), later);
    }
}
