//! Which faults a round injects, where and for how long: pure choices from the seeded
//! generator, so a seed replays the same sequence of kinds, targets and durations.

use std::time::Duration;

use super::rng::SplitMix64;

/// The part of a node a fault hits; a node has at most one fault per part at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Link,
    Vrrp,
    Proxy,
}

/// One kind of fault and how it is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Every frame in and out of eth0 dropped, the link still up (a split brain).
    Partition,
    /// eth0 administratively down (the daemon sees the link fail), then up.
    LinkDown,
    /// `percent` of frames dropped at random in each direction.
    Loss { percent: u8 },
    /// tc netem delay on eth0's egress (only where the kernel has sch_netem).
    Delay { millis: u32 },
    /// SIGKILL to the VRRP daemon's whole process tree; restarted at the heal.
    KillVrrp,
    /// SIGSTOP to the VRRP daemon's process group (a frozen daemon), SIGCONT at the heal.
    FreezeVrrp,
    /// SIGKILL to elb-proxy; restarted at the heal.
    KillProxy,
    /// SIGSTOP to elb-proxy (a hung balancer: elb-check must fail it by its deadline).
    FreezeProxy,
}

/// Every kind's label, in the order the counts table lists them.
pub const KIND_LABELS: [&str; 8] = [
    "partition",
    "link-down",
    "loss",
    "delay",
    "kill-vrrp",
    "freeze-vrrp",
    "kill-proxy",
    "freeze-proxy",
];

impl FaultKind {
    pub fn part(self) -> Part {
        match self {
            FaultKind::Partition
            | FaultKind::LinkDown
            | FaultKind::Loss { .. }
            | FaultKind::Delay { .. } => Part::Link,
            FaultKind::KillVrrp | FaultKind::FreezeVrrp => Part::Vrrp,
            FaultKind::KillProxy | FaultKind::FreezeProxy => Part::Proxy,
        }
    }

    /// The label the counts use (one of [`KIND_LABELS`]).
    pub fn label(self) -> &'static str {
        match self {
            FaultKind::Partition => KIND_LABELS[0],
            FaultKind::LinkDown => KIND_LABELS[1],
            FaultKind::Loss { .. } => KIND_LABELS[2],
            FaultKind::Delay { .. } => KIND_LABELS[3],
            FaultKind::KillVrrp => KIND_LABELS[4],
            FaultKind::FreezeVrrp => KIND_LABELS[5],
            FaultKind::KillProxy => KIND_LABELS[6],
            FaultKind::FreezeProxy => KIND_LABELS[7],
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultKind::Loss { percent } => write!(f, "loss {percent}%"),
            FaultKind::Delay { millis } => write!(f, "delay {millis} ms"),
            other => f.write_str(other.label()),
        }
    }
}

/// Where a fault lands. Half the faults aim at whichever node is MASTER when the fault
/// starts (the faults that move the VIP); resolved at run time, so the generator's draws do
/// not depend on timing and a seed replays the same plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub prefer_master: bool,
    /// The node used when `prefer_master` is false or no node is MASTER.
    pub node: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFault {
    pub kind: FaultKind,
    pub target: Target,
    /// When the fault starts, from the start of the round.
    pub start: Duration,
    /// How long it lasts before it is healed (for kills: the pause before the restart).
    pub hold: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundPlan {
    pub faults: Vec<PlannedFault>,
    /// How long the quiet system is watched after it converged, before the next round.
    pub dwell: Duration,
}

/// What the planner may choose from.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    pub nodes: usize,
    /// tc netem works on this kernel.
    pub netem: bool,
    /// The topology's master-down interval: about a third of the holds are shorter, so some
    /// faults end before a backup reacts.
    pub master_down: Duration,
    /// Only these kinds (indices into [`KIND_LABELS`], a bit each), to focus a run on one
    /// kind of fault; None: every kind.
    pub only: Option<u16>,
}

/// The bit mask of [`PlanLimits::only`] for a comma-separated list of kind labels.
pub fn kinds_mask(list: &str) -> Result<u16, String> {
    let mut mask = 0;
    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let i = KIND_LABELS
            .iter()
            .position(|k| *k == label)
            .ok_or_else(|| {
                format!(
                    "unknown fault kind {label:?} (kinds: {})",
                    KIND_LABELS.join(", ")
                )
            })?;
        mask |= 1 << i;
    }
    if mask == 0 {
        return Err("no fault kind named".into());
    }
    Ok(mask)
}

/// Draws one round: 1 to 3 overlapping faults with staggered starts and random holds.
pub fn plan_round(rng: &mut SplitMix64, limits: PlanLimits) -> RoundPlan {
    let count = match rng.below(100) {
        0..=49 => 1,
        50..=84 => 2,
        _ => 3,
    };
    let faults = (0..count)
        .map(|_| {
            let kind = match limits.only {
                None => draw_kind(rng, limits.netem),
                Some(mask) => draw_only(rng, limits.netem, mask),
            };
            let target = Target {
                prefer_master: rng.chance(50),
                node: rng.below(limits.nodes as u64) as usize,
            };
            let start = rng.millis(Duration::ZERO, Duration::from_millis(1500));
            let hold = if rng.chance(33) {
                rng.millis(Duration::from_millis(100), limits.master_down)
            } else {
                rng.millis(limits.master_down, Duration::from_millis(4000))
            };
            PlannedFault {
                kind,
                target,
                start,
                hold,
            }
        })
        .collect();
    RoundPlan {
        faults,
        dwell: rng.millis(Duration::ZERO, Duration::from_millis(1000)),
    }
}

fn draw_kind(rng: &mut SplitMix64, netem: bool) -> FaultKind {
    // Link faults and process faults equally often; within each, every kind equally often.
    let link_kinds = if netem { 4 } else { 3 };
    if rng.chance(50) {
        match rng.below(link_kinds) {
            0 => FaultKind::Partition,
            1 => FaultKind::LinkDown,
            2 => FaultKind::Loss {
                percent: rng.between(10, 95) as u8,
            },
            _ => FaultKind::Delay {
                millis: rng.between(20, 400) as u32,
            },
        }
    } else {
        *rng.pick(&[
            FaultKind::KillVrrp,
            FaultKind::FreezeVrrp,
            FaultKind::KillProxy,
            FaultKind::FreezeProxy,
        ])
    }
}

/// One of the kinds in `mask`, uniformly (delay only with netem; none left: a partition).
fn draw_only(rng: &mut SplitMix64, netem: bool, mask: u16) -> FaultKind {
    let allowed: Vec<usize> = (0..KIND_LABELS.len())
        .filter(|&i| mask & (1 << i) != 0 && (netem || KIND_LABELS[i] != "delay"))
        .collect();
    if allowed.is_empty() {
        return FaultKind::Partition;
    }
    match KIND_LABELS[*rng.pick(&allowed)] {
        "partition" => FaultKind::Partition,
        "link-down" => FaultKind::LinkDown,
        "loss" => FaultKind::Loss {
            percent: rng.between(10, 95) as u8,
        },
        "delay" => FaultKind::Delay {
            millis: rng.between(20, 400) as u32,
        },
        "kill-vrrp" => FaultKind::KillVrrp,
        "freeze-vrrp" => FaultKind::FreezeVrrp,
        "kill-proxy" => FaultKind::KillProxy,
        _ => FaultKind::FreezeProxy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(netem: bool) -> PlanLimits {
        PlanLimits {
            nodes: 3,
            netem,
            master_down: Duration::from_millis(720),
            only: None,
        }
    }

    #[test]
    fn a_focused_run_draws_only_the_named_kinds() {
        let only = kinds_mask("kill-vrrp, loss").unwrap();
        let mut rng = SplitMix64::new(3);
        let kinds: std::collections::HashSet<&str> = (0..300)
            .flat_map(|_| {
                plan_round(
                    &mut rng,
                    PlanLimits {
                        only: Some(only),
                        ..limits(false)
                    },
                )
                .faults
            })
            .map(|f| f.kind.label())
            .collect();
        assert_eq!(kinds, ["kill-vrrp", "loss"].into_iter().collect());
        assert!(kinds_mask("kill-vrrp,nope").is_err());
        assert!(kinds_mask("").is_err());
    }

    #[test]
    fn a_seed_replays_the_same_plan() {
        let plans = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..20)
                .map(|_| plan_round(&mut rng, limits(false)))
                .collect::<Vec<_>>()
        };
        assert_eq!(plans(9), plans(9));
        assert_ne!(plans(9), plans(10));
    }

    #[test]
    fn plans_stay_within_their_limits_and_cover_every_kind() {
        let mut rng = SplitMix64::new(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let plan = plan_round(&mut rng, limits(false));
            assert!((1..=3).contains(&plan.faults.len()));
            assert!(plan.dwell <= Duration::from_secs(1));
            for f in &plan.faults {
                assert!(f.target.node < 3);
                assert!(f.start <= Duration::from_millis(1500));
                assert!(f.hold >= Duration::from_millis(100) && f.hold <= Duration::from_secs(4));
                assert!(
                    !matches!(f.kind, FaultKind::Delay { .. }),
                    "no netem, no delay"
                );
                if let FaultKind::Loss { percent } = f.kind {
                    assert!((10..=95).contains(&percent));
                }
                seen.insert(f.kind.label());
            }
        }
        assert_eq!(seen.len(), KIND_LABELS.len() - 1, "{seen:?}");
        let mut rng = SplitMix64::new(1);
        let delays = (0..500)
            .flat_map(|_| plan_round(&mut rng, limits(true)).faults)
            .filter(|f| matches!(f.kind, FaultKind::Delay { .. }))
            .count();
        assert!(delays > 0, "with netem, delay is drawn");
    }
}
