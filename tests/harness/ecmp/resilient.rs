//! Resilient hashing on the router. FRR 8.4 installs BGP multipath routes as plain kernel
//! next-hop groups (`ip nexthop` type mpath: hash-threshold, where a change in the set of
//! next hops remaps flows of every member), and has no setting to make them resilient. The
//! kernel has resilient groups (buckets that keep their next hop while busy), so the lab
//! lays one over FRR's route: a group with the same members, in a table an `ip rule`
//! consults first, re-applied each time FRR's route changes (what an operator's router
//! would do natively, e.g. a switch ASIC's resilient ECMP).

use std::collections::BTreeSet;

use anyhow::Result;
use netlab::Host;

use super::topology::{BALANCERS, SERVICE, uplink_addr};

/// Buckets of the group: enough that idle buckets can rebalance a newcomer while the busy
/// ones keep their flows.
pub const BUCKETS: u32 = 512;
/// A bucket unused this long may move to another next hop: longer than the gaps between
/// packets of a live flow (the benchmark's connections send every 0.3 s plus queueing).
pub const IDLE_TIMER_S: u32 = 10;
const GROUP_ID: u32 = 900;
const TABLE: &str = "200";
const RULE_PREF: &str = "100";

fn member_id(k: usize) -> u32 {
    GROUP_ID + 1 + k as u32
}

/// Creates one next-hop object per balancer link and the rule sending the service address
/// to the resilient table; [`apply`] then sets the group's members.
pub fn enable(router: &Host, hops: &BTreeSet<usize>) -> Result<()> {
    for k in 0..BALANCERS {
        router.run(&[
            "ip",
            "nexthop",
            "add",
            "id",
            &member_id(k).to_string(),
            "via",
            &uplink_addr(k).to_string(),
            "dev",
            &format!("rb{k}"),
        ])?;
    }
    apply(router, hops)?;
    router.run(&[
        "ip",
        "route",
        "replace",
        &format!("{SERVICE}/32"),
        "nhid",
        &GROUP_ID.to_string(),
        "table",
        TABLE,
    ])?;
    router.run(&[
        "ip",
        "rule",
        "add",
        "to",
        &format!("{SERVICE}/32"),
        "lookup",
        TABLE,
        "pref",
        RULE_PREF,
    ])?;
    Ok(())
}

/// Sets the resilient group's members to `hops` (the balancers FRR's route has now).
pub fn apply(router: &Host, hops: &BTreeSet<usize>) -> Result<()> {
    let group: Vec<String> = hops.iter().map(|&k| member_id(k).to_string()).collect();
    let group = group.join("/");
    let (id, buckets, idle) = (
        GROUP_ID.to_string(),
        BUCKETS.to_string(),
        IDLE_TIMER_S.to_string(),
    );
    router.run(&[
        "ip",
        "nexthop",
        "replace",
        "id",
        &id,
        "group",
        &group,
        "type",
        "resilient",
        "buckets",
        &buckets,
        "idle_timer",
        &idle,
        "unbalanced_timer",
        "0",
    ])?;
    Ok(())
}

/// Removes the rule, the route and the group: FRR's plain route forwards again.
pub fn disable(router: &Host) -> Result<()> {
    router.run(&["ip", "rule", "del", "pref", RULE_PREF])?;
    router.run(&[
        "ip",
        "route",
        "del",
        &format!("{SERVICE}/32"),
        "table",
        TABLE,
    ])?;
    router.run(&["ip", "nexthop", "del", "id", &GROUP_ID.to_string()])?;
    for k in 0..BALANCERS {
        router.run(&["ip", "nexthop", "del", "id", &member_id(k).to_string()])?;
    }
    Ok(())
}
