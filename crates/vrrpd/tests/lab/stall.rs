//! `timer_expired_backup` in the lab: a vrrpd MASTER (priority 150, `nopreempt`) is stopped
//! (SIGSTOP) until Debian's keepalived (priority 100, `nopreempt`) has taken the VIP, then
//! continued. Its advert timer is long overdue: with the option it goes BACKUP and follows
//! keepalived, which keeps the VIP; without it, its first advert (150) takes the VIP back.
//! keepalived 2.2.7 does not have the keyword (newer releases do): vrrpd follows its rule.

use std::time::{Duration, Instant};

use crate::vrrp_lab::{Node, VIP4, WAIT, ip, keepalived_lab, start_keepalived, start_vrrpd};
use nix::sys::signal::Signal;

fn node(priority: u8, extra: &str) -> Node {
    let mut n = Node::v3(priority, "0.1");
    n.nopreempt = true;
    n.extra_instance = extra.into();
    n
}

/// Where the VIP is for `hold` after vrrpd was continued: `true` if it came back to vrrpd.
fn vip_returns_after_a_stall(extra: &str) -> bool {
    let Some(lab) =
        keepalived_lab("stalled_nopreempt_master_with_timer_expired_backup_stays_backup")
    else {
        return false;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let va = start_vrrpd(&lab, a, "a", &node(150, extra).conf(), &[]);
    a.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("VIP on vrrpd: {e}\n{}", va.output()));
    let kb = start_keepalived(&lab, b, "b", &node(100, "").conf());
    kb.wait_for_line("Entering BACKUP STATE", WAIT)
        .expect("keepalived BACKUP");
    va.signal(Signal::SIGSTOP).expect("SIGSTOP");
    let took = b.wait_for_address(vip, true, WAIT);
    va.signal(Signal::SIGCONT).expect("SIGCONT");
    took.unwrap_or_else(|e| panic!("keepalived takes over: {e}\n{}", kb.output()));
    // One master-down interval of vrrpd's (0.3 s + skew) is enough for either outcome; the
    // VIP is watched for ten times that.
    let hold = Duration::from_secs(3);
    let until = Instant::now() + hold;
    while Instant::now() < until {
        if a.has_address(vip).expect("address check") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        b.has_address(vip).unwrap(),
        "keepalived still holds the VIP"
    );
    if !extra.is_empty() {
        assert!(
            va.output().contains("scheduling stall"),
            "vrrpd says why\n{}",
            va.output()
        );
    }
    false
}

#[test]
fn stalled_nopreempt_master_with_timer_expired_backup_stays_backup() {
    if !std::path::Path::new(crate::vrrp_lab::KEEPALIVED).exists()
        && std::env::var_os("CI").is_none()
    {
        eprintln!("SKIPPED: needs keepalived");
        return;
    }
    if !netlab::require_root_or_skip(
        "stalled_nopreempt_master_with_timer_expired_backup_stays_backup",
    ) {
        return;
    }
    assert!(
        vip_returns_after_a_stall(""),
        "without the option the stalled master takes the VIP back (the case the option is for)"
    );
    assert!(
        !vip_returns_after_a_stall("    timer_expired_backup 100\n"),
        "with the option the VIP stays where it went"
    );
}
