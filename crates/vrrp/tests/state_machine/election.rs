//! Election, timers and announcements: takeover after Master_Down_Interval, preemption,
//! tie-breaks, owners, adverts and GARP bursts, strict mode.

use super::*;

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
    assert_eq!(
        master_reason(&log).as_deref(),
        Some("skew time expired after a priority-0 advert from 198.18.0.2 (0.609s)")
    );
}

/// A priority-0 advert followed by a new master's advert: the full timer runs again, and
/// its expiry is told as the master-down timer's, not as the skew time's.
#[test]
fn a_takeover_after_a_superseded_priority_zero_is_told_as_the_master_down_timer() {
    let mut i = Instance::new(cfg(Version::V2, 100)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i.handle(ms(500), advert(2, 200, Duration::from_secs(1)));
    i.handle(ms(1000), advert(2, 0, Duration::from_secs(1)));
    i.handle(ms(1200), advert(3, 200, Duration::from_secs(1)));
    let log = run_until(&mut i, Duration::from_secs(10));
    let reason = master_reason(&log).unwrap();
    assert!(
        reason.starts_with("master down timer expired (no higher-priority advert for"),
        "{reason}"
    );
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
