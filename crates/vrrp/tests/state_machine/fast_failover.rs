//! Opt-in fast failover, off by default: immediate adverts, fast preempt, release
//! delay and hold time.

use super::*;

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
