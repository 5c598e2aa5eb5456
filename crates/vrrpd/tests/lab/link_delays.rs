//! `interface_up_down_delays` against the advert interval, side by side with keepalived
//! 2.2.7: a delay is shortened to below `(down_timer_adverts - 1)` advert intervals of the
//! instances on the interface (so a backup cannot take over before the master faults), and
//! further when a backup there hears a master advertising faster; a VMAC takes its parent's
//! delays; a line without UP holds nothing on the way up (keepalived's man page says UP
//! defaults to DOWN; 2.2.7 does not do that). Each scenario runs under one daemon, then the
//! other, on the same lab.

use std::time::{Duration, Instant};

use crate::vrrp_lab::*;
use netlab::{Host, Proc};
use nix::sys::signal::Signal;

const FAULT: &str = "Entering FAULT STATE";
const OUT_OF_FAULT: &str = "Entering (BACKUP|MASTER) STATE";
/// keepalived 2.2.7's line has a typo ("not less that"); vrrpd's says "than".
const SHORTENED: &str = r"debounce timer\(s\) not less th";
const REDUCED: &str = "lower advert_int reducing interface eth0 debounce timer";

fn conf(delay: &str, node: &Node) -> String {
    format!(
        "interface_up_down_delays {{\n    eth0 {delay}\n}}\n{}",
        node.conf()
    )
}

fn stop(mut p: Proc) {
    p.signal(Signal::SIGTERM).expect("SIGTERM");
    p.wait_exit(WAIT).expect("clean exit");
}

/// Takes eth0 of `h` down until `p` faults, then up until it leaves FAULT: both times.
fn bounce(h: &Host, p: &Proc) -> (Duration, Duration) {
    let t0 = Instant::now();
    h.link_down().expect("link down");
    p.wait_for_line(FAULT, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    let down = t0.elapsed();
    let t0 = Instant::now();
    h.link_up().expect("link up");
    p.wait_for_line(OUT_OF_FAULT, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    (down, t0.elapsed())
}

fn daemons() -> [(bool, &'static str); 2] {
    [(true, "keepalived 2.2.7"), (false, "vrrpd")]
}

/// `eth0 5 5` beside a 1 s instance: both delays become 1.996 s, so the instance faults (and
/// comes back) before three intervals, when a backup would take over.
#[test]
fn link_delays_are_shortened_below_the_advert_interval_like_keepalived() {
    let Some(lab) =
        keepalived_lab("link_delays_are_shortened_below_the_advert_interval_like_keepalived")
    else {
        return;
    };
    let h = lab.host(0);
    let ceiling = Duration::from_micros(1_996_094);
    let backup_takes_over = 3 * Duration::from_secs(1);
    for (keepalived, who) in daemons() {
        let p = start_daemon(&lab, h, who, &conf("5 5", &Node::v3(150, "1")), keepalived);
        // Said at start, before the instance can become MASTER.
        p.wait_for_line(SHORTENED, WAIT)
            .unwrap_or_else(|e| panic!("{who}: {e}\n{}", p.output()));
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let (down, up) = bounce(h, &p);
        println!("{who}: FAULT after {down:?}, out of FAULT after {up:?}");
        for (what, t) in [("FAULT", down), ("out of FAULT", up)] {
            assert!(
                ceiling <= t && t < backup_takes_over,
                "{who}: {what} after {t:?}, not within [{ceiling:?}, {backup_takes_over:?})"
            );
        }
        stop(p);
    }
}

/// A `use_vmac` instance: its VMAC (whose link follows eth0's) is held by eth0's 2 s delays,
/// below the 3 s instance's ceiling of 5.988 s.
#[test]
fn a_vmac_takes_its_parents_link_delays_like_keepalived() {
    let Some(lab) = keepalived_lab("a_vmac_takes_its_parents_link_delays_like_keepalived") else {
        return;
    };
    let h = lab.host(0);
    let mut node = Node::v3(150, "3");
    node.extra_instance = "    use_vmac\n".into();
    let (delay, ceiling) = (Duration::from_secs(2), Duration::from_micros(5_988_282));
    for (keepalived, who) in daemons() {
        let p = start_daemon(&lab, h, who, &conf("2 2", &node), keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let (down, up) = bounce(h, &p);
        println!("{who}: FAULT after {down:?}, out of FAULT after {up:?}");
        for (what, t) in [("FAULT", down), ("out of FAULT", up)] {
            assert!(
                delay <= t && t < ceiling,
                "{who}: {what} after {t:?}, not within [{delay:?}, {ceiling:?})"
            );
        }
        stop(p);
    }
}

/// A 3 s backup with `eth0 5` (below its own ceiling of 5.988 s) hears a 1 s master: its
/// delays drop to 1.996 s.
#[test]
fn a_faster_master_shortens_a_backups_link_delays_like_keepalived() {
    let Some(lab) =
        keepalived_lab("a_faster_master_shortens_a_backups_link_delays_like_keepalived")
    else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let ceiling = Duration::from_micros(1_996_094);
    let backup_takes_over = 3 * Duration::from_secs(1);
    for (keepalived, who) in daemons() {
        let master = start_daemon(
            &lab,
            b,
            &format!("{who}-b"),
            &Node::v3(200, "1").conf(),
            keepalived,
        );
        master.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let p = start_daemon(&lab, a, who, &conf("5", &Node::v3(100, "3")), keepalived);
        p.wait_for_line(REDUCED, WAIT)
            .unwrap_or_else(|e| panic!("{who}: {e}\n{}", p.output()));
        let (down, _) = bounce(a, &p);
        println!("{who}: FAULT after {down:?}");
        assert!(
            ceiling <= down && down < backup_takes_over,
            "{who}: FAULT after {down:?}, not within [{ceiling:?}, {backup_takes_over:?})"
        );
        stop(p);
        stop(master);
    }
}

/// `eth0 2` beside a 3 s instance: the link going down is held 2 s, coming up not at all.
#[test]
fn an_omitted_up_delay_holds_nothing_like_keepalived() {
    let Some(lab) = keepalived_lab("an_omitted_up_delay_holds_nothing_like_keepalived") else {
        return;
    };
    let h = lab.host(0);
    let (delay, ceiling) = (Duration::from_secs(2), Duration::from_micros(5_988_282));
    for (keepalived, who) in daemons() {
        let p = start_daemon(&lab, h, who, &conf("2", &Node::v3(150, "3")), keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let (down, up) = bounce(h, &p);
        println!("{who}: FAULT after {down:?}, out of FAULT after {up:?}");
        assert!(
            delay <= down && down < ceiling,
            "{who}: FAULT after {down:?}, not within [{delay:?}, {ceiling:?})"
        );
        assert!(
            up < delay,
            "{who}: out of FAULT after {up:?}: held like the down"
        );
        stop(p);
    }
}
