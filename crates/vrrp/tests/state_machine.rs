//! The per-instance state machine against the RFC 3768 / 5798 rules and
//! keepalived's observed behaviour (reference c.3–c.8).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::{
    Action, Event, FastFailover, InitialState, Instance, InstanceConfig, ReceivedAdvert, State,
    TrackerConfig, Version, Vip,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cfg(version: Version, prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, version, ip(1));
    c.priority = prio;
    c.vips = vec![Vip::host(ip(100))];
    c
}

fn advert(src: u8, priority: u8, interval: Duration) -> Event {
    Event::Advert(ReceivedAdvert {
        src: ip(src),
        priority,
        interval,
    })
}

fn transitions(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transition { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(adv) => Some(adv.priority),
            _ => None,
        })
        .collect()
}

/// Deliver timer events at each deadline up to `until`, collecting actions.
fn run_until(inst: &mut Instance, until: Duration) -> Vec<(Duration, Action)> {
    let mut out = Vec::new();
    while let Some(d) = inst.next_deadline() {
        if d > until {
            break;
        }
        out.extend(inst.handle(d, Event::Timer).into_iter().map(|a| (d, a)));
    }
    out
}

fn became_master_at(log: &[(Duration, Action)]) -> Option<Duration> {
    log.iter().find_map(|(t, a)| match a {
        Action::Transition {
            to: State::Master, ..
        } => Some(*t),
        _ => None,
    })
}

#[test]
fn starts_in_backup_and_takes_over_after_master_down_v2() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    assert_eq!(i.state(), State::Init);
    let a = i.handle(Duration::ZERO, Event::Start);
    assert_eq!(transitions(&a), vec![(State::Init, State::Backup)]);
    let log = run_until(&mut i, Duration::from_secs(10));
    // keepalived 2.2.7 observed: 3 609 375 µs.
    assert_eq!(
        became_master_at(&log),
        Some(Duration::from_micros(3_609_375))
    );
    // Advert first, then VIPs, then GARP, then the transition.
    let at = Duration::from_micros(3_609_375);
    let first: Vec<&Action> = log
        .iter()
        .filter(|(t, _)| *t == at)
        .map(|(_, a)| a)
        .collect();
    assert!(matches!(first[0], Action::SendAdvert(a) if a.priority == 100));
    assert!(matches!(first[1], Action::AddVips { .. }));
    assert!(matches!(first[2], Action::SendGratuitous { count: 5, .. }));
    assert!(matches!(
        first[3],
        Action::Transition {
            to: State::Master,
            ..
        }
    ));
}

#[test]
fn master_adverts_every_interval_and_second_garp_burst() {
    let mut i = Instance::new(cfg(Version::V3, 100)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let log = run_until(&mut i, Duration::from_secs(12));
    let t0 = became_master_at(&log).unwrap();
    let sends: Vec<Duration> = log
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert(_)))
        .map(|(t, _)| *t - t0)
        .collect();
    let expect: Vec<Duration> = (0..sends.len() as u32)
        .map(|k| Duration::from_secs(1) * k)
        .collect();
    assert_eq!(sends, expect);
    let garp_delayed = log
        .iter()
        .find(|(_, a)| {
            matches!(
                a,
                Action::SendGratuitous {
                    cause: vrrp::GarpCause::MasterDelay,
                    ..
                }
            )
        })
        .map(|(t, _)| *t - t0);
    assert_eq!(garp_delayed, Some(Duration::from_secs(5)));
}

#[test]
fn v3_skew_scaled_and_backup_adopts_master_interval() {
    let mut c = cfg(Version::V3, 200);
    c.advert_interval = ms(500);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    // keepalived observed: v3, prio 200, 0.5 s → ≈1.6 s.
    assert_eq!(i.next_deadline(), Some(Duration::from_micros(1_609_375)));
    // A higher master advertising 100 ms: the backup adopts it.
    i.handle(ms(100), advert(2, 250, ms(100)));
    assert_eq!(i.master_adver_interval(), ms(100));
    // 3 × 0.1 + (56 × 0.1 / 256) = 0.321875 s after the advert.
    assert_eq!(
        i.next_deadline(),
        Some(ms(100) + Duration::from_micros(321_875))
    );
}

#[test]
fn v2_ignores_master_interval_for_timers() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i.handle(ms(100), advert(2, 200, Duration::from_secs(3)));
    assert_eq!(
        i.next_deadline(),
        Some(ms(100) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn preemptive_backup_discards_lower_adverts_and_takes_over_after_down_interval() {
    let mut i = Instance::new(cfg(Version::V2, 150)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let mut took_over = None;
    for k in 0..10u64 {
        let a = i.handle(
            Duration::from_secs(k),
            advert(2, 100, Duration::from_secs(1)),
        );
        assert!(a.is_empty());
        let log = run_until(&mut i, Duration::from_secs(k + 1) - Duration::from_nanos(1));
        if let Some(t) = became_master_at(&log) {
            took_over = Some(t);
            break;
        }
    }
    // Down interval at 150: 3 + 106/256 s after start, adverts did not reset it.
    assert_eq!(
        took_over,
        Some(Duration::from_nanos(3_000_000_000 + 106 * 3_906_250))
    );
}

#[test]
fn nopreempt_backup_follows_lower_master() {
    let mut c = cfg(Version::V2, 150);
    c.preempt = false;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    for k in 0..20u64 {
        i.handle(
            Duration::from_secs(k),
            advert(2, 100, Duration::from_secs(1)),
        );
        let _ = run_until(&mut i, Duration::from_secs(k + 1) - Duration::from_nanos(1));
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn preempt_delay_follows_lower_master_until_delay_passes() {
    let mut c = cfg(Version::V2, 150);
    c.preempt_delay = Duration::from_secs(10);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let mut took_over = None;
    for k in 0..30u64 {
        i.handle(
            Duration::from_secs(k),
            advert(2, 100, Duration::from_secs(1)),
        );
        let log = run_until(&mut i, Duration::from_secs(k + 1) - Duration::from_nanos(1));
        if let Some(t) = became_master_at(&log) {
            took_over = Some(t);
            break;
        }
    }
    // Adverts accepted until 10 s; the last accepted one (at 9 s) starts a
    // full down interval.
    let t = took_over.unwrap();
    assert!(
        t >= Duration::from_secs(12) && t < Duration::from_secs(14),
        "{t:?}"
    );
}

#[test]
fn priority_zero_gives_skew_only_takeover() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i.handle(ms(500), advert(2, 200, Duration::from_secs(1)));
    i.handle(ms(1000), advert(2, 0, Duration::from_secs(1)));
    // skew(100) = 609.375 ms.
    assert_eq!(
        i.next_deadline(),
        Some(ms(1000) + Duration::from_micros(609_375))
    );
    let log = run_until(&mut i, Duration::from_secs(5));
    assert_eq!(
        became_master_at(&log),
        Some(ms(1000) + Duration::from_micros(609_375))
    );
}

fn master_instance(version: Version, prio: u8) -> Instance {
    let mut i = Instance::new(cfg(version, prio)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let _ = run_until(&mut i, Duration::from_secs(4));
    assert_eq!(i.state(), State::Master);
    i
}

#[test]
fn master_yields_to_higher_and_answers_lower() {
    let mut i = master_instance(Version::V2, 100);
    let a = i.handle(
        Duration::from_secs(5),
        advert(2, 50, Duration::from_secs(1)),
    );
    assert_eq!(sent_priorities(&a), vec![100]);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::MasterRxLowerPriority { priority: 50, .. }))
    );
    assert_eq!(i.state(), State::Master);
    let a = i.handle(
        Duration::from_secs(6),
        advert(2, 150, Duration::from_secs(1)),
    );
    assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
    assert!(a.iter().any(|x| matches!(x, Action::RemoveVips { .. })));
    assert!(
        sent_priorities(&a).is_empty(),
        "no priority-0 advert when yielding"
    );
}

#[test]
fn equal_priority_tie_break_by_address_only_in_master() {
    // Our address is .1: a peer .2 with equal priority wins, .0 loses.
    let mut i = master_instance(Version::V3, 100);
    let a = i.handle(
        Duration::from_secs(5),
        advert(0, 100, Duration::from_secs(1)),
    );
    assert_eq!(i.state(), State::Master);
    assert_eq!(sent_priorities(&a), vec![100]);
    i.handle(
        Duration::from_secs(6),
        advert(2, 100, Duration::from_secs(1)),
    );
    assert_eq!(i.state(), State::Backup);
    // As BACKUP, equal priority from a lower address is accepted (>=).
    let d0 = i.next_deadline().unwrap();
    i.handle(
        Duration::from_secs(7),
        advert(0, 100, Duration::from_secs(1)),
    );
    assert!(i.next_deadline().unwrap() > d0);
}

#[test]
fn owner_starts_master_at_once_and_two_owners_back_off() {
    let mut c = cfg(Version::V2, 255);
    c.initial_state = InitialState::Master;
    let mut i = Instance::new(c).unwrap();
    let a = i.handle(Duration::ZERO, Event::Start);
    assert_eq!(transitions(&a), vec![(State::Init, State::Master)]);
    // Another owner with a higher address: back off to 254.
    let a = i.handle(ms(100), advert(2, 255, Duration::from_secs(1)));
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.effective_priority(), 254);
    assert!(a.contains(&Action::PriorityChanged { old: 255, new: 254 }));
    // It disappears: we take over and restore 255.
    let log = run_until(&mut i, Duration::from_secs(10));
    assert!(became_master_at(&log).is_some());
    assert_eq!(i.effective_priority(), 255);
    assert_eq!(i.advertised_priority(), 255);
}

#[test]
fn state_master_below_255_behaves_like_backup_at_start() {
    let mut c = cfg(Version::V3, 200);
    c.initial_state = InitialState::Master;
    c.advert_interval = ms(500);
    let mut i = Instance::new(c).unwrap();
    let a = i.handle(Duration::ZERO, Event::Start);
    assert_eq!(transitions(&a), vec![(State::Init, State::Backup)]);
    let log = run_until(&mut i, Duration::from_secs(3));
    assert_eq!(
        became_master_at(&log),
        Some(Duration::from_micros(1_609_375))
    );
}

fn tracked(weight: i32, base: u8) -> Instance {
    let mut c = cfg(Version::V2, base);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight,
        reverse: false,
    }];
    Instance::new(c).unwrap()
}

fn track(i: &mut Instance, now: Duration, up: bool) -> Vec<Action> {
    i.handle(
        now,
        Event::TrackerChanged {
            name: "chk".into(),
            up,
        },
    )
}

/// keepalived 2.2.7's `reverse`, read back from its SIGUSR1 dumps at base priority 100: the
/// weight's sign decides when it applies (positive while up, negative while down) and
/// `reverse` negates the amount.
#[test]
fn reverse_weights_match_keepalived() {
    for (weight, up, expected) in [
        (10, true, 90),
        (7, false, 100),
        (-3, true, 100),
        (-3, false, 103),
    ] {
        let mut c = cfg(Version::V2, 100);
        c.trackers = vec![TrackerConfig {
            name: "chk".into(),
            weight,
            reverse: true,
        }];
        let mut i = Instance::new(c).unwrap();
        i.handle(Duration::ZERO, Event::Start);
        track(&mut i, ms(1), up);
        assert_eq!(
            i.effective_priority(),
            expected,
            "weight {weight} reverse, tracker up={up}"
        );
    }
}

/// The seed's case: the master's check fails, the backup's higher advert takes the VIP, and
/// the transition's reason (logged, mailed, passed to notify) names the failed check.
#[test]
fn yielding_names_the_tracker_that_lowered_our_priority() {
    let mut i = tracked(2, 101);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), true); // 103
    run_until(&mut i, Duration::from_secs(5)); // MASTER
    assert_eq!(i.state(), State::Master);
    track(&mut i, ms(5001), false); // 101
    let a = i.handle(ms(5002), advert(2, 102, Duration::from_secs(1)));
    let reason = a
        .iter()
        .find_map(|a| match a {
            Action::Transition { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .expect("a transition");
    assert!(
        reason.contains("102 > 101") && reason.contains("lowered by chk down"),
        "{reason}"
    );
}

/// keepalived's `track_file`: a weighted file adds value x weight (`reverse` negates; 2.2.7
/// observed: weight 5 reverse, value 2 -> 90 at base 100), below -253 means FAULT; an
/// unweighted file means FAULT while its value is not 0.
#[test]
fn value_trackers_add_value_times_weight_or_fault() {
    let value = |i: &mut Instance, now: Duration, v: i64| {
        i.handle(
            now,
            Event::TrackerValue {
                name: "chk".into(),
                value: v,
            },
        )
    };
    for (weight, reverse, v, expected) in
        [(5, false, 2, 110), (5, true, 2, 90), (-10, false, 3, 70)]
    {
        let mut c = cfg(Version::V2, 100);
        c.trackers = vec![TrackerConfig {
            name: "chk".into(),
            weight,
            reverse,
        }];
        let mut i = Instance::new(c).unwrap();
        i.handle(Duration::ZERO, Event::Start);
        value(&mut i, ms(1), v);
        assert_eq!(
            i.effective_priority(),
            expected,
            "weight {weight} reverse {reverse} value {v}"
        );
        assert_eq!(i.state(), State::Backup);
    }
    let mut i = tracked(-100, 100);
    i.handle(Duration::ZERO, Event::Start);
    value(&mut i, ms(1), 3); // -300 < -253
    assert_eq!(i.state(), State::Fault);
    value(&mut i, ms(2), 1); // -100: out of FAULT
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.effective_priority(), 1);
    let mut i = tracked(0, 100);
    i.handle(Duration::ZERO, Event::Start);
    value(&mut i, ms(1), 1);
    assert_eq!(i.state(), State::Fault);
    value(&mut i, ms(2), 0);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn tracker_weights_clamp_to_1_254_and_owner_is_unaffected() {
    let mut i = tracked(50, 240);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), true);
    assert_eq!(i.effective_priority(), 254);
    let mut i = tracked(-100, 50);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), false);
    assert_eq!(i.effective_priority(), 1);
    let mut i = tracked(-100, 255);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), false);
    assert_eq!(i.effective_priority(), 255);
}

#[test]
fn unweighted_tracker_waits_in_init_then_faults_and_recovers() {
    let mut i = tracked(0, 100);
    assert!(i.handle(Duration::ZERO, Event::Start).is_empty());
    assert_eq!(i.state(), State::Init);
    let a = track(&mut i, ms(10), true);
    assert_eq!(transitions(&a), vec![(State::Init, State::Backup)]);
    let _ = run_until(&mut i, Duration::from_secs(5));
    assert_eq!(i.state(), State::Master);
    let a = track(&mut i, Duration::from_secs(6), false);
    assert_eq!(transitions(&a), vec![(State::Master, State::Fault)]);
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(a.iter().any(|x| matches!(x, Action::RemoveVips { .. })));
    assert_eq!(i.next_deadline(), None, "no timers in FAULT");
    let a = track(&mut i, Duration::from_secs(7), true);
    assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
}

#[test]
fn link_down_and_send_not_ready_mean_fault() {
    let mut i = master_instance(Version::V3, 100);
    let a = i.handle(Duration::from_secs(5), Event::LinkState { up: false });
    assert_eq!(transitions(&a), vec![(State::Master, State::Fault)]);
    i.handle(Duration::from_secs(6), Event::LinkState { up: true });
    assert_eq!(i.state(), State::Backup);
    // Tentative IPv6 source: never claim MASTER while we cannot send.
    i.handle(Duration::from_secs(6), Event::SendReady(false));
    assert_eq!(i.state(), State::Fault);
    let _ = run_until(&mut i, Duration::from_secs(30));
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn priority_change_shifts_backup_down_timer_by_skew_difference() {
    let mut i = tracked(-50, 150);
    i.handle(Duration::ZERO, Event::Start);
    let before = i.next_deadline().unwrap();
    track(&mut i, ms(1), false);
    // skew(100) - skew(150) = 50/256 s.
    assert_eq!(
        i.next_deadline().unwrap() - before,
        Duration::from_nanos(50 * 3_906_250)
    );
}

#[test]
fn shutdown_master_releases_with_priority_zero() {
    let mut i = master_instance(Version::V2, 100);
    let a = i.handle(Duration::from_secs(5), Event::Shutdown);
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(a.iter().any(|x| matches!(x, Action::RemoveVips { .. })));
    assert_eq!(transitions(&a), vec![(State::Master, State::Stopped)]);
    assert!(i.handle(Duration::from_secs(6), Event::Timer).is_empty());
}

#[test]
fn maintenance_hands_over_without_fault_and_stays_backup() {
    let mut i = master_instance(Version::V3, 200);
    let a = i.handle(Duration::from_secs(5), Event::Maintenance(true));
    assert_eq!(sent_priorities(&a), vec![0]);
    assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
    let log = run_until(&mut i, Duration::from_secs(60));
    assert!(became_master_at(&log).is_none());
    i.handle(Duration::from_secs(60), Event::Maintenance(false));
    let log = run_until(&mut i, Duration::from_secs(70));
    assert!(became_master_at(&log).is_some());
}

#[test]
fn lower_advert_answers_are_rate_limited() {
    let mut i = master_instance(Version::V3, 200);
    let t = Duration::from_secs(5);
    let mut answered = 0;
    for k in 0..100u64 {
        let a = i.handle(t + ms(k), advert(2, 100, Duration::from_secs(1)));
        answered += sent_priorities(&a).len();
    }
    assert_eq!(answered, 1);
}

// ----- fast failover (issue 9), off by default ---------------------------

fn fast(mut c: InstanceConfig, ff: FastFailover) -> InstanceConfig {
    c.fast_failover = ff;
    c
}

#[test]
fn immediate_advert_on_priority_change_only_when_enabled() {
    let mut i = tracked(-60, 200);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), true);
    let _ = run_until(&mut i, Duration::from_secs(4));
    let a = track(&mut i, ms(4500), false);
    assert!(
        sent_priorities(&a).is_empty(),
        "keepalived waits for the next interval"
    );

    let mut c = cfg(Version::V2, 200);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight: -60,
        reverse: false,
    }];
    let mut i = Instance::new(fast(
        c,
        FastFailover {
            immediate_advert_on_priority_change: true,
            ..FastFailover::default()
        },
    ))
    .unwrap();
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), true);
    let _ = run_until(&mut i, Duration::from_secs(4));
    let a = track(&mut i, ms(4500), false);
    assert_eq!(sent_priorities(&a), vec![140]);
}

#[test]
fn fast_preempt_takes_over_when_followed_master_degrades() {
    let mk = |fast_preempt| {
        let c = fast(
            cfg(Version::V3, 150),
            FastFailover {
                fast_preempt,
                ..FastFailover::default()
            },
        );
        let mut i = Instance::new(c).unwrap();
        i.handle(Duration::ZERO, Event::Start);
        i.handle(ms(100), advert(2, 200, Duration::from_secs(1)));
        i
    };
    let mut i = mk(true);
    let a = i.handle(ms(1100), advert(2, 100, Duration::from_secs(1)));
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
    assert_eq!(sent_priorities(&a), vec![150]);
    // Off: keepalived discards and waits for the down timer.
    let mut i = mk(false);
    assert!(
        i.handle(ms(1100), advert(2, 100, Duration::from_secs(1)))
            .is_empty()
    );
    assert_eq!(i.state(), State::Backup);
}

/// The order of a takeover's first actions: keepalived sends the advert first (the old master
/// drops the VIPs at once); with fast preempt the VIPs and gratuitous ARPs go first, so clients
/// move before the old master lets go (make before break).
#[test]
fn fast_preempt_announces_before_its_first_advert() {
    fn kinds(actions: &[Action]) -> Vec<&'static str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::SendAdvert(_) => Some("advert"),
                Action::AddVips { .. } => Some("vips"),
                Action::SendGratuitous { .. } => Some("garp"),
                _ => None,
            })
            .collect()
    }
    let mut fast_node = Instance::new(fast(
        cfg(Version::V3, 150),
        FastFailover {
            fast_preempt: true,
            ..FastFailover::default()
        },
    ))
    .unwrap();
    fast_node.handle(Duration::ZERO, Event::Start);
    fast_node.handle(ms(100), advert(2, 200, Duration::from_secs(1)));
    let a = fast_node.handle(ms(1100), advert(2, 100, Duration::from_secs(1)));
    assert_eq!(kinds(&a), vec!["vips", "garp", "advert"]);

    let mut keepalived_node = Instance::new(cfg(Version::V3, 150)).unwrap();
    keepalived_node.handle(Duration::ZERO, Event::Start);
    let log = run_until(&mut keepalived_node, Duration::from_secs(5));
    let first: Vec<Action> = log.into_iter().map(|(_, a)| a).collect();
    assert_eq!(kinds(&first)[..3], ["advert", "vips", "garp"]);
}

/// With a release delay, a MASTER that yields keeps its VIPs that long (make before break),
/// then removes them; without it (keepalived), at once.
#[test]
fn release_delay_keeps_vips_briefly_after_yielding() {
    for delay in [ms(0), ms(100)] {
        let mut i = Instance::new(fast(
            cfg(Version::V3, 150),
            FastFailover {
                release_delay: delay,
                ..FastFailover::default()
            },
        ))
        .unwrap();
        i.handle(Duration::ZERO, Event::Start);
        let _ = run_until(&mut i, Duration::from_secs(4));
        assert_eq!(i.state(), State::Master);
        let a = i.handle(ms(10_000), advert(2, 200, Duration::from_secs(1)));
        let removed_at_once = a.iter().any(|a| matches!(a, Action::RemoveVips { .. }));
        assert_eq!(i.state(), State::Backup);
        assert_eq!(removed_at_once, delay.is_zero(), "delay {delay:?}");
        if !delay.is_zero() {
            assert_eq!(i.next_deadline(), Some(ms(10_100)));
            let a = i.handle(ms(10_100), Event::Timer);
            assert!(a.iter().any(|a| matches!(a, Action::RemoveVips { .. })));
        }
    }
}

#[test]
fn fast_preempt_not_used_for_failback_over_a_steady_lower_master() {
    // We follow a master at 200 while dipped to 100; on recovery to 150 the
    // master (still 200) is not lower. A master that was always below us
    // (we rose) is preempted the RFC way, after Master_Down_Interval.
    let mut c = cfg(Version::V3, 150);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight: -100,
        reverse: false,
    }];
    let mut i = Instance::new(fast(
        c,
        FastFailover {
            fast_preempt: true,
            ..FastFailover::default()
        },
    ))
    .unwrap();
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), false); // 50
    i.handle(ms(100), advert(2, 100, Duration::from_secs(1))); // follow 100
    track(&mut i, ms(200), true); // 150 > 100
    let a = i.handle(ms(1100), advert(2, 100, Duration::from_secs(1)));
    assert!(transitions(&a).is_empty());
}

#[test]
fn hold_time_hides_a_short_dip_and_publishes_a_long_one() {
    let mut c = cfg(Version::V3, 200);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight: -100,
        reverse: false,
    }];
    let ff = FastFailover {
        immediate_advert_on_priority_change: true,
        hold_time: ms(300),
        ..FastFailover::default()
    };
    let mut i = Instance::new(fast(c, ff)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), true);
    let _ = run_until(&mut i, Duration::from_secs(4));
    let t = Duration::from_secs(5);
    // Dip of 200 ms: never advertised.
    assert!(sent_priorities(&track(&mut i, t, false)).is_empty());
    let log = run_until(&mut i, t + ms(200));
    assert!(
        log.iter()
            .all(|(_, a)| !matches!(a, Action::SendAdvert(x) if x.priority != 200))
    );
    assert!(sent_priorities(&track(&mut i, t + ms(200), true)).is_empty());
    // Dip of 1 s: advertised once it lasted 300 ms.
    let t = Duration::from_secs(8);
    track(&mut i, t, false);
    let log = run_until(&mut i, t + Duration::from_secs(1));
    let first_low = log
        .iter()
        .find(|(_, a)| matches!(a, Action::SendAdvert(x) if x.priority == 100))
        .map(|(at, _)| *at);
    assert_eq!(first_low, Some(t + ms(300)));
}

// ----- hostile segment (issue 11): invalid packets move nothing -----------

#[test]
fn invalid_packets_do_not_touch_timers_or_state() {
    use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
    use vrrp::rx::parse_ipv4;
    use vrrp::{Auth, PseudoHeader};

    let mut c = cfg(Version::V2, 100);
    c.auth = Auth::pass(b"secret");
    let mut backup = Instance::new(c.clone()).unwrap();
    backup.handle(Duration::ZERO, Event::Start);
    let mut master_cfg = c.clone();
    master_cfg.primary_address = ip(2);
    master_cfg.priority = 200;
    let master_adv = Instance::new(master_cfg).unwrap().build_advert(200);
    let good = |mutate: &dyn Fn(&mut Vec<u8>), ttl: u8| {
        let mut payload = master_adv.encode(PseudoHeader::None).unwrap();
        mutate(&mut payload);
        build_ipv4_packet(
            Ipv4Params {
                src: Ipv4Addr::new(198, 18, 0, 2),
                dst: Ipv4Addr::new(224, 0, 0, 18),
                ttl,
                id: 7,
            },
            &payload,
        )
    };
    let bad_packets: Vec<Vec<u8>> = vec![
        good(&|p| p[6] ^= 0xff, 255),  // checksum
        good(&|_| {}, 64),             // TTL
        good(&|p| p[0] = 0x31, 255),   // version
        good(&|p| p[0] = 0x22, 255),   // type
        good(&|p| p[3] = 9, 255),      // address count
        good(&|p| p[5] = 3, 255),      // interval
        good(&|p| p[4] = 0, 255),      // auth type
        good(&|p| p[12] ^= 1, 255),    // auth data
        good(&|p| p[1] = 52, 255),     // other VRID
        good(&|p| p.truncate(9), 255), // truncated
        vec![
            0x45, 0, 0, 20, 0, 0, 0x20, 0, 255, 112, 0, 0, 198, 18, 0, 2, 224, 0, 0, 18,
        ], // fragment
        vec![0x46; 40],                // garbage with options
    ];
    // A valid advert resets the timer; then only garbage arrives.
    let valid = good(&|_| {}, 255);
    backup
        .handle_packet(ms(500), &parse_ipv4(&valid).unwrap())
        .unwrap();
    let deadline = backup.next_deadline().unwrap();
    let mut t = ms(500);
    while t < deadline {
        for p in &bad_packets {
            if let Ok(pkt) = parse_ipv4(p) {
                assert!(backup.handle_packet(t, &pkt).is_err());
            } else {
                backup.record_drop(parse_ipv4(p).unwrap_err());
            }
        }
        assert_eq!(backup.next_deadline(), Some(deadline));
        t += ms(10);
    }
    assert_eq!(backup.state(), State::Backup);
    assert_eq!(backup.counters().accepted, 1);
    assert!(backup.counters().dropped_total() > 1000);
    for reason in [
        "bad_checksum",
        "bad_ttl",
        "version_mismatch",
        "bad_type",
        "bad_length",
        "interval_mismatch",
        "auth_type_mismatch",
        "auth_failure",
        "unknown_vrid",
        "fragment",
    ] {
        let n = backup
            .counters()
            .iter()
            .find(|(k, _)| *k == reason)
            .unwrap()
            .1;
        assert!(n > 0, "{reason} not counted");
    }

    // A master's advert schedule is untouched by the same flood.
    let mut mc = c.clone();
    mc.priority = 250;
    let mut m = Instance::new(mc).unwrap();
    m.handle(Duration::ZERO, Event::Start);
    let log = run_until(&mut m, Duration::from_secs(4));
    let t0 = became_master_at(&log).unwrap();
    let mut sends = Vec::new();
    let mut now = t0;
    let end = t0 + Duration::from_secs(10);
    while now < end {
        for p in &bad_packets {
            if let Ok(pkt) = parse_ipv4(p) {
                assert!(m.handle_packet(now, &pkt).unwrap_or_default().is_empty());
            }
        }
        let next = m.next_deadline().unwrap();
        let step = now + ms(50);
        if next <= step {
            for a in m.handle(next, Event::Timer) {
                if let Action::SendAdvert(_) = a {
                    sends.push(next - t0);
                }
            }
            now = next;
        } else {
            now = step;
        }
    }
    let expect: Vec<Duration> = (1..=sends.len() as u32)
        .map(|k| Duration::from_secs(1) * k)
        .collect();
    assert_eq!(sends, expect);
    assert_eq!(m.state(), State::Master);
}

// ----- reload -------------------------------------------------------------

#[test]
fn reconfigure_keeps_state_and_moves_only_changed_vips() {
    let mut i = master_instance(Version::V3, 150);
    let mut c = i.config().clone();
    c.vips = vec![Vip::host(ip(101))];
    let a = i.reconfigure(Duration::from_secs(5), c.clone()).unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(transitions(&a).is_empty(), "no flap on reload");
    assert_eq!(
        a[0],
        Action::RemoveVips {
            vips: vec![Vip::host(ip(100))],
            excluded: vec![]
        }
    );
    assert_eq!(
        a[1],
        Action::AddVips {
            vips: vec![Vip::host(ip(101))],
            excluded: vec![]
        }
    );
    // Same config again: nothing at all.
    assert!(
        i.reconfigure(Duration::from_secs(6), c.clone())
            .unwrap()
            .is_empty()
    );
    // Priority change takes effect like a tracker change.
    c.priority = 120;
    let a = i.reconfigure(Duration::from_secs(7), c.clone()).unwrap();
    assert!(a.contains(&Action::PriorityChanged { old: 150, new: 120 }));
    assert_eq!(i.advertised_priority(), 120);
    // Another VRID is another instance.
    c.vrid = 52;
    assert!(i.reconfigure(Duration::from_secs(8), c).is_err());
}

#[test]
fn reconfigure_keeps_tracker_states_by_name() {
    let mut i = tracked(-50, 150);
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), false);
    assert_eq!(i.effective_priority(), 100);
    let c = i.config().clone();
    i.reconfigure(ms(2), c).unwrap();
    assert_eq!(i.effective_priority(), 100);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn strict_mode_master_does_not_answer_lower_adverts() {
    let mut c = cfg(Version::V3, 100);
    c.strict = true;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let _ = run_until(&mut i, Duration::from_secs(4));
    assert_eq!(i.state(), State::Master);
    let a = i.handle(
        Duration::from_secs(5),
        advert(2, 50, Duration::from_secs(1)),
    );
    assert!(sent_priorities(&a).is_empty());
}

#[test]
fn priority_change_during_fault_is_reported_and_used_on_recovery() {
    let mut c = cfg(Version::V2, 150);
    c.trackers = vec![
        TrackerConfig {
            name: "w".into(),
            weight: -50,
            reverse: false,
        },
        TrackerConfig {
            name: "f".into(),
            weight: 0,
            reverse: false,
        },
    ];
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let up = |i: &mut Instance, t: u64, name: &str, up: bool| {
        i.handle(
            ms(t),
            Event::TrackerChanged {
                name: name.into(),
                up,
            },
        )
    };
    up(&mut i, 1, "f", true);
    assert_eq!(i.state(), State::Backup);
    up(&mut i, 2, "f", false);
    assert_eq!(i.state(), State::Fault);
    let a = up(&mut i, 3, "w", false);
    assert!(a.contains(&Action::PriorityChanged { old: 150, new: 100 }));
    let a = up(&mut i, 4, "f", true);
    assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
    // Fresh down timer computed with priority 100: 3 s + 156/256 s.
    assert_eq!(
        i.next_deadline(),
        Some(ms(4) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn garp_refresh_and_lower_priority_bursts() {
    use vrrp::GarpCause;
    let mut c = cfg(Version::V3, 200);
    c.garp.master_refresh = Some(Duration::from_secs(2));
    c.garp.master_refresh_repeat = 3;
    c.garp.lower_prio_delay = Duration::from_secs(4);
    c.garp.lower_prio_repeat = 2;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let log = run_until(&mut i, Duration::from_secs(10));
    let t0 = became_master_at(&log).unwrap();
    let refreshes: Vec<Duration> = log
        .iter()
        .filter(|(_, a)| {
            matches!(
                a,
                Action::SendGratuitous {
                    cause: GarpCause::Refresh,
                    count: 3,
                    ..
                }
            )
        })
        .map(|(t, _)| *t - t0)
        .collect();
    assert_eq!(
        refreshes[..2],
        [Duration::from_secs(2), Duration::from_secs(4)]
    );
    let t = Duration::from_secs(10);
    let a = i.handle(t, advert(2, 100, Duration::from_secs(1)));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::SendGratuitous {
            cause: GarpCause::LowerPriority,
            count: 2,
            ..
        }
    )));
    let log = run_until(&mut i, t + Duration::from_secs(5));
    let delayed = log
        .iter()
        .find(|(_, a)| {
            matches!(
                a,
                Action::SendGratuitous {
                    cause: GarpCause::LowerPriorityDelay,
                    ..
                }
            )
        })
        .map(|(at, _)| *at - t);
    assert_eq!(delayed, Some(Duration::from_secs(4)));
}

#[test]
fn fast_preempt_is_off_with_preempt_delay_or_nopreempt() {
    for (preempt, delay) in [(true, Duration::from_secs(5)), (false, Duration::ZERO)] {
        let mut c = cfg(Version::V3, 150);
        c.preempt = preempt;
        c.preempt_delay = delay;
        c.fast_failover.fast_preempt = true;
        let mut i = Instance::new(c).unwrap();
        i.handle(Duration::ZERO, Event::Start);
        i.handle(ms(100), advert(2, 200, Duration::from_secs(1)));
        let a = i.handle(ms(1100), advert(2, 100, Duration::from_secs(1)));
        assert!(
            transitions(&a).is_empty(),
            "preempt {preempt} delay {delay:?}"
        );
    }
}

#[test]
fn fast_preempt_delay_is_cancelled_by_a_recovered_master() {
    let mut c = cfg(Version::V3, 150);
    c.fast_failover.fast_preempt = true;
    c.fast_failover.fast_preempt_delay = ms(300);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i.handle(ms(100), advert(2, 200, Duration::from_secs(1)));
    // keepalived master dips (advertises 100), recovers 200 ms later.
    i.handle(ms(200), advert(2, 100, Duration::from_secs(1)));
    assert_eq!(i.next_deadline(), Some(ms(500)));
    i.handle(ms(400), advert(2, 200, Duration::from_secs(1)));
    let log = run_until(&mut i, ms(600));
    assert!(became_master_at(&log).is_none());
    // A dip that lasts: takeover at the delay.
    i.handle(ms(600), advert(2, 100, Duration::from_secs(1)));
    let log = run_until(&mut i, ms(1000));
    assert_eq!(became_master_at(&log), Some(ms(900)));
}

#[test]
fn fast_preempt_delay_outlasts_master_down_for_a_master_that_still_advertises() {
    // A master advertising every 100 ms (Master_Down_Interval ~ 0.36 s) dips for 1 s: with a
    // 2 s fast-preempt delay the backup keeps following it and nothing moves; a dip that
    // lasts is taken over when the delay runs out, not at master down.
    let mut c = cfg(Version::V3, 150);
    c.fast_failover.fast_preempt = true;
    c.fast_failover.fast_preempt_delay = Duration::from_secs(2);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let mut t = ms(100);
    let advertise_until = |i: &mut Instance, t: &mut Duration, end: Duration, prio: u8| {
        let mut log = Vec::new();
        while *t < end {
            i.handle(*t, advert(2, prio, ms(100)));
            log.extend(run_until(i, *t + ms(99)));
            *t += ms(100);
        }
        log
    };
    let log = advertise_until(&mut i, &mut t, ms(1000), 200);
    assert!(became_master_at(&log).is_none());
    let log = advertise_until(&mut i, &mut t, ms(2000), 100); // 1 s dip
    assert!(became_master_at(&log).is_none(), "a 1 s dip moved the VIP");
    let log = advertise_until(&mut i, &mut t, ms(3000), 200);
    assert!(became_master_at(&log).is_none());
    let log = advertise_until(&mut i, &mut t, ms(6000), 100); // a lasting dip from 3 s
    assert_eq!(became_master_at(&log), Some(ms(5000)));
}

#[test]
fn hold_time_backup_waits_for_its_own_priority_to_settle() {
    // A BACKUP whose priority just rose above the master's follows it until
    // the priority has been steady for hold_time, then preempts the RFC way.
    let mut c = cfg(Version::V3, 150);
    c.advert_interval = ms(100);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight: -100,
        reverse: false,
    }];
    c.fast_failover.hold_time = Duration::from_secs(1);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    track(&mut i, ms(1), false); // 50
    let mut t = ms(10);
    let mut took = None;
    track(&mut i, ms(5), true); // 150 from 5 ms on
    while t < Duration::from_secs(3) {
        i.handle(t, advert(2, 100, ms(100)));
        let log = run_until(&mut i, t + ms(99));
        if let Some(at) = became_master_at(&log) {
            took = Some(at);
            break;
        }
        t += ms(100);
    }
    let took = took.expect("preempted eventually");
    // Not before the hold time, then after Master_Down_Interval of discarding.
    assert!(took >= ms(1005), "{took:?}");
    assert!(
        took <= ms(1005) + ms(100) + i.master_down_interval(),
        "{took:?}"
    );
}

/// A backup that was itself down when the master's priority dropped takes over as soon as
/// its own priority is back above the master's (the master degraded from a peak at least our
/// priority), not a whole Master_Down_Interval later; a master that never advertised at
/// least our priority is preempted the RFC way (we rose: failback is damped).
#[test]
fn fast_preempt_when_our_priority_rises_above_a_degraded_master() {
    for (master_peak, expect_at_once) in [(200, true), (120, false)] {
        let mut c = cfg(Version::V3, 150);
        c.advert_interval = Duration::from_secs(1);
        c.trackers = vec![TrackerConfig {
            name: "chk".into(),
            weight: -100,
            reverse: false,
        }];
        c.fast_failover.fast_preempt = true;
        let mut i = Instance::new(c).unwrap();
        i.handle(Duration::ZERO, Event::Start);
        i.handle(ms(100), advert(2, master_peak, Duration::from_secs(1)));
        track(&mut i, ms(200), false); // we are 50
        // The master drops to 120 while we are at 50: nothing to preempt.
        i.handle(ms(1100), advert(2, 120, Duration::from_secs(1)));
        assert!(became_master_at(&run_until(&mut i, ms(1500))).is_none());
        let rise = track(&mut i, ms(1500), true); // we are 150 again
        let at_once = transitions(&rise).contains(&(State::Backup, State::Master));
        assert_eq!(at_once, expect_at_once, "master peak {master_peak}");
    }
}
