//! Sync groups (reference c.9): members move together.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::{
    Action, Event, Instance, InstanceConfig, ReceivedAdvert, State, SyncGroup, TrackerConfig,
    Version, Vip,
};

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

fn member(vrid: u8) -> Instance {
    let mut c = InstanceConfig::new(format!("VI_{vrid}"), vrid, Version::V3, ip(1));
    c.vips = vec![Vip::host(ip(100 + vrid))];
    c.trackers = vec![TrackerConfig {
        name: format!("chk{vrid}"),
        weight: 0,
        reverse: false,
    }];
    Instance::new(c).unwrap()
}

fn group() -> SyncGroup {
    let mut g = SyncGroup::new("G", vec![member(1), member(2)]).unwrap();
    g.handle_all(Duration::ZERO, Event::Start);
    for (i, v) in [(0usize, 1u8), (1, 2)] {
        g.handle(
            Duration::ZERO,
            i,
            Event::TrackerChanged {
                name: format!("chk{v}"),
                up: true,
            },
        );
    }
    g
}

fn states(g: &SyncGroup) -> Vec<State> {
    g.members().iter().map(Instance::state).collect()
}

fn run(g: &mut SyncGroup, until: Duration) -> Vec<(usize, Action)> {
    let mut out = Vec::new();
    while let Some(d) = g.next_deadline() {
        if d > until {
            break;
        }
        out.extend(g.handle_all(d, Event::Timer));
    }
    out
}

fn advert(src: u8, priority: u8) -> Event {
    Event::Advert(ReceivedAdvert {
        src: ip(src),
        priority,
        interval: Duration::from_secs(1),
    })
}

#[test]
fn members_become_master_together() {
    let mut g = group();
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
    run(&mut g, Duration::from_secs(5));
    assert_eq!(states(&g), vec![State::Master, State::Master]);
}

#[test]
fn a_member_whose_master_lives_holds_the_other_back() {
    let mut g = group();
    // VRID 2 keeps hearing a higher master; VRID 1 hears nothing.
    for k in 0..10u64 {
        let t = Duration::from_secs(k);
        g.handle(t, 1, advert(2, 200));
        run(&mut g, t + Duration::from_millis(999));
    }
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
    assert!(g.members()[0].wants_master());
    // The other master goes silent: both take over together.
    run(&mut g, Duration::from_secs(20));
    assert_eq!(states(&g), vec![State::Master, State::Master]);
}

#[test]
fn one_member_backup_pulls_the_others() {
    let mut g = group();
    run(&mut g, Duration::from_secs(5));
    let a = g.handle(Duration::from_secs(6), 0, advert(2, 200));
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
    let reasons: Vec<&str> = a
        .iter()
        .filter_map(|(_, x)| match x {
            Action::Transition { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons[1].contains("sync group G"), "{reasons:?}");
}

#[test]
fn one_member_fault_faults_the_group_and_recovers_together() {
    let mut g = group();
    run(&mut g, Duration::from_secs(5));
    g.handle(
        Duration::from_secs(6),
        1,
        Event::TrackerChanged {
            name: "chk2".into(),
            up: false,
        },
    );
    assert_eq!(states(&g), vec![State::Fault, State::Fault]);
    g.handle(
        Duration::from_secs(7),
        1,
        Event::TrackerChanged {
            name: "chk2".into(),
            up: true,
        },
    );
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
}

#[test]
fn shutdown_stops_every_member_and_stays_stopped() {
    let mut g = group();
    run(&mut g, Duration::from_secs(5));
    let a = g.handle_all(Duration::from_secs(6), Event::Shutdown);
    assert_eq!(states(&g), vec![State::Stopped, State::Stopped]);
    let zero = a
        .iter()
        .filter(|(_, x)| matches!(x, Action::SendAdvert(adv) if adv.priority == 0))
        .count();
    assert_eq!(zero, 2);
    assert!(
        g.handle_all(Duration::from_secs(7), Event::Timer)
            .is_empty()
    );
}

/// keepalived 2.2.7 in the lab (`vip_deletion.rs`): a member whose VIP is deleted hands over,
/// the other MASTER member hands over too (its own priority-0 advert), and the group takes
/// over again after the Skew_Time, the members in group order.
#[test]
fn a_deleted_vip_of_one_member_makes_the_whole_group_hand_over_and_take_over_again() {
    let mut g = group();
    run(&mut g, Duration::from_secs(5));
    assert_eq!(states(&g), vec![State::Master, State::Master]);
    let t = Duration::from_secs(5);
    let acts = g.handle(t, 0, Event::VipDeleted(ip(101)));
    let zeros: Vec<usize> = acts
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert(x) if x.priority == 0))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(zeros, vec![0, 1], "both members send priority 0");
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
    assert!(g.members().iter().all(Instance::retaking));
    // v3, priority 100, 1 s: skew = 156/256 s, in whole microseconds.
    let skew = Duration::from_micros(609_375);
    assert_eq!(g.next_deadline(), Some(t + skew));
    let log = run(&mut g, t + Duration::from_secs(1));
    let masters: Vec<usize> = log
        .iter()
        .filter(|(_, a)| {
            matches!(
                a,
                Action::Transition {
                    to: State::Master,
                    ..
                }
            )
        })
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(masters, vec![0, 1]);
    assert!(!g.members().iter().any(Instance::retaking));
}

/// A member pulled to BACKUP by a higher-priority advert to the other is no hand-over: no
/// priority-0 advert, and the full Master_Down_Interval.
#[test]
fn a_member_yielding_to_a_better_master_sends_no_priority_zero_for_the_other() {
    let mut g = group();
    run(&mut g, Duration::from_secs(5));
    let acts = g.handle(Duration::from_secs(5), 0, advert(2, 200));
    assert!(
        !acts
            .iter()
            .any(|(_, a)| matches!(a, Action::SendAdvert(x) if x.priority == 0))
    );
    assert_eq!(states(&g), vec![State::Backup, State::Backup]);
    assert!(!g.members().iter().any(Instance::retaking));
}
