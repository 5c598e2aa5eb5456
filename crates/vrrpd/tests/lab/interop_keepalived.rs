//! vrrpd against Debian's keepalived 2.2.7 in the lab, both directions (keepalived master +
//! vrrpd backup, and the reverse), for VRRPv2+PASS multicast, VRRPv3 multicast and VRRPv3
//! unicast: the right master, failover when the master is killed (whole process tree),
//! failback, failover on a clean stop, and no receive error counted on either side.

use std::net::IpAddr;

use crate::vrrp_lab::*;
use netlab::{Lab, Proc};
use nix::sys::signal::Signal;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Vrrpd,
    Keepalived,
}

pub(crate) fn start(lab: &Lab, host: &netlab::Host, tag: &str, kind: Kind, node: &Node) -> Proc {
    match kind {
        Kind::Vrrpd => start_vrrpd(lab, host, tag, &node.conf(), &[]),
        Kind::Keepalived => start_keepalived(lab, host, tag, &node.conf()),
    }
}

pub(crate) fn stats(lab: &Lab, tag: &str, kind: Kind, p: &Proc) -> String {
    match kind {
        Kind::Vrrpd => vrrpd_stats(lab, tag, p),
        Kind::Keepalived => keepalived_stats(lab, tag, p),
    }
}

fn assert_clean(lab: &Lab, tag: &str, kind: Kind, p: &Proc) {
    let s = stats(lab, tag, kind, p);
    eprintln!("--- stats of {kind:?} {tag}:\n{s}");
    let bad = nonzero_errors(&s);
    assert!(
        bad.is_empty(),
        "{kind:?} {tag} counted receive errors: {bad:?}\n{s}"
    );
    assert!(
        adverts_received(&s) > 0,
        "{kind:?} {tag} received no advert\n{s}"
    );
}

/// One direction: `master` kind on host 0 with priority 150, `backup` kind on host 1 with 100.
fn direction(master: Kind, backup: Kind, node: impl Fn(u8, IpAddr, IpAddr) -> Node, vip: IpAddr) {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let (ia, ib) = if vip.is_ipv4() {
        (IpAddr::from(a.ipv4()), IpAddr::from(b.ipv4()))
    } else {
        (IpAddr::from(a.ipv6()), IpAddr::from(b.ipv6()))
    };
    let mut pa = start(&lab, a, "a", master, &node(150, ia, ib));
    let pb = start(&lab, b, "b", backup, &node(100, ib, ia));
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    assert!(!b.has_address(vip).unwrap(), "backup holds the VIP");

    // The master is killed (whole process tree): the backup takes over.
    pa.signal_group(Signal::SIGKILL).unwrap();
    pa.wait_exit(WAIT).unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();

    // The master comes back and takes the VIP back (preemption).
    let mut pa2 = start(&lab, a, "a2", master, &node(150, ia, ib));
    pa2.wait_for_line(MASTER_LINE, WAIT).unwrap();
    b.wait_for_address(vip, false, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    assert_clean(&lab, "b", backup, &pb);
    assert_clean(&lab, "a2", master, &pa2);

    // A clean stop (priority 0) hands over again.
    pa2.signal(Signal::SIGTERM).unwrap();
    pa2.wait_exit(WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    assert_clean(&lab, "b", backup, &pb);
}

fn v2_pass(p: u8, _me: IpAddr, _peer: IpAddr) -> Node {
    Node::v2_pass(p)
}

fn v3_mcast(p: u8, _me: IpAddr, _peer: IpAddr) -> Node {
    Node::v3(p, "1")
}

fn v3_unicast(p: u8, me: IpAddr, peer: IpAddr) -> Node {
    Node::v3(p, "1").unicast(me, &[peer])
}

macro_rules! interop_test {
    ($name:ident, $master:expr, $backup:expr, $node:expr, $vip:expr) => {
        #[test]
        fn $name() {
            if !netlab::require_root_or_skip(stringify!($name)) {
                return;
            }
            direction($master, $backup, $node, ip($vip));
        }
    };
}

interop_test!(
    keepalived_master_vrrpd_backup_v2_pass,
    Kind::Keepalived,
    Kind::Vrrpd,
    v2_pass,
    VIP4
);
interop_test!(
    vrrpd_master_keepalived_backup_v2_pass,
    Kind::Vrrpd,
    Kind::Keepalived,
    v2_pass,
    VIP4
);
interop_test!(
    keepalived_master_vrrpd_backup_v3_multicast,
    Kind::Keepalived,
    Kind::Vrrpd,
    v3_mcast,
    VIP4
);
interop_test!(
    vrrpd_master_keepalived_backup_v3_multicast,
    Kind::Vrrpd,
    Kind::Keepalived,
    v3_mcast,
    VIP4
);
interop_test!(
    keepalived_master_vrrpd_backup_v3_unicast,
    Kind::Keepalived,
    Kind::Vrrpd,
    v3_unicast,
    VIP4
);
interop_test!(
    vrrpd_master_keepalived_backup_v3_unicast,
    Kind::Vrrpd,
    Kind::Keepalived,
    v3_unicast,
    VIP4
);

#[test]
fn stats_checker_flags_errors_and_ignores_benign_counters() {
    let clean = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n  Packet Errors:\n    TTL: 0\n  All receive counters:\n    accepted: 7\n    unknown_vrid: 3\n";
    assert!(nonzero_errors(clean).is_empty());
    assert_eq!(adverts_received(clean), 7);
    let dirty = clean.replace("TTL: 0", "TTL: 2");
    assert_eq!(nonzero_errors(&dirty), ["Packet Errors: TTL: 2"]);
    let auth = "  Authentication Errors:\n    Failure: 1\n";
    assert_eq!(nonzero_errors(auth).len(), 1);
}

fn v3_ipv6(p: u8, _me: IpAddr, _peer: IpAddr) -> Node {
    Node::v3_ipv6(p)
}

interop_test!(
    keepalived_master_vrrpd_backup_v3_ipv6,
    Kind::Keepalived,
    Kind::Vrrpd,
    v3_ipv6,
    VIP6
);
interop_test!(
    vrrpd_master_keepalived_backup_v3_ipv6,
    Kind::Vrrpd,
    Kind::Keepalived,
    v3_ipv6,
    VIP6
);

/// The first advert with `priority` that host `h` receives, as the raw IPv4 packet.
fn receive_advert(h: &netlab::Host, priority: u8) -> Vec<u8> {
    h.in_netns(|| {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        let idx = nix::net::if_::if_nametoindex("eth0").unwrap();
        s.join_multicast_v4_n(
            &[224, 0, 0, 18].into(),
            &socket2::InterfaceIndexOrAddress::Index(idx),
        )
        .unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no advert with priority {priority} within {WAIT:?}"
            );
            let (n, _) = s.recv_from(&mut buf).expect("an advert within the timeout");
            // SAFETY: recv_from initialised the first n bytes.
            let pkt: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let ihl = usize::from(pkt[0] & 0x0f) * 4;
            if pkt.get(ihl + 2) == Some(&priority) {
                return pkt;
            }
        }
    })
    .unwrap()
}

/// The advert bytes of one daemon alone on host 0 with `node`'s configuration.
fn advert_bytes(kind: Kind, node: &Node, tag: &str) -> Vec<u8> {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let p = start(&lab, a, tag, kind, node);
    let pkt = receive_advert(b, node.priority);
    drop(p);
    pkt
}

#[test]
fn advert_bytes_match_keepalived() {
    if !netlab::require_root_or_skip("advert_bytes_match_keepalived") {
        return;
    }
    let peer: IpAddr = "198.18.0.2".parse().unwrap();
    let me: IpAddr = "198.18.0.1".parse().unwrap();
    for node in [
        Node::v2_pass(150),
        Node::v3(150, "0.5"),
        Node::v3(150, "1").unicast(me, &[peer]),
    ] {
        let ours = advert_bytes(Kind::Vrrpd, &node, "v");
        let theirs = advert_bytes(Kind::Keepalived, &node, "k");
        // Everything but the IP identification and the header checksum that depends on it.
        let masked = |p: &[u8]| {
            let mut p = p.to_vec();
            p[4..6].fill(0);
            p[10..12].fill(0);
            p
        };
        assert_eq!(
            masked(&ours),
            masked(&theirs),
            "{node:?}\nvrrpd      {ours:02x?}\nkeepalived {theirs:02x?}"
        );
    }
}

/// `--fast-failover` on vrrpd with keepalived as the peer, both roles: a failing track script
/// on the master moves the VIP once, and nobody flaps.
#[test]
fn fast_failover_interoperates_with_keepalived() {
    if !netlab::require_root_or_skip("fast_failover_interoperates_with_keepalived") {
        return;
    }
    for vrrpd_is_master in [true, false] {
        let lab = Lab::new(2).unwrap();
        let (a, b) = (lab.host(0), lab.host(1));
        let vip = ip(VIP4);
        // keepalived runs with the node dir as /var/tmp (see start_keepalived).
        let flag = node_dir(&lab, "a").join("unhealthy");
        let seen_as = if vrrpd_is_master {
            flag.display().to_string()
        } else {
            "/var/tmp/unhealthy".to_string()
        };
        let script = format!(
            "vrrp_script chk {{\n    script \"/usr/bin/test ! -e {seen_as}\"\n    interval 1\n    weight -100\n}}\n"
        );
        let mut na = Node::v3(150, "1");
        na.extra_instance = "    track_script {\n        chk\n    }\n".into();
        let conf_a = format!("{script}{}", na.conf());
        let conf_b = Node::v3(100, "1").conf();
        let fast = ["--fast-failover"];
        let (pa, pb) = if vrrpd_is_master {
            (
                start_vrrpd(&lab, a, "a", &conf_a, &fast),
                start_keepalived(&lab, b, "b", &conf_b),
            )
        } else {
            (
                start_keepalived(&lab, a, "a", &conf_a),
                start_vrrpd(&lab, b, "b", &conf_b, &fast),
            )
        };
        pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
        a.wait_for_address(vip, true, WAIT).unwrap();
        pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
        std::fs::write(&flag, "x").unwrap();
        pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
        b.wait_for_address(vip, true, WAIT).unwrap();
        a.wait_for_address(vip, false, WAIT).unwrap();
        // Stable afterwards: three more adverts, and no further transition on either side.
        let cap = b.capture("vrrp").unwrap();
        for _ in 0..3 {
            cap.wait_for(r"vrid 51, prio 100", WAIT).unwrap();
        }
        let (oa, ob) = (pa.output(), pb.output());
        assert_eq!(oa.matches("Entering MASTER STATE").count(), 1, "{oa}");
        assert_eq!(ob.matches("Entering MASTER STATE").count(), 1, "{ob}");
        assert!(b.has_address(vip).unwrap() && !a.has_address(vip).unwrap());
    }
}
