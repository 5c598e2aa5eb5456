//! Reconfiguration in place: state kept, only changed VIPs moved, tracker states kept.

use super::*;

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
