//! `track_src_ip` side by side with keepalived 2.2.7: an instance whose advert source is the
//! interface's primary address goes to FAULT when that address is deleted and comes back
//! (BACKUP, then MASTER when no one else advertises) when it is added again. Each daemon runs
//! alone on its lab host; the VIP is a /32 of another subnet, so deleting the primary address
//! does not take the VIP with it.

use crate::vrrp_lab::{Node, WAIT, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::{Host, Proc};

const FAULT: &str = "Entering FAULT STATE";
const MASTER: &str = "Entering MASTER STATE";

fn node(vrid: u8) -> Node {
    let mut n = Node::v3(100, "0.1");
    n.vrid = vrid;
    n.vips = vec!["198.18.9.100/32".into()];
    n.extra_instance = "    track_src_ip\n".into();
    n
}

fn addr(h: &Host, op: &str) {
    let own = format!("{}/24", h.ipv4());
    let out = h
        .run(&["ip", "addr", op, &own, "dev", "eth0"])
        .expect("ip addr");
    assert!(out.status.success(), "ip addr {op} {own}: {out:?}");
}

/// The transitions the daemon logs from its first MASTER on, with the address deleted and
/// added back in between.
fn observe(h: &Host, p: &Proc) {
    let fail = |e: anyhow::Error| -> ! { panic!("{}: {e}\n{}", p.label(), p.output()) };
    p.wait_for_line(MASTER, WAIT).unwrap_or_else(|e| fail(e));
    addr(h, "del");
    p.wait_for_line(FAULT, WAIT).unwrap_or_else(|e| fail(e));
    addr(h, "add");
    p.wait_for_line(MASTER, WAIT).unwrap_or_else(|e| fail(e));
}

#[test]
fn track_src_ip_faults_while_the_source_address_is_gone_like_keepalived() {
    let Some(lab) =
        keepalived_lab("track_src_ip_faults_while_the_source_address_is_gone_like_keepalived")
    else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let keepalived = start_keepalived(&lab, b, "b", &node(62).conf());
    observe(b, &keepalived);
    let vrrpd = start_vrrpd(&lab, a, "a", &node(61).conf(), &[]);
    observe(a, &vrrpd);
    assert!(
        vrrpd.output().contains("source address not usable"),
        "vrrpd says why\n{}",
        vrrpd.output()
    );
}
