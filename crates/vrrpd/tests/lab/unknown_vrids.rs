//! `log_unknown_vrids` in the lab, side by side with keepalived 2.2.7: host 1 is MASTER for
//! VRID 77, host 0 runs VRID 51 only. keepalived logs "Unknown VRID(77) received on
//! interface(eth0). ignoring..." for every advert (measured; an argument such as `false` is
//! ignored, it still logs); vrrpd logs the same words with the sender, once per interface and
//! VRID per limiter window, and nothing without the keyword.

use crate::vrrp_lab::{KEEPALIVED, Node, WAIT, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::Lab;
use nix::sys::signal::Signal;

const LINE: &str = r"Unknown VRID\(77\) received on interface\(eth0\)\. ignoring";

fn conf(global: &str) -> String {
    Node::v3(100, "1").conf().replace(
        "    vrrp_garp_master_delay 0\n",
        &format!("    vrrp_garp_master_delay 0\n{global}"),
    )
}

/// Starts the VRID 77 master on host 1 and returns it with a capture on host 0 that has seen
/// its first advert.
fn peer(lab: &Lab) -> (netlab::Proc, netlab::Capture) {
    let mut n = Node::v3(150, "1");
    n.vrid = 77;
    n.vips = vec!["198.18.0.177/24".into()];
    let cap = lab.host(0).capture("vrrp").expect("capture");
    let p = start_vrrpd(lab, lab.host(1), "peer", &n.conf(), &[]);
    cap.wait_for("vrid 77", WAIT)
        .unwrap_or_else(|e| panic!("VRID 77 adverts: {e}\n{}", p.output()));
    (p, cap)
}

#[test]
fn log_unknown_vrids_logs_adverts_for_vrids_no_instance_owns_like_keepalived() {
    let Some(lab) =
        keepalived_lab("log_unknown_vrids_logs_adverts_for_vrids_no_instance_owns_like_keepalived")
    else {
        return;
    };
    assert!(std::path::Path::new(KEEPALIVED).exists());
    let h = lab.host(0);
    let (_peer, cap) = peer(&lab);
    let global = "    log_unknown_vrids false\n";

    let mut k = start_keepalived(&lab, h, "k", &conf(global));
    for n in 1..=3 {
        k.wait_for_nth_line(LINE, n, WAIT)
            .unwrap_or_else(|e| panic!("keepalived line {n}: {e}\n{}", k.output()));
    }
    k.signal(Signal::SIGTERM).expect("SIGTERM");
    k.wait_exit(WAIT).expect("keepalived exits");

    let mut v = start_vrrpd(&lab, h, "v", &conf(global), &[]);
    let line = v
        .wait_for_line(LINE, WAIT)
        .unwrap_or_else(|e| panic!("vrrpd: {e}\n{}", v.output()));
    let src = lab.host(1).ipv4().to_string();
    assert!(line.contains(&src), "the sender is named: {line}");
    // Three more adverts arrive within the limiter's window: still one line.
    for _ in 0..3 {
        cap.wait_for("vrid 77", WAIT).expect("advert");
    }
    let count = v.output().lines().filter(|l| regex_match(l)).count();
    assert_eq!(count, 1, "one line per window:\n{}", v.output());
    v.signal(Signal::SIGTERM).expect("SIGTERM");
    v.wait_exit(WAIT).expect("vrrpd exits");

    // Without the keyword: nothing, while adverts keep coming.
    let mut quiet = start_vrrpd(&lab, h, "q", &conf(""), &[]);
    quiet.wait_for_line("vrrpd running", WAIT).expect("started");
    for _ in 0..3 {
        cap.wait_for("vrid 77", WAIT).expect("advert");
    }
    assert!(
        !quiet.output().lines().any(regex_match),
        "no line without log_unknown_vrids:\n{}",
        quiet.output()
    );
    quiet.signal(Signal::SIGTERM).expect("SIGTERM");
    quiet.wait_exit(WAIT).expect("vrrpd exits");
}

fn regex_match(l: &str) -> bool {
    regex::Regex::new(LINE).expect("pattern").is_match(l)
}
