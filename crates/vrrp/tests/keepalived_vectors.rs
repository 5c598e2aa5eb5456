//! The three byte-exact keepalived 2.2.7 captures (reference c.1): decode,
//! pass every receive check, and re-encode to the same bytes.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::packet::{pseudo_header_for, verify_checksum};
use vrrp::rx::{self, parse_ipv4};
use vrrp::{
    Advert, Auth, Family, InstanceConfig, PseudoHeader, RxError, UnicastPeer, Version, Vip,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

const V2_PASS: &str = "45c0 0028 0001 0000 ff70 c1e7 c0a85802 e0000012 21 33 96 01 01 01 c13e c0a85864 7365637265743132";
const V3_MCAST: &str =
    "45c0 0024 0001 0000 ff70 c1eb c0a85802 e0000012 31 34 c8 02 0032 db3b c0a85865 c0a85866";
const V3_UNICAST: &str =
    "45c0 0020 0001 0000 ff70 8958 c0a85802 c0a85801 31 35 64 01 0064 1f84 c0a85867";

fn src() -> IpAddr {
    v4(192, 168, 88, 2)
}

/// A receiving instance configured like the capture's peer.
fn receiver(vrid: u8, version: Version, interval_ms: u64, vips: &[IpAddr]) -> InstanceConfig {
    let mut c = InstanceConfig::new("rx", vrid, version, v4(192, 168, 88, 1));
    c.advert_interval = Duration::from_millis(interval_ms);
    c.vips = vips.iter().map(|a| Vip::host(*a)).collect();
    c
}

#[test]
fn v2_pass_capture() {
    let bytes = hex(V2_PASS);
    let pkt = parse_ipv4(&bytes).unwrap();
    let advert = Advert::decode(pkt.vrrp, Family::V4).unwrap();
    assert_eq!(advert.version, Version::V2);
    assert_eq!(advert.vrid, 51);
    assert_eq!(advert.priority, 150);
    assert_eq!(advert.interval.as_duration(), Duration::from_secs(1));
    assert_eq!(advert.auth, Auth::pass(b"secret12345"));
    assert_eq!(advert.addresses, vec![v4(192, 168, 88, 100)]);
    assert!(verify_checksum(pkt.vrrp, PseudoHeader::None));

    let mut cfg = receiver(51, Version::V2, 1000, &advert.addresses);
    cfg.auth = Auth::pass(b"secret12345");
    let checked = rx::check(&cfg, &pkt, 100, None).unwrap();
    assert_eq!(checked.src, src());
    assert!(checked.warnings.iter().next().is_none());

    // Wrong password: auth failure, in keepalived's order before anything else.
    cfg.auth = Auth::pass(b"secret99");
    assert_eq!(rx::check(&cfg, &pkt, 100, None), Err(RxError::AuthFailure));

    let payload = advert.encode(PseudoHeader::None).unwrap();
    let ip = build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(192, 168, 88, 2),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            id: 1,
        },
        &payload,
    );
    assert_eq!(ip, bytes);
}

#[test]
fn v3_multicast_capture_uses_pseudo_header() {
    let bytes = hex(V3_MCAST);
    let pkt = parse_ipv4(&bytes).unwrap();
    let advert = Advert::decode(pkt.vrrp, Family::V4).unwrap();
    assert_eq!(advert.version, Version::V3);
    assert_eq!((advert.vrid, advert.priority), (52, 200));
    assert_eq!(advert.interval.centis(), 50);
    assert_eq!(
        advert.addresses,
        vec![v4(192, 168, 88, 101), v4(192, 168, 88, 102)]
    );

    let pseudo = pseudo_header_for(Version::V3, false, src(), v4(224, 0, 0, 18));
    assert!(verify_checksum(pkt.vrrp, pseudo));
    // Without the pseudo-header the checksum would be d479 (reference).
    let as_v2 = advert
        .encode_family(Family::V4, PseudoHeader::None)
        .unwrap();
    assert_eq!(&as_v2[6..8], &[0xd4, 0x79]);

    let cfg = receiver(52, Version::V3, 500, &advert.addresses);
    assert!(rx::check(&cfg, &pkt, 100, None).is_ok());
    let mut as_v2_cfg = cfg.clone();
    as_v2_cfg.v3_checksum_as_v2 = true;
    assert_eq!(
        rx::check(&as_v2_cfg, &pkt, 100, None),
        Err(RxError::BadChecksum)
    );

    let payload = advert.encode(pseudo).unwrap();
    let ip = build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(192, 168, 88, 2),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            id: 1,
        },
        &payload,
    );
    assert_eq!(ip, bytes);
}

#[test]
fn v3_unicast_capture_uses_real_destination() {
    let bytes = hex(V3_UNICAST);
    let pkt = parse_ipv4(&bytes).unwrap();
    let advert = Advert::decode(pkt.vrrp, Family::V4).unwrap();
    assert_eq!(
        (advert.vrid, advert.priority, advert.interval.centis()),
        (53, 100, 100)
    );
    let dst = v4(192, 168, 88, 1);
    let pseudo = pseudo_header_for(Version::V3, false, src(), dst);
    assert!(verify_checksum(pkt.vrrp, pseudo));
    // The multicast group in the pseudo-header would not verify.
    let wrong = pseudo_header_for(Version::V3, false, src(), v4(224, 0, 0, 18));
    assert!(!verify_checksum(pkt.vrrp, wrong));

    let mut cfg = receiver(53, Version::V3, 1000, &advert.addresses);
    cfg.unicast_peers = vec![UnicastPeer::new(src())];
    cfg.check_unicast_src = true;
    assert!(rx::check(&cfg, &pkt, 100, None).is_ok());
    // Multicast instance: a unicast destination is wrong.
    let mcast = receiver(53, Version::V3, 1000, &advert.addresses);
    assert_eq!(
        rx::check(&mcast, &pkt, 100, None),
        Err(RxError::BadDestination)
    );
    // Source not a peer.
    cfg.unicast_peers = vec![UnicastPeer::new(v4(192, 168, 88, 9))];
    assert_eq!(
        rx::check(&cfg, &pkt, 100, None),
        Err(RxError::UnknownSource)
    );

    let payload = advert.encode(pseudo).unwrap();
    let ip = build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(192, 168, 88, 2),
            dst: Ipv4Addr::new(192, 168, 88, 1),
            ttl: 255,
            id: 1,
        },
        &payload,
    );
    assert_eq!(ip, bytes);
}
