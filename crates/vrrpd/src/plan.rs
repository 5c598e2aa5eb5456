//! The reload decision, pure: which units (sync groups and lone instances) of the running
//! configuration keep running untouched, which are released and which are started. A unit
//! is kept only when its group and every member's spec are unchanged, so a reload that does
//! not touch an instance never makes it flap.

use std::collections::HashSet;

use crate::spec::{DaemonSpec, InstanceSpec};

/// How instances are grouped into one unit: a sync group's members, or one lone instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLayout {
    /// The sync group; `None` for a lone instance.
    pub group: Option<String>,
    /// Instance names, in member order.
    pub members: Vec<String>,
}

/// What a reload does, unit by unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReloadPlan {
    /// The new configuration's units in order, each kept from the running set or started.
    pub units: Vec<Step>,
    /// Running units that are gone or changed, to be released.
    pub released: Vec<UnitLayout>,
}

/// One unit of the new configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Unchanged: the running unit stays as it is (same state, timers, counters).
    Keep(UnitLayout),
    /// New or changed: built and started afresh.
    Start(UnitLayout),
}

impl Step {
    /// The unit this step is about.
    pub fn layout(&self) -> &UnitLayout {
        match self {
            Step::Keep(l) | Step::Start(l) => l,
        }
    }
}

/// The units of `spec`: each sync group with members that exist, then each instance in none.
pub fn layouts(spec: &DaemonSpec) -> Vec<UnitLayout> {
    let mut out = Vec::new();
    let mut grouped = HashSet::new();
    for g in &spec.groups {
        let members: Vec<String> = g
            .members
            .iter()
            .filter(|m| spec.instances.iter().any(|i| &i.name == *m))
            .cloned()
            .collect();
        if members.is_empty() {
            continue;
        }
        grouped.extend(members.iter().cloned());
        out.push(UnitLayout {
            group: Some(g.name.clone()),
            members,
        });
    }
    for i in &spec.instances {
        if !grouped.contains(&i.name) {
            out.push(UnitLayout {
                group: None,
                members: vec![i.name.clone()],
            });
        }
    }
    out
}

/// Decides the reload from the running configuration `old` to `new`.
pub fn plan(old: &DaemonSpec, new: &DaemonSpec) -> ReloadPlan {
    let old_units = layouts(old);
    let mut kept = vec![false; old_units.len()];
    let mut units = Vec::new();
    for layout in layouts(new) {
        let same = old_units.iter().enumerate().position(|(o, ol)| {
            !kept[o] && *ol == layout && members_equal(old, new, &layout.members)
        });
        match same {
            Some(o) => {
                kept[o] = true;
                units.push(Step::Keep(layout));
            }
            None => units.push(Step::Start(layout)),
        }
    }
    let released = old_units
        .into_iter()
        .zip(kept)
        .filter(|(_, k)| !k)
        .map(|(l, _)| l)
        .collect();
    ReloadPlan { units, released }
}

fn members_equal(old: &DaemonSpec, new: &DaemonSpec, members: &[String]) -> bool {
    members
        .iter()
        .all(|n| find(old, n).is_some() && find(old, n) == find(new, n))
}

fn find<'a>(spec: &'a DaemonSpec, name: &str) -> Option<&'a InstanceSpec> {
    spec.instances.iter().find(|i| i.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::GroupSpec;

    fn inst(name: &str, vrid: u8) -> InstanceSpec {
        InstanceSpec::bare(name, "eth0", vrid)
    }

    fn spec(instances: Vec<InstanceSpec>, groups: &[(&str, &[&str])]) -> DaemonSpec {
        DaemonSpec {
            instances,
            groups: groups
                .iter()
                .map(|(g, m)| GroupSpec {
                    name: (*g).into(),
                    members: m.iter().map(|s| (*s).into()).collect(),
                })
                .collect(),
            ..DaemonSpec::default()
        }
    }

    fn lone(name: &str) -> UnitLayout {
        UnitLayout {
            group: None,
            members: vec![name.into()],
        }
    }

    #[test]
    fn first_load_starts_everything() {
        let new = spec(vec![inst("A", 1), inst("B", 2)], &[]);
        let p = plan(&DaemonSpec::default(), &new);
        assert_eq!(p.units, [Step::Start(lone("A")), Step::Start(lone("B"))]);
        assert!(p.released.is_empty());
    }

    #[test]
    fn unchanged_instances_are_kept_and_changed_ones_restarted() {
        let old = spec(vec![inst("A", 1), inst("B", 2)], &[]);
        let mut b = inst("B", 2);
        b.vrrp.priority = 150;
        let new = spec(vec![inst("A", 1), b], &[]);
        let p = plan(&old, &new);
        assert_eq!(p.units, [Step::Keep(lone("A")), Step::Start(lone("B"))]);
        assert_eq!(p.released, [lone("B")]);
    }

    #[test]
    fn removed_instances_are_released_and_added_ones_started() {
        let old = spec(vec![inst("A", 1), inst("B", 2)], &[]);
        let new = spec(vec![inst("A", 1), inst("C", 3)], &[]);
        let p = plan(&old, &new);
        assert_eq!(p.units, [Step::Keep(lone("A")), Step::Start(lone("C"))]);
        assert_eq!(p.released, [lone("B")]);
    }

    #[test]
    fn a_group_is_kept_only_whole() {
        let group = |m: &[&str]| UnitLayout {
            group: Some("G".into()),
            members: m.iter().map(|s| (*s).into()).collect(),
        };
        let old = spec(vec![inst("A", 1), inst("B", 2)], &[("G", &["A", "B"])]);
        let same = plan(&old, &old.clone());
        assert_eq!(same.units, [Step::Keep(group(&["A", "B"]))]);
        assert!(same.released.is_empty());

        // One member changed: the whole group restarts.
        let mut b = inst("B", 2);
        b.vrrp.priority = 90;
        let changed = plan(&old, &spec(vec![inst("A", 1), b], &[("G", &["A", "B"])]));
        assert_eq!(changed.units, [Step::Start(group(&["A", "B"]))]);
        assert_eq!(changed.released, [group(&["A", "B"])]);

        // A member leaves the group: the group restarts smaller, the member runs alone.
        let split = plan(
            &old,
            &spec(vec![inst("A", 1), inst("B", 2)], &[("G", &["A"])]),
        );
        assert_eq!(
            split.units,
            [Step::Start(group(&["A"])), Step::Start(lone("B"))]
        );
        assert_eq!(split.released, [group(&["A", "B"])]);
    }

    #[test]
    fn group_members_that_do_not_exist_are_left_out() {
        let s = spec(
            vec![inst("A", 1)],
            &[("G", &["A", "missing"]), ("E", &["gone"])],
        );
        assert_eq!(
            layouts(&s),
            [UnitLayout {
                group: Some("G".into()),
                members: vec!["A".into()],
            }]
        );
    }
}
