//! A sync group whose members advertise at different intervals takes over when its slowest
//! member's master-down timer runs out, all members at that instant, that member first, as
//! keepalived 2.2.7 does
//! (the vrrpd lab test `a_sync_group_waits_for_its_slowest_member_like_keepalived` measures
//! both daemons on one config).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::sim::{Sim, UnitSpec};
use vrrp::{InstanceConfig, State, Version, Vip};

fn member(vrid: u8, node: u8, priority: u8, interval: Duration) -> InstanceConfig {
    let src = IpAddr::V4(Ipv4Addr::new(198, 18, 0, node));
    let mut c = InstanceConfig::new(format!("VI_{vrid}"), vrid, Version::V2, src);
    c.priority = priority;
    c.advert_interval = interval;
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(198, 19, vrid, 1)))];
    c
}

fn group(node: u8, priority: u8) -> Vec<UnitSpec> {
    vec![UnitSpec::Group(
        "G".into(),
        vec![
            member(1, node, priority, Duration::from_secs(1)),
            member(2, node, priority, Duration::from_secs(3)),
        ],
    )]
}

#[test]
fn a_group_takes_over_at_its_slowest_members_master_down_timer() {
    let mut sim = Sim::new(7);
    let a = sim.add_node("a", group(1, 200)).unwrap();
    let b = sim.add_node("b", group(2, 100)).unwrap();
    sim.start_all();
    sim.run_for(Duration::from_secs(20)).unwrap();
    assert_eq!((sim.masters(1), sim.masters(2)), (vec![a], vec![a]));

    let t0 = sim.now();
    sim.crash(a);
    sim.run_for(Duration::from_secs(20)).unwrap();
    let promoted = |vrid: u8| {
        sim.transitions()
            .iter()
            .position(|t| t.node == b && t.vrid == vrid && t.to == State::Master && t.at > t0)
            .unwrap_or_else(|| panic!("vrid {vrid} never went MASTER"))
    };
    let (fast_at, slow_at) = (promoted(1), promoted(2));
    let took: Vec<Duration> = [fast_at, slow_at]
        .iter()
        .map(|&i| sim.transitions()[i].at - t0)
        .collect();
    // keepalived's order: the member that completed the group first, then the others.
    assert!(slow_at < fast_at, "{:?}", sim.transitions());
    assert_eq!(took[0], took[1], "the members took over apart: {took:?}");
    // The slow member's timer counts from its last advert, up to 3 s before the crash; the
    // fast member alone would have taken over within 3 x 1 s + skew.
    let fast = vrrp::timers::master_down_interval(Version::V2, 100, Duration::from_secs(1), 3);
    let slow = vrrp::timers::master_down_interval(Version::V2, 100, Duration::from_secs(3), 3);
    assert!(
        took[0] > fast && took[0] <= slow + Duration::from_millis(1),
        "took {:?}; fast member's interval {fast:?}, slow member's {slow:?}",
        took[0]
    );
}
