//! An instance's effective priority from its base priority and its trackers (reference c.8),
//! and the weight check keepalived lacks: can any tracker failure move this node below its
//! peer at all? Pure functions; the daemon calls them whenever a tracker or a peer's
//! advertised priority changes.

use serde::Serialize;

/// Lowest and highest priority a non-owner may advertise.
pub const MIN_PRIORITY: u8 = 1;
/// The highest priority a non-owner may advertise (255 is the address owner's).
pub const MAX_PRIORITY: u8 = 254;
/// The address owner's priority: never adjusted by weights.
pub const OWNER_PRIORITY: u8 = 255;

/// The current state of one tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackedState {
    /// Script passing, interface up.
    Up,
    /// Script failing, interface down.
    Down,
    /// The integer read from a `track_file`.
    Value(i64),
}

/// One tracker as an instance sees it: its weight (after any `track_script { NAME weight N }`
/// override) and its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerInput {
    /// The tracker's name.
    pub name: String,
    /// Its weight (0: a failure means FAULT).
    pub weight: i64,
    /// `reverse`: the weight applies while it passes.
    pub reverse: bool,
    /// Its current state.
    pub state: TrackedState,
}

/// The result of combining base priority and trackers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effective {
    /// Advertise this priority.
    Priority(u8),
    /// An unweighted tracker failed (or a file's weighted value fell below -253).
    Fault {
        /// The tracker that forced it.
        tracker: String,
    },
}

/// The adjustment one tracker contributes, or `None` when it forces FAULT.
///
/// Up/down trackers: weight > 0 adds while up, weight < 0 subtracts while down, weight 0
/// means FAULT while down. `reverse` flips the sign of the adjustment (keepalived's "the
/// direction of the adjustment is reversed"). Files: value × weight (× -1 with `reverse`);
/// weight 0 with a non-zero value, or a product below -253, is FAULT.
pub fn adjustment(tracker: &TrackerInput) -> Option<i64> {
    let sign = if tracker.reverse { -1 } else { 1 };
    match tracker.state {
        TrackedState::Up | TrackedState::Down => {
            let up = tracker.state == TrackedState::Up;
            match tracker.weight {
                0 if up => Some(0),
                0 => None,
                w if w > 0 && up => Some(sign * w),
                w if w < 0 && !up => Some(sign * w),
                _ => Some(0),
            }
        }
        TrackedState::Value(v) => {
            if tracker.weight == 0 {
                return (v == 0).then_some(0);
            }
            let product = v.saturating_mul(tracker.weight).saturating_mul(sign);
            (product >= -253).then_some(product)
        }
    }
}

/// Combines `base` with every tracker: FAULT if any tracker forces it, otherwise the sum
/// clamped to 1..=254. A priority-255 owner is never adjusted.
pub fn effective_priority(base: u8, trackers: &[TrackerInput]) -> Effective {
    let mut sum: i64 = i64::from(base);
    for t in trackers {
        match adjustment(t) {
            Some(adj) => sum = sum.saturating_add(adj),
            None => {
                return Effective::Fault {
                    tracker: t.name.clone(),
                };
            }
        }
    }
    if base == OWNER_PRIORITY {
        return Effective::Priority(OWNER_PRIORITY);
    }
    Effective::Priority(clamp(sum))
}

fn clamp(raw: i64) -> u8 {
    raw.clamp(i64::from(MIN_PRIORITY), i64::from(MAX_PRIORITY)) as u8
}

/// A tracker's weight as configured, for the weight check (no state needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerWeight {
    /// The tracker's name.
    pub name: String,
    /// Its weight.
    pub weight: i64,
    /// `reverse`: the weight applies while it passes.
    pub reverse: bool,
}

/// What the weight check found, given this node's healthy priority and a peer's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum WeightCheck {
    /// Healthy, both nodes have the same priority: the tie is decided by address.
    NotAbove {
        /// This node's priority with every tracker passing.
        healthy: u8,
        /// The peer's advertised priority.
        peer: u8,
    },
    /// These trackers' failure alone (FAULT, or a priority below the peer's) hands over.
    Crosses {
        /// This node's priority with every tracker passing.
        healthy: u8,
        /// The peer's advertised priority.
        peer: u8,
        /// The trackers whose failure alone hands over.
        by: Vec<String>,
    },
    /// No single tracker failure moves this node below the peer.
    CannotCross {
        /// This node's priority with every tracker passing.
        healthy: u8,
        /// The peer's advertised priority.
        peer: u8,
        /// The lowest priority reachable by one tracker failing.
        lowest_single: u8,
        /// The priority with every tracker failing (may still not cross).
        all_failing: u8,
        /// A weight that would make one failure cross: ±(healthy - peer + 1).
        suggested_weight: i64,
    },
    /// Seen from a backup (the peer is above this node): if the master tracks with the same
    /// weights as this node (the usual case: one config on both), no single tracker failure
    /// on the master brings it below this node. A backup is the node that can see this,
    /// since only the master sends adverts.
    PeerCannotCross {
        /// This node's priority with every tracker passing.
        healthy: u8,
        /// The master's advertised priority.
        peer: u8,
        /// The lowest priority the master reaches with one tracker failing.
        peer_lowest_single: u8,
        /// A weight that would work on both nodes: ±(peer - healthy + 1).
        suggested_weight: i64,
    },
}

impl WeightCheck {
    /// One log/status line, or `None` when nothing is wrong.
    pub fn warning(&self, instance: &str) -> Option<String> {
        match self {
            WeightCheck::CannotCross {
                healthy,
                peer,
                lowest_single,
                suggested_weight,
                ..
            } => Some(format!(
                "{instance}: no tracker failure can cause failover: healthy priority {healthy}, \
                 lowest with one tracker failing {lowest_single}, peer advertises {peer}; \
                 a weight of {suggested_weight} (or 0 for FAULT) would work"
            )),
            WeightCheck::PeerCannotCross {
                healthy,
                peer,
                peer_lowest_single,
                suggested_weight,
            } => Some(format!(
                "{instance}: if the master tracks with the same weights as this node, no \
                 tracker failure there can cause failover: it advertises {peer}, at least \
                 {peer_lowest_single} with one tracker failing, this node has {healthy}; a \
                 weight of {suggested_weight} (or 0 for FAULT) would work"
            )),
            _ => None,
        }
    }
}

/// Can a tracker failure hand the VIP over between this node (base priority `base`,
/// trackers `weights`) and a peer advertising `peer`?
///
/// Above the peer (this node is the preferred master): can one of its own trackers failing
/// take it strictly below `peer` (or into FAULT)? Below the peer (this node is the backup,
/// the one that sees the master's adverts): assuming the master tracks with the same
/// weights, can one failure there take it below this node? Equal priorities are not counted
/// as crossing: the tie is decided by IP address, not by health.
pub fn check_weights(base: u8, weights: &[TrackerWeight], peer: u8) -> WeightCheck {
    let as_input = |w: &TrackerWeight, state| TrackerInput {
        name: w.name.clone(),
        weight: w.weight,
        reverse: w.reverse,
        state,
    };
    let healthy_inputs: Vec<_> = weights
        .iter()
        .map(|w| as_input(w, TrackedState::Up))
        .collect();
    let healthy = match effective_priority(base, &healthy_inputs) {
        Effective::Priority(p) => p,
        Effective::Fault { .. } => MIN_PRIORITY,
    };
    if healthy == peer {
        return WeightCheck::NotAbove { healthy, peer };
    }
    if healthy < peer {
        return check_as_backup(healthy, weights, peer);
    }
    let mut by = Vec::new();
    let mut lowest_single = healthy;
    for (i, w) in weights.iter().enumerate() {
        let mut inputs = healthy_inputs.clone();
        inputs[i].state = TrackedState::Down;
        match effective_priority(base, &inputs) {
            Effective::Fault { .. } => by.push(w.name.clone()),
            Effective::Priority(p) => {
                lowest_single = lowest_single.min(p);
                if p < peer {
                    by.push(w.name.clone());
                }
            }
        }
    }
    if !by.is_empty() {
        return WeightCheck::Crosses { healthy, peer, by };
    }
    let all_down: Vec<_> = weights
        .iter()
        .map(|w| as_input(w, TrackedState::Down))
        .collect();
    let all_failing = match effective_priority(base, &all_down) {
        Effective::Priority(p) => p,
        Effective::Fault { .. } => MIN_PRIORITY,
    };
    let magnitude = i64::from(healthy) - i64::from(peer) + 1;
    // Keep the sign convention the user chose; a config without weights gets a negative one.
    let positive = weights.first().is_some_and(|w| w.weight > 0);
    WeightCheck::CannotCross {
        healthy,
        peer,
        lowest_single,
        all_failing,
        suggested_weight: if positive { magnitude } else { -magnitude },
    }
}

/// The backup's view: the master advertises `peer` (healthy); assuming it has trackers
/// with the same weights as `weights`, can one failure there bring it below `healthy`?
fn check_as_backup(healthy: u8, weights: &[TrackerWeight], peer: u8) -> WeightCheck {
    let mut by = Vec::new();
    let mut peer_lowest_single = peer;
    for w in weights {
        if w.weight == 0 {
            by.push(w.name.clone());
            continue;
        }
        if peer == OWNER_PRIORITY {
            continue;
        }
        // Whichever direction, one tracker's failure moves a priority by |weight|.
        let dropped = clamp(i64::from(peer) - w.weight.abs());
        peer_lowest_single = peer_lowest_single.min(dropped);
        if dropped < healthy {
            by.push(w.name.clone());
        }
    }
    if !by.is_empty() {
        return WeightCheck::Crosses { healthy, peer, by };
    }
    let magnitude = i64::from(peer) - i64::from(healthy) + 1;
    let positive = weights.first().is_some_and(|w| w.weight > 0);
    WeightCheck::PeerCannotCross {
        healthy,
        peer,
        peer_lowest_single,
        suggested_weight: if positive { magnitude } else { -magnitude },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, weight: i64, reverse: bool, state: TrackedState) -> TrackerInput {
        TrackerInput {
            name: name.into(),
            weight,
            reverse,
            state,
        }
    }
    fn w(name: &str, weight: i64) -> TrackerWeight {
        TrackerWeight {
            name: name.into(),
            weight,
            reverse: false,
        }
    }
    use TrackedState::{Down, Up, Value};

    #[test]
    fn positive_weight_adds_while_up_negative_subtracts_while_down() {
        assert_eq!(
            effective_priority(100, &[t("a", 10, false, Up)]),
            Effective::Priority(110)
        );
        assert_eq!(
            effective_priority(100, &[t("a", 10, false, Down)]),
            Effective::Priority(100)
        );
        assert_eq!(
            effective_priority(100, &[t("a", -10, false, Up)]),
            Effective::Priority(100)
        );
        assert_eq!(
            effective_priority(100, &[t("a", -10, false, Down)]),
            Effective::Priority(90)
        );
    }

    #[test]
    fn reverse_flips_the_direction() {
        assert_eq!(
            effective_priority(100, &[t("a", 10, true, Up)]),
            Effective::Priority(90)
        );
        assert_eq!(
            effective_priority(100, &[t("a", -10, true, Down)]),
            Effective::Priority(110)
        );
    }

    /// Effective priorities read from keepalived 2.2.7's SIGUSR1 dump (base 100), one
    /// tracker each: the oracle for `reverse`.
    #[test]
    fn reverse_matches_keepalived_2_2_7_observations() {
        for (weight, state, want) in [
            (10, Up, 90),
            (7, Down, 100),
            (-3, Up, 100),
            (-3, Down, 103),
            (5, Value(2), 90),
        ] {
            assert_eq!(
                effective_priority(100, &[t("x", weight, true, state)]),
                Effective::Priority(want),
                "weight {weight} reverse, {state:?}"
            );
        }
    }

    #[test]
    fn weight_zero_failure_is_fault() {
        assert_eq!(
            effective_priority(100, &[t("ok", 5, false, Up), t("chk", 0, false, Down)]),
            Effective::Fault {
                tracker: "chk".into()
            }
        );
        assert_eq!(
            effective_priority(255, &[t("chk", 0, false, Down)]),
            Effective::Fault {
                tracker: "chk".into()
            }
        );
    }

    #[test]
    fn clamped_to_1_254_and_owner_never_adjusted() {
        assert_eq!(
            effective_priority(250, &[t("a", 50, false, Up)]),
            Effective::Priority(254)
        );
        assert_eq!(
            effective_priority(5, &[t("a", -50, false, Down)]),
            Effective::Priority(1)
        );
        assert_eq!(
            effective_priority(255, &[t("a", -50, false, Down)]),
            Effective::Priority(255)
        );
    }

    #[test]
    fn track_file_value_times_weight_and_fault_rules() {
        assert_eq!(
            effective_priority(100, &[t("f", 3, false, Value(-4))]),
            Effective::Priority(88)
        );
        assert_eq!(
            effective_priority(100, &[t("f", 3, true, Value(-4))]),
            Effective::Priority(112)
        );
        assert_eq!(
            effective_priority(100, &[t("f", 0, false, Value(0))]),
            Effective::Priority(100)
        );
        assert!(matches!(
            effective_priority(100, &[t("f", 0, false, Value(1))]),
            Effective::Fault { .. }
        ));
        assert!(matches!(
            effective_priority(100, &[t("f", 1, false, Value(-254))]),
            Effective::Fault { .. }
        ));
        assert!(matches!(
            effective_priority(100, &[t("f", i64::MAX, false, Value(i64::MIN))]),
            Effective::Fault { .. }
        ));
    }

    /// The reference config (deploy/keepalived.conf): `weight 2` on both nodes, priorities 101 and 100. Healthy, the
    /// master advertises 103 and the backup 102; when the master's check fails it drops to
    /// 101 < 102, so the failover works, but only by a margin of one.
    #[test]
    fn reference_config_weight_2_with_101_and_100_crosses() {
        let check = check_weights(101, &[w("chk_elb", 2)], 102);
        assert_eq!(
            check,
            WeightCheck::Crosses {
                healthy: 103,
                peer: 102,
                by: vec!["chk_elb".into()]
            }
        );
        assert_eq!(check.warning("VI_1"), None);
        // If the backup's own check fails too, the peer advertises 100: no failover.
        assert!(matches!(
            check_weights(101, &[w("chk_elb", 2)], 100),
            WeightCheck::CannotCross {
                healthy: 103,
                lowest_single: 101,
                ..
            }
        ));
    }

    /// Weights of 2 with priorities 101 and 97: 103 vs 99, a failure gives 101 > 99.
    #[test]
    fn weight_2_with_101_and_97_cannot_cross_and_names_a_working_weight() {
        let check = check_weights(101, &[w("chk_elb", 2)], 99);
        assert_eq!(
            check,
            WeightCheck::CannotCross {
                healthy: 103,
                peer: 99,
                lowest_single: 101,
                all_failing: 101,
                suggested_weight: 5,
            }
        );
        let msg = check.warning("VI_1").unwrap();
        assert!(msg.contains("weight of 5"), "{msg}");
        // The suggestion really works (both nodes using it: 106 vs 102, failure gives 101).
        assert!(matches!(
            check_weights(101, &[w("chk_elb", 5)], 97 + 5),
            WeightCheck::Crosses { .. }
        ));
        // Negative weights: -2 cannot cross 101 vs 97 either; -5 can.
        assert!(matches!(
            check_weights(101, &[w("chk", -2)], 97),
            WeightCheck::CannotCross {
                suggested_weight: -5,
                ..
            }
        ));
        assert!(matches!(
            check_weights(101, &[w("chk", -5)], 97),
            WeightCheck::Crosses { .. }
        ));
    }

    /// The backup is the node that sees the master's adverts (a backup sends none), so it
    /// judges the pair assuming the master tracks with the same weights.
    #[test]
    fn seen_from_the_backup() {
        // Seed: backup 100 + 2 = 102, master advertises 103; a failure there gives 101.
        assert_eq!(
            check_weights(100, &[w("chk_elb", 2)], 103),
            WeightCheck::Crosses {
                healthy: 102,
                peer: 103,
                by: vec!["chk_elb".into()]
            }
        );
        // 101/97: backup 99, master 103; a failure there gives 101, still above 99.
        let check = check_weights(97, &[w("chk_elb", 2)], 103);
        assert_eq!(
            check,
            WeightCheck::PeerCannotCross {
                healthy: 99,
                peer: 103,
                peer_lowest_single: 101,
                suggested_weight: 5
            }
        );
        assert!(check.warning("VI_1").unwrap().contains("weight of 5"));
        // An owner master is never adjusted; a weight-0 tracker always works (FAULT).
        assert!(matches!(
            check_weights(100, &[w("chk", -50)], 255),
            WeightCheck::PeerCannotCross { .. }
        ));
        assert!(matches!(
            check_weights(100, &[w("chk", 0)], 255),
            WeightCheck::Crosses { .. }
        ));
    }

    #[test]
    fn weight_zero_always_crosses_and_equal_priorities_are_a_tie() {
        assert!(matches!(
            check_weights(101, &[w("chk", 0)], 50),
            WeightCheck::Crosses { .. }
        ));
        assert_eq!(
            check_weights(100, &[w("chk", 2)], 102),
            WeightCheck::NotAbove {
                healthy: 102,
                peer: 102
            }
        );
        // Equal after a failure is a tie decided by address: not counted as crossing.
        assert!(matches!(
            check_weights(101, &[w("chk", -1)], 100),
            WeightCheck::CannotCross { .. }
        ));
    }
}
