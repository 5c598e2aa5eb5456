//! `timer_expired_backup`: without preemption, an instance whose own timer is handled long
//! after it was due (the process was stalled) goes or stays BACKUP instead of acting on it, so
//! the router that took over meanwhile keeps the VIPs. keepalived 2.2.7 does not have the
//! keyword; the rule is its documented one (newer releases).

use super::*;

fn stalling(prio: u8, preempt: bool, timer_expired_backup: Option<u8>) -> Instance {
    let mut c = cfg(Version::V3, prio);
    c.preempt = preempt;
    c.timer_expired_backup = timer_expired_backup;
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i
}

/// Runs `i` to MASTER, then delivers its next timer `late` after it was due.
fn master_stalls(i: &mut Instance, late: Duration) -> (Duration, Vec<Action>) {
    let log = run_until(i, Duration::from_secs(5));
    assert!(became_master_at(&log).is_some());
    let due = i.next_deadline().unwrap();
    (due + late, i.handle(due + late, Event::Timer))
}

#[test]
fn stalled_nopreempt_master_with_timer_expired_backup_hands_over() {
    let mut i = stalling(150, false, Some(254));
    let (t, a) = master_stalls(&mut i, Duration::from_secs(5));
    assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
    assert!(
        sent_priorities(&a).is_empty(),
        "no advert from the stale timer"
    );
    assert!(a.iter().any(|x| matches!(x, Action::RemoveVips { .. })));
    // The lower-priority router that took over keeps MASTER: we follow it (nopreempt).
    for k in 0..10u64 {
        let now = t + Duration::from_secs(k);
        i.handle(now, advert(2, 100, Duration::from_secs(1)));
        let _ = run_until(&mut i, now + ms(999));
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn a_short_delay_is_no_stall() {
    // 1 s interval, other priority 254: the silence must pass 3.0078 s (lateness + 1 s).
    let mut i = stalling(150, false, Some(254));
    let (_, a) = master_stalls(&mut i, ms(2_000));
    assert_eq!(sent_priorities(&a), vec![150]);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn without_the_option_or_with_preemption_a_stalled_master_keeps_master() {
    for (preempt, option) in [(false, None), (true, Some(254))] {
        let mut i = stalling(150, preempt, option);
        let (_, a) = master_stalls(&mut i, Duration::from_secs(5));
        assert_eq!(sent_priorities(&a), vec![150], "preempt {preempt}");
        assert_eq!(i.state(), State::Master);
    }
}

#[test]
fn stalled_backup_restarts_its_down_timer_instead_of_taking_over() {
    let late = Duration::from_secs(20);
    let mut with = stalling(150, false, Some(254));
    let a = with.handle(late, Event::Timer);
    assert!(transitions(&a).is_empty(), "{a:?}");
    assert_eq!(with.state(), State::Backup);
    // The advert waiting in the socket is read next: we follow that master.
    with.handle(late, advert(2, 100, Duration::from_secs(1)));
    assert_eq!(with.state(), State::Backup);

    let mut without = stalling(150, false, None);
    let a = without.handle(late, Event::Timer);
    assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
}
