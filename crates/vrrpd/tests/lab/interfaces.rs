//! What vrrpd does to the instance's interface itself, side by side with keepalived 2.2.7:
//! `promote_secondaries` sets the interface's sysctl to 1 while the daemon runs (so removing
//! a VIP that is the primary address of its subnet keeps the other addresses of that subnet)
//! and writes the earlier value back on exit.

use crate::vrrp_lab::{Node, WAIT, ip, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

const SYSCTL: &str = "/proc/sys/net/ipv4/conf/eth0/promote_secondaries";

fn sh(h: &Host, cmd: &str) -> String {
    let out = h.run(&["sh", "-c", cmd]).expect("sh");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn promote(h: &Host) -> String {
    sh(h, &format!("cat {SYSCTL}"))
}

#[derive(Clone, Copy, Debug)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

fn start(d: Daemon, lab: &Lab, h: &Host, tag: &str, conf: &str) -> Proc {
    match d {
        Daemon::Vrrpd => start_vrrpd(lab, h, tag, conf, &[]),
        Daemon::Keepalived => start_keepalived(lab, h, tag, conf),
    }
}

/// The VIP of these runs: the first address of its subnet on eth0, so its primary there.
const VIP: &str = "198.18.7.1";
/// An address of the VIP's subnet added by hand while the daemon runs: a secondary of it.
const NEIGHBOUR: &str = "198.18.7.2";

/// One run of `d` with the sysctl at `before`: its value while running, whether the
/// hand-added secondary survives the daemon removing the VIP on exit, its value after exit.
fn run(d: Daemon, lab: &Lab, before: &str, tag: &str) -> (String, bool, String) {
    let h = lab.host(0);
    sh(h, &format!("echo {before} > {SYSCTL}"));
    let mut n = Node::v3(150, "1");
    n.vips = vec![format!("{VIP}/24")];
    n.extra_instance = "    promote_secondaries\n".into();
    let mut p = start(d, lab, h, tag, &n.conf());
    h.wait_for_address(ip(VIP), true, WAIT)
        .unwrap_or_else(|e| panic!("{d:?}: VIP: {e}\n{}", p.output()));
    let during = promote(h);
    sh(h, &format!("ip addr add {NEIGHBOUR}/24 dev eth0"));
    p.signal(Signal::SIGTERM).expect("SIGTERM");
    p.wait_exit(WAIT).expect("clean exit");
    assert!(
        !h.has_address(ip(VIP)).expect("addresses"),
        "{d:?} left its VIP"
    );
    let kept = h.has_address(ip(NEIGHBOUR)).expect("addresses");
    sh(h, &format!("ip addr del {NEIGHBOUR}/24 dev eth0"));
    (during, kept, promote(h))
}

#[test]
fn promote_secondaries_is_set_while_running_and_restored_on_exit_like_keepalived() {
    let test = "promote_secondaries_is_set_while_running_and_restored_on_exit_like_keepalived";
    let Some(lab) = keepalived_lab(test) else {
        return;
    };
    for before in ["0", "1"] {
        let k = run(Daemon::Keepalived, &lab, before, &format!("k{before}"));
        let v = run(Daemon::Vrrpd, &lab, before, &format!("v{before}"));
        println!("sysctl {before} before: keepalived {k:?}, vrrpd {v:?}");
        assert_eq!(
            k,
            ("1".into(), true, before.into()),
            "keepalived 2.2.7's behaviour changed"
        );
        assert_eq!(v, k, "vrrpd as keepalived, sysctl {before} before");
    }
}

#[test]
fn without_promote_secondaries_the_sysctl_is_left_alone() {
    let test = "without_promote_secondaries_the_sysctl_is_left_alone";
    if !netlab::require_root_or_skip(test) {
        return;
    }
    let lab = Lab::new(1).expect("lab");
    let h = lab.host(0);
    sh(h, &format!("echo 0 > {SYSCTL}"));
    let mut p = start_vrrpd(&lab, h, "v", &Node::v3(150, "1").conf(), &[]);
    h.wait_for_address(ip(crate::vrrp_lab::VIP4), true, WAIT)
        .unwrap_or_else(|e| panic!("VIP: {e}\n{}", p.output()));
    assert_eq!(promote(h), "0");
    p.signal(Signal::SIGTERM).expect("SIGTERM");
    p.wait_exit(WAIT).expect("clean exit");
}

/// What one daemon did with `interface_up_down_delays { eth0 2 }`: whether a bounce of eth0
/// shorter than the delay reached the instance (FAULT), and how long a lasting down took to.
fn delayed_fault(d: Daemon, lab: &Lab, tag: &str) -> (bool, f64) {
    let h = lab.host(0);
    let conf = format!(
        "interface_up_down_delays {{\n    eth0 2\n}}\n{}",
        Node::v3(150, "1").conf()
    );
    let cap = h.capture("vrrp").expect("capture");
    let mut p = start(d, lab, h, tag, &conf);
    h.wait_for_address(ip(crate::vrrp_lab::VIP4), true, WAIT)
        .unwrap_or_else(|e| panic!("{d:?}: VIP: {e}\n{}", p.output()));
    // A bounce of a few milliseconds, then three adverts (more than the 2 s delay).
    sh(h, "ip link set dev eth0 down && ip link set dev eth0 up");
    for _ in 0..4 {
        cap.wait_for("VRRP", WAIT)
            .unwrap_or_else(|e| panic!("{d:?}: adverts after the bounce: {e}\n{}", p.output()));
    }
    let bounced = p.output().contains("Entering FAULT STATE");
    let t0 = std::time::Instant::now();
    h.link_down().expect("link down");
    p.wait_for_line("Entering FAULT STATE", WAIT)
        .unwrap_or_else(|e| panic!("{d:?}: FAULT: {e}\n{}", p.output()));
    let after = t0.elapsed().as_secs_f64();
    h.link_up().expect("link up");
    p.signal(Signal::SIGTERM).expect("SIGTERM");
    p.wait_exit(WAIT).expect("clean exit");
    println!("{d:?}: bounce faulted {bounced}, lasting down faulted after {after:.2} s");
    (bounced, after)
}

#[test]
fn interface_up_down_delays_hold_link_changes_like_keepalived() {
    let test = "interface_up_down_delays_hold_link_changes_like_keepalived";
    let Some(lab) = keepalived_lab(test) else {
        return;
    };
    for d in [Daemon::Keepalived, Daemon::Vrrpd] {
        let (bounced, after) = delayed_fault(d, &lab, &format!("{d:?}-delays"));
        assert!(!bounced, "{d:?}: a 2 s down delay ignores a bounce");
        assert!(
            (1.9..3.0).contains(&after),
            "{d:?}: FAULT after the 2 s down delay, took {after:.2} s"
        );
    }
}
