//! VRRPv2 `auth_type AH` against Debian's keepalived 2.2.7, both roles, multicast and unicast:
//! the backup accepts the master's AH adverts, takes over when the master is killed (numbering
//! its adverts after the last one it heard, keepalived's one counter per instance), yields to
//! the restarted master and takes over again at its clean stop. A wrong `auth_pass` is refused
//! on both sides; `-t` judges AH alike. With `use_vmac` the same holds, every advert leaving
//! from the virtual MAC.

use std::net::{IpAddr, Ipv4Addr};

use crate::interop_keepalived::{Kind, start, stats};
use crate::vrrp_lab::*;
use netlab::Lab;
use nix::sys::signal::Signal;

/// tcpdump filter: IPsec AH.
const AH: &str = "ip proto 51";

/// The AH sequence numbers `src` sent, in the order captured (tcpdump `-vv` prints
/// `198.18.0.1 > 224.0.0.18: AH(length=4(24-bytes),spi=0xc6120001,seq=0x8,...`).
fn seqs_from(capture: &str, src: Ipv4Addr) -> Vec<u32> {
    let from = format!("{src} > ");
    capture
        .lines()
        .filter(|l| l.contains(&from))
        .filter_map(|l| {
            let hex = &l[l.find("seq=0x")? + 6..];
            let end = hex
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(hex.len());
            u32::from_str_radix(&hex[..end], 16).ok()
        })
        .collect()
}

/// Regex for an AH advert from `src` (to the group or a unicast peer) in the capture.
fn adverts_from(src: Ipv4Addr) -> String {
    format!(r"{} > [\d.]+: AH", src.to_string().replace('.', r"\."))
}

/// A counter by name from vrrpd's stats dump ("All receive counters").
fn counter(stats: &str, name: &str) -> u64 {
    let key = format!("{name}:");
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix(&key)?.trim().parse().ok())
        .unwrap_or(0)
}

/// vrrpd's AH drops other than the replays a takeover race may cause (both peers sending the
/// same number at once: keepalived drops those too, "already processed").
fn assert_no_ah_errors(lab: &Lab, tag: &str, kind: Kind, p: &netlab::Proc) {
    let s = stats(lab, tag, kind, p);
    match kind {
        Kind::Vrrpd => {
            for name in ["ah_malformed", "ah_mismatch", "ah_auth_failure"] {
                assert_eq!(counter(&s, name), 0, "vrrpd {tag} {name}\n{s}");
            }
            assert!(
                counter(&s, "accepted") > 0,
                "vrrpd {tag} accepted none\n{s}"
            );
        }
        Kind::Keepalived => {
            let out = p.output();
            assert!(!out.contains("invalid IPSEC"), "keepalived {tag}:\n{out}");
            assert!(adverts_received(&s) > 0, "keepalived {tag}\n{s}");
        }
    }
}

/// `master` kind on host 0 (priority 150), `backup` kind on host 1 (100), both AH; `node`
/// gives a node's configuration from its priority, its address and its peer's.
fn ah_roles(master: Kind, backup: Kind, node: fn(u8, IpAddr, IpAddr) -> Node) {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let (ia, ib) = (IpAddr::from(a.ipv4()), IpAddr::from(b.ipv4()));
    let vip = ip(VIP4);
    let cap = b.capture(AH).unwrap();
    // With `use_vmac`, every advert must come from the virtual MAC (VRID 51).
    let vmac = (node(150, ia, ib).extra_instance.contains("use_vmac"))
        .then(|| b.capture(&format!("ether src 00:00:5e:00:01:33 and {AH}")))
        .map(Result::unwrap);
    let mut pa = start(&lab, a, "a", master, &node(150, ia, ib));
    let pb = start(&lab, b, "b", backup, &node(100, ib, ia));
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    // The backup accepts the master's adverts: three more go by and it stays BACKUP.
    let from_a = adverts_from(a.ipv4());
    for _ in 0..3 {
        cap.wait_for(&from_a, WAIT).unwrap();
    }
    assert!(!pb.output().contains(MASTER_LINE), "{}", pb.output());
    assert!(!b.has_address(vip).unwrap(), "backup holds the VIP");
    assert_no_ah_errors(&lab, "b", backup, &pb);

    // The master is killed (whole process tree): the backup takes over and numbers its
    // adverts after the last one it heard.
    pa.signal_group(Signal::SIGKILL).unwrap();
    pa.wait_exit(WAIT).unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    let from_b = adverts_from(b.ipv4());
    cap.wait_for(&from_b, WAIT).unwrap();
    let (sa, sb) = (
        seqs_from(&cap.text(), a.ipv4()),
        seqs_from(&cap.text(), b.ipv4()),
    );
    assert_eq!(
        sb.first().copied(),
        sa.last().map(|s| s + 1),
        "{backup:?} as new master: a's {sa:?}, b's {sb:?}"
    );

    // The master comes back and takes the VIP back (preemption): its adverts must be
    // numbered above what the peer has seen, or the peer would drop them as replays.
    let mut pa2 = start(&lab, a, "a2", master, &node(150, ia, ib));
    pa2.wait_for_line(MASTER_LINE, WAIT).unwrap();
    b.wait_for_address(vip, false, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    cap.wait_for(&from_a, WAIT).unwrap();
    assert_no_ah_errors(&lab, "b", backup, &pb);
    assert_no_ah_errors(&lab, "a2", master, &pa2);

    // A clean stop: the priority-0 advert, numbered like the others, hands over.
    pa2.signal(Signal::SIGTERM).unwrap();
    pa2.wait_exit(WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    assert_no_ah_errors(&lab, "b", backup, &pb);
    if let Some(vmac) = vmac {
        let all = cap.text();
        for src in [a.ipv4(), b.ipv4()] {
            let sent = seqs_from(&all, src);
            assert!(!sent.is_empty(), "no AH advert from {src}");
            // The two captures print the same packet each in its own time.
            let from_vmac = test_support::wait::poll(WAIT, || {
                let seen = seqs_from(&vmac.text(), src);
                (seen.len() >= sent.len()).then_some(seen)
            });
            assert_eq!(
                from_vmac.map(|s| s[..sent.len()].to_vec()),
                Some(sent),
                "{src}'s adverts not all from the VMAC:\n{}",
                vmac.text()
            );
        }
    }
}

fn multicast(priority: u8, _me: IpAddr, _peer: IpAddr) -> Node {
    Node::v2_ah(priority)
}

/// Unicast: keepalived leaves the TTL out of the ICV then.
fn unicast(priority: u8, me: IpAddr, peer: IpAddr) -> Node {
    Node::v2_ah(priority).unicast(me, &[peer])
}

#[test]
fn vrrpd_master_keepalived_backup_v2_ah() {
    if !netlab::require_root_or_skip("vrrpd_master_keepalived_backup_v2_ah") {
        return;
    }
    ah_roles(Kind::Vrrpd, Kind::Keepalived, multicast);
}

#[test]
fn keepalived_master_vrrpd_backup_v2_ah() {
    if !netlab::require_root_or_skip("keepalived_master_vrrpd_backup_v2_ah") {
        return;
    }
    ah_roles(Kind::Keepalived, Kind::Vrrpd, multicast);
}

#[test]
fn vrrpd_master_keepalived_backup_v2_ah_unicast() {
    if !netlab::require_root_or_skip("vrrpd_master_keepalived_backup_v2_ah_unicast") {
        return;
    }
    ah_roles(Kind::Vrrpd, Kind::Keepalived, unicast);
}

#[test]
fn keepalived_master_vrrpd_backup_v2_ah_unicast() {
    if !netlab::require_root_or_skip("keepalived_master_vrrpd_backup_v2_ah_unicast") {
        return;
    }
    ah_roles(Kind::Keepalived, Kind::Vrrpd, unicast);
}

#[test]
fn wrong_ah_key_is_refused_by_both_and_counted_by_vrrpd() {
    if !netlab::require_root_or_skip("wrong_ah_key_is_refused_by_both_and_counted_by_vrrpd") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let pa = start_vrrpd(&lab, a, "a", &Node::v2_ah(150).conf(), &[]);
    let wrong = Node {
        auth_pass: Some("wrongpas".into()),
        ..Node::v2_ah(100)
    };
    let pb = start_keepalived(&lab, b, "b", &wrong.conf());
    // Neither accepts the other's adverts: both become MASTER and hold the VIP.
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(r"IPSEC-AH : invalid IPSEC HMAC-MD5 value", WAIT)
        .unwrap();
    pa.wait_for_line(r#"reason="?ah_auth_failure"#, WAIT)
        .unwrap();
    let s = vrrpd_stats(&lab, "a", &pa);
    assert!(counter(&s, "ah_auth_failure") > 0, "{s}");
    assert_eq!(counter(&s, "accepted"), 0, "{s}");
    // keepalived's dump layout counts it as an authentication failure.
    assert!(
        s.contains("    Failure: ") && !s.contains("    Failure: 0\n"),
        "{s}"
    );
}

#[test]
fn config_test_judges_ah_like_keepalived() {
    if !netlab::require_root_or_skip("config_test_judges_ah_like_keepalived") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let v3 = Node {
        version: 3,
        ..Node::v2_ah(150)
    };
    // AH on VRRPv2 is accepted; on VRRPv3 it is ignored with an error line (class 5).
    for (node, class) in [(Node::v2_ah(150), 0), (v3, 5)] {
        let path = write_conf(&lab, "t", &node.conf());
        let run = |bin: &str| a.command(bin).arg("-t").arg("-f").arg(&path).output();
        let (ours, theirs) = (run(vrrpd_bin()).unwrap(), run(KEEPALIVED).unwrap());
        let (oe, te) = (
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr),
        );
        assert_eq!(ours.status.code(), Some(class), "vrrpd: {oe}");
        assert_eq!(theirs.status.code(), Some(class), "keepalived: {te}");
        let ignored = "VRRP version 3 does not support authentication. Ignoring.";
        assert_eq!(oe.contains(ignored), class == 5, "{oe}");
        assert_eq!(te.contains(ignored), class == 5, "{te}");
    }
}

/// `use_vmac`: the adverts leave through the VMAC (a macvlan on eth0) yet keep the parent's
/// address as source, so the SPI and the ICV are those of the plain pair.
fn multicast_vmac(priority: u8, _me: IpAddr, _peer: IpAddr) -> Node {
    Node {
        extra_instance: "    use_vmac\n".into(),
        ..Node::v2_ah(priority)
    }
}

#[test]
fn vrrpd_master_keepalived_backup_v2_ah_with_vmac() {
    if !netlab::require_root_or_skip("vrrpd_master_keepalived_backup_v2_ah_with_vmac") {
        return;
    }
    ah_roles(Kind::Vrrpd, Kind::Keepalived, multicast_vmac);
}

#[test]
fn keepalived_master_vrrpd_backup_v2_ah_with_vmac() {
    if !netlab::require_root_or_skip("keepalived_master_vrrpd_backup_v2_ah_with_vmac") {
        return;
    }
    ah_roles(Kind::Keepalived, Kind::Vrrpd, multicast_vmac);
}
