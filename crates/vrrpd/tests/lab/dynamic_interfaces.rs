//! `dynamic_interfaces` side by side with Debian's keepalived 2.2.7: an instance whose
//! interface is deleted goes to FAULT, and when an interface of that name is created again
//! (a new index, as a VLAN, bond or macvlan that is recreated gets) the instance runs on it
//! again and takes its VIP back; `interface_up_down_delays` hold neither the deletion nor
//! the new link (the instance's interface or a tracked one).

use std::time::{Duration, Instant};

use crate::vrrp_lab::*;
use netlab::{Host, Proc};
use nix::sys::signal::Signal;

const FAULT_LINE: &str = r"Entering FAULT STATE";

fn macvlan(h: &Host) {
    for argv in [
        &[
            "ip", "link", "add", "link", "eth0", "name", "mv0", "type", "macvlan", "mode", "bridge",
        ][..],
        &["ip", "addr", "add", "198.18.0.31/24", "dev", "mv0"],
        &["ip", "link", "set", "mv0", "up"],
    ] {
        let out = h.run(argv).unwrap();
        assert!(out.status.success(), "{argv:?}: {out:?}");
    }
}

/// One instance on `mv0` with `dynamic_interfaces`, advertising every `advert_int`; `extra`
/// goes before it (top-level keywords).
fn conf_with(extra: &str, advert_int: u32) -> String {
    format!(
        "global_defs {{\n    dynamic_interfaces\n    vrrp_garp_master_delay 0\n}}\n{extra}\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface mv0\n    virtual_router_id 51\n\
         priority 150\n    advert_int {advert_int}\n    virtual_ipaddress {{\n        {VIP4}/24\n    }}\n}}\n"
    )
}

fn conf() -> String {
    conf_with("", 1)
}

/// Waits for the daemon's `nth` MASTER line and the VIP on `a`, stops the daemon and
/// deletes `mv0` for the next run.
fn master_then_stop(a: &Host, p: &mut Proc, tag: &str, nth: usize) {
    p.wait_for_nth_line(MASTER_LINE, nth, WAIT)
        .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    a.run(&["ip", "link", "del", "mv0"]).unwrap();
}

#[test]
fn a_recreated_interface_brings_its_instance_back_like_keepalived() {
    let Some(lab) =
        keepalived_lab("a_recreated_interface_brings_its_instance_back_like_keepalived")
    else {
        return;
    };
    let a = lab.host(0);
    let text = conf();
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        macvlan(a);
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        a.run(&["ip", "link", "del", "mv0"]).unwrap();
        p.wait_for_line(FAULT_LINE, WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        macvlan(a);
        master_then_stop(a, &mut p, tag, 2);
    }
}

/// With `dynamic_interfaces` a file naming an interface that does not exist yet starts (the
/// other daemon refuses it without the keyword unless `--start-partial`), and the instance
/// runs once the interface is created.
#[test]
fn an_instance_waits_for_its_missing_interface_like_keepalived() {
    let Some(lab) = keepalived_lab("an_instance_waits_for_its_missing_interface_like_keepalived")
    else {
        return;
    };
    let a = lab.host(0);
    let text = conf();
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        // Both say at start that the interface is missing.
        p.wait_for_line("mv0", WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        macvlan(a);
        master_then_stop(a, &mut p, tag, 1);
    }
}

/// `interface_up_down_delays { mv0 1 1 }` beside a 1 s instance (version 2, priority 150:
/// master down after 3 + 106/256 s). keepalived 2.2.7 holds neither the deletion nor the
/// new interface's coming up: FAULT at once, BACKUP at once on the new link, MASTER one
/// master-down interval later. The delays only hold changes of a link that stays.
#[test]
fn a_recreated_interface_is_not_held_by_its_link_delays_like_keepalived() {
    let Some(lab) =
        keepalived_lab("a_recreated_interface_is_not_held_by_its_link_delays_like_keepalived")
    else {
        return;
    };
    let a = lab.host(0);
    let text = conf_with("interface_up_down_delays {\n    mv0 1 1\n}\n", 1);
    let delay = Duration::from_secs(1);
    let master_down = Duration::from_secs(3) + Duration::from_secs(106) / 256;
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        macvlan(a);
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let t0 = Instant::now();
        a.run(&["ip", "link", "del", "mv0"]).unwrap();
        p.wait_for_line(FAULT_LINE, WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        let fault = t0.elapsed();
        let t0 = Instant::now();
        macvlan(a);
        p.wait_for_line(BACKUP_LINE, WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        let backup = t0.elapsed();
        p.wait_for_nth_line(MASTER_LINE, 2, WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        let master = t0.elapsed();
        println!(
            "{tag}: FAULT after {fault:?}; on the new link BACKUP after {backup:?}, MASTER after {master:?}"
        );
        let out = p.output();
        assert!(fault < delay, "{tag}: FAULT after {fault:?}: held\n{out}");
        assert!(
            backup < delay,
            "{tag}: BACKUP after {backup:?}: held\n{out}"
        );
        assert!(
            master_down <= master && master < master_down + delay,
            "{tag}: MASTER after {master:?}, not within [{master_down:?}, {:?})\n{out}",
            master_down + delay
        );
        master_then_stop(a, &mut p, tag, 2);
    }
}

/// An instance on eth0 tracking `mv0`, with `interface_up_down_delays { mv0 1 1 }`: deleting
/// `mv0` and creating it again at once gives FAULT at once and BACKUP at once, and no held
/// change of the deleted link faults the instance once the delay has passed.
#[test]
fn a_recreated_tracked_interface_is_not_held_by_its_link_delays_like_keepalived() {
    let Some(lab) = keepalived_lab(
        "a_recreated_tracked_interface_is_not_held_by_its_link_delays_like_keepalived",
    ) else {
        return;
    };
    let a = lab.host(0);
    let mut n = Node::v3(150, "1");
    n.extra_instance = "    track_interface {\n        mv0\n    }\n".into();
    let text = format!(
        "interface_up_down_delays {{\n    mv0 1 1\n}}\n{}",
        (n.conf()).replace("router_id lab\n", "router_id lab\n    dynamic_interfaces\n")
    );
    let delay = Duration::from_secs(1);
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        macvlan(a);
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let t0 = Instant::now();
        a.run(&["ip", "link", "del", "mv0"]).unwrap();
        macvlan(a);
        p.wait_for_line(FAULT_LINE, WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        let fault = t0.elapsed();
        p.wait_for_line(r"Entering (BACKUP|MASTER) STATE", WAIT)
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{}", p.output()));
        let back = t0.elapsed();
        println!("{tag}: FAULT after {fault:?}, out of FAULT after {back:?}");
        assert!(
            back < delay,
            "{tag}: out of FAULT after {back:?}: held\n{}",
            p.output()
        );
        // A held change of the deleted link would land one delay after the deletion.
        let late = p.wait_for_line(FAULT_LINE, 2 * delay);
        assert!(
            late.is_err(),
            "{tag}: FAULT again: {late:?}\n{}",
            p.output()
        );
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
        a.run(&["ip", "link", "del", "mv0"]).unwrap();
    }
}
