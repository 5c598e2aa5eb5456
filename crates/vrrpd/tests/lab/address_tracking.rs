//! The interfaces an instance's addresses and routes live on, side by side with keepalived
//! 2.2.7: a VIP, an excluded VIP or a route on another interface (`dev`) puts the instance in
//! FAULT when that interface goes down, and back when it comes up; the same line with
//! `no_track` does not. Each daemon runs alone on its lab host, on veth pairs of its own.

use crate::vrrp_lab::{Node, WAIT, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::{Host, Proc};

const FAULT: &str = "Entering FAULT STATE";
const MASTER: &str = "Entering MASTER STATE";

/// The log line each daemon writes when it sees `ifname` change.
fn link_line(ifname: &str, up: bool) -> String {
    let (v, k) = if up {
        ("true", "up")
    } else {
        ("false", "down")
    };
    format!("link state interface={ifname} up={v}|Netlink reports {ifname} {k}")
}

fn ip(h: &Host, args: &str) {
    let argv: Vec<&str> = std::iter::once("ip").chain(args.split(' ')).collect();
    let out = h.run(&argv).expect("ip");
    assert!(out.status.success(), "ip {args}: {out:?}");
}

/// eth1..eth5 on `h`: each a veth pair inside the host's namespace, up, with 198.18.2N.1/24.
fn add_links(h: &Host) {
    for n in 1..=5 {
        ip(h, &format!("link add eth{n} type veth peer name eth{n}p"));
        ip(h, &format!("link set eth{n}p up"));
        ip(h, &format!("link set eth{n} up"));
        ip(h, &format!("addr add 198.18.2{n}.1/24 dev eth{n}"));
    }
}

fn node(vrid: u8) -> Node {
    let mut n = Node::v3(100, "0.1");
    n.vrid = vrid;
    n.vips = vec![
        "198.18.0.100/24".into(),
        "198.18.21.100/24 dev eth1".into(),
        "198.18.22.100/24 dev eth2 no_track".into(),
    ];
    n.extra_instance =
        "    virtual_ipaddress_excluded {\n        198.18.23.100/24 dev eth3\n    }\n\
         virtual_routes {\n        198.19.4.0/24 via 198.18.24.254 dev eth4 no_track\n    }\n\
         track_interface {\n        eth5 weight -1\n    }\n"
            .into();
    n
}

/// Takes `h`'s interface `ifname` down and reports whether the instance went to FAULT for it.
/// keepalived logs nothing for an interface it does not track, so the fence is eth5, tracked
/// with a weight (a priority change, never a FAULT): both daemons read link events in order
/// and write a FAULT line before they read the next event, so once eth5's line is there any
/// FAULT that `ifname` caused is too.
fn faults_on_down(h: &Host, p: &Proc, ifname: &str, faults_before: usize) -> bool {
    ip(h, &format!("link set {ifname} down"));
    ip(h, "link set eth5 down");
    p.wait_for_line(&link_line("eth5", false), WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    let fault = p.output().matches(FAULT).count() > faults_before;
    ip(h, "link set eth5 up");
    p.wait_for_line(&link_line("eth5", true), WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    fault
}

/// What the daemon did: for each interface taken down, whether it faulted, and whether it
/// came back to MASTER once the interface was up again.
fn observe(h: &Host, p: &Proc) -> Vec<String> {
    p.wait_for_line(MASTER, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    let mut seen = Vec::new();
    for ifname in ["eth2", "eth4", "eth1", "eth3"] {
        let faults = p.output().matches(FAULT).count();
        let masters = p.output().matches(MASTER).count();
        let fault = faults_on_down(h, p, ifname, faults);
        ip(h, &format!("link set {ifname} up"));
        if fault {
            p.wait_for_nth_line(MASTER, masters + 1, WAIT)
                .unwrap_or_else(|e| panic!("back to MASTER after {ifname}: {e}\n{}", p.output()));
        }
        seen.push(format!(
            "{ifname} down: {}",
            if fault { "FAULT" } else { "no fault" }
        ));
    }
    seen
}

#[test]
fn a_vip_or_route_interface_going_down_faults_the_instance_unless_no_track() {
    let Some(lab) =
        keepalived_lab("a_vip_or_route_interface_going_down_faults_the_instance_unless_no_track")
    else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    add_links(a);
    add_links(b);
    let vrrpd = start_vrrpd(&lab, a, "a", &node(61).conf(), &[]);
    let keepalived = start_keepalived(&lab, b, "b", &node(62).conf());
    let want = [
        "eth2 down: no fault",
        "eth4 down: no fault",
        "eth1 down: FAULT",
        "eth3 down: FAULT",
    ];
    assert_eq!(observe(b, &keepalived), want, "keepalived 2.2.7");
    assert_eq!(observe(a, &vrrpd), want, "vrrpd\n{}", vrrpd.output());
}
