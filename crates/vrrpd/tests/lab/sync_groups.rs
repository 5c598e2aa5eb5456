//! A sync group whose members have different `advert_int`s, side by side with keepalived on
//! one config and no peer: the group goes MASTER when its slowest member's master-down timer
//! runs out (3 x 3 s + skew), not at the fastest's (3 x 1 s + skew), every member sends its
//! first advert at that moment, and the member that completed the group enters MASTER first,
//! as keepalived 2.2.7 does.

use std::time::{Duration, Instant};

use crate::vrrp_lab::{KEEPALIVED, WAIT, lab_with, start_keepalived, start_vrrpd};
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

const CONF: &str = "global_defs {
    router_id sg
    vrrp_garp_master_delay 0
}
vrrp_sync_group G {
    group {
        VI_FAST
        VI_SLOW
    }
}
vrrp_instance VI_FAST {
    state BACKUP
    interface eth0
    virtual_router_id 71
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.18.0.171/24
    }
}
vrrp_instance VI_SLOW {
    state BACKUP
    interface eth0
    virtual_router_id 72
    priority 100
    advert_int 3
    virtual_ipaddress {
        198.18.0.172/24
    }
}
";

/// Seconds since midnight of tcpdump's timestamp (`HH:MM:SS.micros`) in `line`.
fn stamp(line: &str) -> Option<f64> {
    let t = line
        .split_whitespace()
        .find(|w| w.len() > 8 && w.matches(':').count() == 2 && w.contains('.'))?;
    t.split(':')
        .map(|p| p.parse::<f64>().ok())
        .try_fold(0.0, |acc, p| Some(acc * 60.0 + p?))
}

/// When the first advert of `vrid` was captured: `-vv` prints the timestamp on the line
/// before the VRRP line.
fn first_advert(text: &str, vrid: u8) -> f64 {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("vrid {vrid},")))
        .unwrap_or_else(|| panic!("no advert of vrid {vrid}:\n{text}"));
    lines[..=at]
        .iter()
        .rev()
        .find_map(|l| stamp(l))
        .unwrap_or_else(|| panic!("no timestamp before vrid {vrid}:\n{text}"))
}

/// Starts a daemon with `start` and returns (seconds from its start to the group's first
/// advert, seconds between the two members' first adverts, the daemon).
fn takeover(h: &Host, start: impl FnOnce() -> Proc) -> (f64, f64, Proc) {
    let cap = h.capture("vrrp").expect("capture");
    let t0 = Instant::now();
    let p = start();
    cap.wait_for("vrid 7[12],", Duration::from_secs(20))
        .expect("an advert");
    let took = t0.elapsed().as_secs_f64();
    let _ = cap.wait_for("vrid 7[12],", Duration::from_secs(5));
    let text = cap.text();
    let gap = (first_advert(&text, 71) - first_advert(&text, 72)).abs();
    (took, gap, p)
}

/// The order in which the daemon's log says the members entered MASTER.
fn master_order(p: &Proc) -> Vec<&'static str> {
    let out = p.output();
    let at = |name: &str| out.find(&format!("({name}) Entering MASTER STATE"));
    let mut order: Vec<(usize, &'static str)> = ["VI_FAST", "VI_SLOW"]
        .into_iter()
        .filter_map(|n| at(n).map(|i| (i, n)))
        .collect();
    order.sort();
    order.into_iter().map(|(_, n)| n).collect()
}

fn stop(mut p: Proc, lab: &Lab) {
    p.signal_group(Signal::SIGTERM).expect("SIGTERM");
    let _ = p.wait_exit(Duration::from_secs(15));
    let h = lab.host(0);
    for vip in ["198.18.0.171", "198.18.0.172"] {
        h.wait_for_address(vip.parse().unwrap(), false, Duration::from_secs(15))
            .expect("VIP released");
    }
}

#[test]
fn a_sync_group_waits_for_its_slowest_member_like_keepalived() {
    let test = "a_sync_group_waits_for_its_slowest_member_like_keepalived";
    let present = std::path::Path::new(KEEPALIVED).exists();
    let Some(lab) = lab_with(test, "keepalived", present) else {
        return;
    };
    let h = lab.host(0);
    let (k_took, k_gap, k) = takeover(h, || start_keepalived(&lab, h, "k", CONF));
    k.wait_for_line(r"\(VI_FAST\) Entering MASTER", WAIT)
        .expect("keepalived's members MASTER");
    let k_order = master_order(&k);
    stop(k, &lab);
    let (v_took, v_gap, v) = takeover(h, || start_vrrpd(&lab, h, "v", CONF, &[]));
    v.wait_for_line(r"\(VI_FAST\) Entering MASTER", WAIT)
        .expect("vrrpd's members MASTER");
    let v_order = master_order(&v);
    stop(v, &lab);
    assert_eq!(k_order, ["VI_SLOW", "VI_FAST"], "keepalived's order");
    assert_eq!(v_order, k_order, "vrrpd's order");
    eprintln!(
        "keepalived: MASTER after {k_took:.3} s (members {k_gap:.3} s apart); vrrpd: {v_took:.3} s ({v_gap:.3} s)"
    );
    // The fast member alone would take over at 3.6 s, the slow one at 9.6 s.
    for (who, took, gap) in [("keepalived", k_took, k_gap), ("vrrpd", v_took, v_gap)] {
        assert!(
            took > 8.0,
            "{who}'s group went MASTER at {took:.3} s: before its slowest member"
        );
        assert!(took < 13.0, "{who}'s group waited {took:.3} s");
        assert!(gap < 0.3, "{who}'s members took over {gap:.3} s apart");
    }
    assert!(
        (k_took - v_took).abs() < 1.0,
        "keepalived {k_took:.3} s, vrrpd {v_took:.3} s"
    );
}
