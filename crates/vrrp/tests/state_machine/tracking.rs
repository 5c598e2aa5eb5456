//! Trackers, faults and maintenance: weights, values, link and send readiness, shutdown.

use super::*;

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

/// The reference deployment's case (deploy/keepalived.conf, weight 2, 101/100): the master's check fails, the backup's higher advert takes the VIP, and
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

/// keepalived 2.2.7 in the lab (`vip_deletion.rs`): a MASTER whose VIP is deleted behind its
/// back sends priority 0, drops its VIPs, and takes over again after its own Skew_Time.
#[test]
fn a_deleted_vip_makes_the_master_hand_over_and_take_over_again_after_its_skew_time() {
    let mut i = master_instance(Version::V3, 150);
    let t = Duration::from_secs(5);
    let a = i.handle(t, Event::VipDeleted(ip(100)));
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(a.iter().any(|x| matches!(x, Action::RemoveVips { .. })));
    assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
    // v3, priority 150, 1 s: skew = 106/256 s, in whole microseconds as keepalived counts.
    let skew = Duration::from_micros(414_062);
    assert_eq!(i.next_deadline(), Some(t + skew));
    let log = run_until(&mut i, t + Duration::from_secs(1));
    assert_eq!(became_master_at(&log), Some(t + skew));
    assert!(log.iter().any(|(_, x)| matches!(x, Action::AddVips { .. })));
    assert_eq!(
        master_reason(&log).as_deref(),
        Some("skew time expired after VIP 198.18.0.100 was deleted (0.414s)"),
        "the reason names the wait it was, not Master_Down_Interval"
    );
}

/// A better router that answers the priority-0 advert keeps the mastership.
#[test]
fn after_a_deleted_vip_a_better_router_answering_keeps_the_mastership() {
    let mut i = master_instance(Version::V3, 150);
    let t = Duration::from_secs(5);
    i.handle(t, Event::VipDeleted(ip(100)));
    i.handle(t + ms(100), advert(2, 200, Duration::from_secs(1)));
    let log = run_until(&mut i, t + Duration::from_millis(1500));
    assert!(became_master_at(&log).is_none());
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn a_deleted_vip_means_nothing_to_a_backup() {
    let mut i = Instance::new(cfg(Version::V3, 150)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let before = i.next_deadline();
    assert!(i.handle(ms(10), Event::VipDeleted(ip(100))).is_empty());
    assert_eq!(i.next_deadline(), before);
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
