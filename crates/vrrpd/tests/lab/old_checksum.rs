//! `old_unicast_checksum` on VRRPv3 unicast IPv4, side by side with Debian's keepalived 2.2.7:
//! the flag makes a node checksum its unicast adverts over the multicast group (keepalived
//! before 1.3.6); a node without it that hears such adverts switches to them; `never` turns
//! that detection off, so old-style adverts are checksum errors. The capture's pcap is read
//! back and each advert's checksum classified, both ways computed here.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::vrrp_lab::*;
use netlab::{Host, Lab, Proc};
use vrrp::checksum::{PseudoHeader, verify};

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// How a captured advert was checksummed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// RFC 5798: pseudo-header with the real destination.
    Rfc,
    /// Old keepalived: pseudo-header with the multicast group as destination.
    Old,
    /// Neither.
    Bad,
}

/// (source, style) of every IPv4 VRRP packet in an Ethernet pcap file.
fn adverts(pcap: &Path) -> Vec<(Ipv4Addr, Style)> {
    let b = std::fs::read(pcap).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &b[at + 16..(at + 16 + caplen).min(b.len())];
        at += 16 + caplen;
        if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[23] != 112 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let body = &ip[ihl..total];
        let with = |d: Ipv4Addr| {
            PseudoHeader::v3(IpAddr::V4(src), IpAddr::V4(d)).is_some_and(|p| verify(p, body))
        };
        let style = if with(dst) {
            Style::Rfc
        } else if with(GROUP) {
            Style::Old
        } else {
            Style::Bad
        };
        out.push((src, style));
    }
    out
}

/// The styles of every advert from `src` in the pcap file, once (bounded) it holds `at_least`.
fn styles_of(cap: &netlab::Capture, src: Ipv4Addr, at_least: usize) -> Vec<Style> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got: Vec<Style> = adverts(cap.pcap())
            .into_iter()
            .filter(|(s, _)| *s == src)
            .map(|(_, st)| st)
            .collect();
        if got.len() >= at_least || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The styles of the next `n` adverts from `src`: waits for each one's tcpdump line, then
/// (bounded) for the pcap file to hold them.
fn next_styles(cap: &netlab::Capture, src: Ipv4Addr, n: usize) -> Vec<Style> {
    let before = styles_of(cap, src, 0).len();
    let pattern = format!(r"{src} > .*VRRPv3");
    for _ in 0..n {
        cap.wait_for(&pattern, WAIT).unwrap();
    }
    let got = styles_of(cap, src, before + n);
    got[before.min(got.len())..]
        .iter()
        .take(n)
        .copied()
        .collect()
}

/// Which daemon runs a node.
#[derive(Debug, Clone, Copy)]
enum Daemon {
    Keepalived,
    Vrrpd,
}

fn start(d: Daemon, lab: &Lab, host: &Host, tag: &str, conf: &str) -> Proc {
    match d {
        Daemon::Keepalived => start_keepalived(lab, host, tag, conf),
        Daemon::Vrrpd => start_vrrpd(lab, host, tag, conf, &[]),
    }
}

fn stats(d: Daemon, lab: &Lab, tag: &str, p: &Proc) -> String {
    match d {
        Daemon::Keepalived => keepalived_stats(lab, tag, p),
        Daemon::Vrrpd => vrrpd_stats(lab, tag, p),
    }
}

/// A unicast v3 node on `me` peering with `peer`, with `extra` instance lines.
fn node(priority: u8, me: Ipv4Addr, peer: Ipv4Addr, extra: &str) -> String {
    let mut n = Node::v3(priority, "1").unicast(IpAddr::V4(me), &[IpAddr::V4(peer)]);
    n.extra_instance = extra.to_string();
    n.conf()
}

/// `old` (flag set, priority 200) is master and sends old-style adverts; `peer` (priority 100,
/// `peer_line` for the keyword, empty for none) starts after it. Returns the processes, the
/// capture on the peer's host, and the peer's stats once it has heard three adverts.
struct Pair {
    lab: Lab,
    pa: Proc,
    pb: Proc,
    cap: netlab::Capture,
}

fn pair(name: &str, old: Daemon, peer: Daemon, peer_line: &str) -> Option<Pair> {
    let lab = keepalived_lab(name)?;
    let (a, b) = (lab.host(0), lab.host(1));
    let cap = b.capture("vrrp").unwrap();
    let conf_a = node(200, a.ipv4(), b.ipv4(), "    old_unicast_checksum\n");
    let pa = start(old, &lab, a, "a", &conf_a);
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let sent = next_styles(&cap, a.ipv4(), 2);
    assert_eq!(sent, [Style::Old, Style::Old], "{old:?} with the flag");
    let pb = start(
        peer,
        &lab,
        b,
        "b",
        &node(100, b.ipv4(), a.ipv4(), peer_line),
    );
    pb.wait_for_line(r"Entering BACKUP STATE", WAIT).unwrap();
    Some(Pair { lab, pa, pb, cap })
}

/// Auto-detection, as keepalived 2.2.7 does it: the unflagged backup says it saw the old
/// checksum and accepts those adverts (one master, no errors), yet it keeps sending the RFC
/// checksum: once the flagged master leaves, the new master's adverts are RFC-style.
fn auto_backup_accepts_old_style(old: Daemon, peer: Daemon) {
    let name = format!("old_checksum_auto_{old:?}_{peer:?}");
    let Some(Pair {
        lab,
        mut pa,
        pb,
        cap,
    }) = pair(&name, old, peer, "")
    else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    pb.wait_for_line("Setting unicast VRRPv3 checksum to old version", WAIT)
        .unwrap();
    next_styles(&cap, a.ipv4(), 3);
    let sb = stats(peer, &lab, "b", &pb);
    // vrrpd counts the accepted old-style adverts as a receive warning, not a drop.
    let errors: Vec<String> = nonzero_errors(&sb)
        .into_iter()
        .filter(|e| !e.ends_with(&format!("old_unicast_checksum: {}", adverts_received(&sb))))
        .collect();
    assert!(errors.is_empty(), "{sb}");
    assert!(adverts_received(&sb) >= 3, "{sb}");
    assert!(a.has_address(ip(VIP4)).unwrap() && !b.has_address(ip(VIP4)).unwrap());
    assert!(!pb.output().contains(MASTER_LINE), "{}", pb.output());
    pa.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    pa.wait_exit(WAIT).unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let sent = next_styles(&cap, b.ipv4(), 3);
    assert_eq!(sent, [Style::Rfc; 3], "{peer:?} after hearing old-style");
}

/// `old_unicast_checksum never`: the old-style adverts are checksum errors, so the backup
/// never hears a master and takes over too (two masters), counting the errors.
fn never_drops_old_style(old: Daemon, peer: Daemon) {
    let name = format!("old_checksum_never_{old:?}_{peer:?}");
    let line = "    old_unicast_checksum never\n";
    let Some(Pair { lab, pa, pb, cap }) = pair(&name, old, peer, line) else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    b.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    assert!(a.has_address(ip(VIP4)).unwrap(), "the flagged master left");
    // keepalived as this master sends a single advert while invalid ones keep arriving, so
    // the styles checked are those of every advert it sent so far (at least one).
    cap.wait_for(&format!(r"{} > .*VRRPv3", b.ipv4()), WAIT)
        .unwrap();
    let all = styles_of(&cap, b.ipv4(), 1);
    assert!(all.iter().all(|s| *s == Style::Rfc), "{all:?}");
    let sb = stats(peer, &lab, "b", &pb);
    assert_eq!(adverts_received(&sb), 0, "{sb}");
    if matches!(peer, Daemon::Vrrpd) {
        assert!(!sb.contains("bad_checksum: 0"), "{sb}");
    }
    assert!(
        !pb.output()
            .contains("Setting unicast VRRPv3 checksum to old version"),
        "{}",
        pb.output()
    );
    drop(pa);
}

/// The flag requires the old checksum: a flagged node (priority 100) that starts beside an
/// unflagged master (priority 200) drops its RFC adverts as checksum errors and takes over
/// too, as keepalived 2.2.7 does ("Invalid VRRPv3 checksum").
fn flagged_node_drops_rfc_adverts(plain: Daemon, flagged: Daemon) {
    let name = format!("old_checksum_flagged_{plain:?}_{flagged:?}");
    let Some(lab) = keepalived_lab(&name) else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let cap = b.capture("vrrp").unwrap();
    let pa = start(plain, &lab, a, "a", &node(200, a.ipv4(), b.ipv4(), ""));
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let conf_b = node(100, b.ipv4(), a.ipv4(), "    old_unicast_checksum\n");
    let pb = start(flagged, &lab, b, "b", &conf_b);
    match flagged {
        Daemon::Keepalived => pb.wait_for_line("Invalid VRRPv3 checksum", WAIT),
        Daemon::Vrrpd => pb.wait_for_line("dropped VRRP packet: bad checksum", WAIT),
    }
    .unwrap();
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    assert_eq!(next_styles(&cap, a.ipv4(), 2), [Style::Rfc; 2]);
    let sent = styles_of(&cap, b.ipv4(), 1);
    assert!(
        !sent.is_empty() && sent.iter().all(|s| *s == Style::Old),
        "{sent:?}"
    );
    let sb = stats(flagged, &lab, "b", &pb);
    assert_eq!(adverts_received(&sb), 0, "{sb}");
}

#[test]
fn keepalived_with_the_flag_drops_rfc_unicast_checksums() {
    flagged_node_drops_rfc_adverts(Daemon::Keepalived, Daemon::Keepalived);
}

#[test]
fn vrrpd_with_the_flag_drops_rfc_unicast_checksums_from_keepalived() {
    flagged_node_drops_rfc_adverts(Daemon::Keepalived, Daemon::Vrrpd);
}

#[test]
fn keepalived_with_the_flag_drops_rfc_unicast_checksums_from_vrrpd() {
    flagged_node_drops_rfc_adverts(Daemon::Vrrpd, Daemon::Keepalived);
}

#[test]
fn keepalived_backup_accepts_old_unicast_checksum_and_sends_rfc() {
    auto_backup_accepts_old_style(Daemon::Keepalived, Daemon::Keepalived);
}

#[test]
fn keepalived_accepts_old_unicast_checksum_from_vrrpd() {
    auto_backup_accepts_old_style(Daemon::Vrrpd, Daemon::Keepalived);
}

#[test]
fn vrrpd_accepts_old_unicast_checksum_from_keepalived() {
    auto_backup_accepts_old_style(Daemon::Keepalived, Daemon::Vrrpd);
}

#[test]
fn keepalived_never_drops_old_unicast_checksum() {
    never_drops_old_style(Daemon::Keepalived, Daemon::Keepalived);
}

#[test]
fn vrrpd_never_drops_old_unicast_checksum_from_keepalived() {
    never_drops_old_style(Daemon::Keepalived, Daemon::Vrrpd);
}

#[test]
fn keepalived_never_drops_old_unicast_checksum_from_vrrpd() {
    never_drops_old_style(Daemon::Vrrpd, Daemon::Keepalived);
}
