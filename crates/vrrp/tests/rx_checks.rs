//! Receive checks: keepalived's order (reference c.2), one counted reason
//! per failure, warnings that do not drop, IPv6 with ancillary data.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::packet::pseudo_header_for;
use vrrp::rx::{self, RxCounters, RxWarning, parse_ipv4};
use vrrp::{
    Advert, AdvertInterval, Auth, Family, InstanceConfig, PseudoHeader, RxError, Version, Vip,
};

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

fn group() -> Ipv4Addr {
    Ipv4Addr::new(224, 0, 0, 18)
}

fn cfg(version: Version) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI", 9, version, v4(1));
    c.vips = vec![Vip::host(v4(100))];
    if version == Version::V2 {
        c.auth = Auth::pass(b"pw");
    }
    c
}

fn advert(version: Version) -> Advert {
    Advert {
        version,
        vrid: 9,
        priority: 150,
        interval: AdvertInterval::from_centis(100),
        auth: if version == Version::V2 {
            Auth::pass(b"pw")
        } else {
            Auth::None
        },
        addresses: vec![v4(100)],
    }
}

fn packet(version: Version, ttl: u8, mutate: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let pseudo = pseudo_header_for(version, false, v4(2), IpAddr::V4(group()));
    let mut payload = advert(version).encode(pseudo).unwrap();
    mutate(&mut payload);
    build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(198, 18, 0, 2),
            dst: group(),
            ttl,
            id: 1,
        },
        &payload,
    )
}

fn check(c: &InstanceConfig, bytes: &[u8]) -> Result<rx::CheckedAdvert, RxError> {
    rx::check(c, &parse_ipv4(bytes)?, 100, None)
}

#[test]
fn names_are_unique_and_counters_index_correctly() {
    let names: HashSet<&str> = RxError::ALL.iter().map(|e| e.name()).collect();
    assert_eq!(names.len(), RxError::ALL.len());
    let mut c = RxCounters::default();
    for (k, e) in RxError::ALL.iter().enumerate() {
        for _ in 0..=k {
            c.record_drop(*e);
        }
    }
    for (k, e) in RxError::ALL.iter().enumerate() {
        assert_eq!(c.dropped(*e), k as u64 + 1, "{}", e.name());
    }
    let listed: Vec<&str> = c.iter().map(|(n, _)| n).collect();
    assert_eq!(listed.len(), RxError::ALL.len() + RxWarning::ALL.len());
}

#[test]
fn valid_packets_pass() {
    for v in [Version::V2, Version::V3] {
        let r = check(&cfg(v), &packet(v, 255, |_| {})).unwrap();
        assert_eq!(r.advert, advert(v));
    }
}

#[test]
fn checks_run_in_keepalived_order() {
    let c = cfg(Version::V2);
    // TTL (2) is checked before the checksum (8).
    let p = packet(Version::V2, 1, |p| p[6] ^= 1);
    assert_eq!(check(&c, &p).unwrap_err(), RxError::BadTtl);
    // Version (3) before auth (5).
    let p = packet(Version::V2, 255, |p| {
        p[0] = 0x31;
        p[12] ^= 1;
    });
    assert_eq!(check(&c, &p).unwrap_err(), RxError::VersionMismatch);
    // Auth (5) before type (6) and interval drop (5, after auth).
    let p = packet(Version::V2, 255, |p| {
        p[0] = 0x22;
        p[13] ^= 1;
        p[5] = 9;
    });
    assert_eq!(check(&c, &p).unwrap_err(), RxError::AuthFailure);
    let p = packet(Version::V2, 255, |p| {
        p[0] = 0x22;
        p[5] = 9;
    });
    assert_eq!(check(&c, &p).unwrap_err(), RxError::IntervalMismatch);
    let p = packet(Version::V2, 255, |p| p[0] = 0x22);
    assert_eq!(check(&c, &p).unwrap_err(), RxError::BadType);
    // Length (1) first of all: a count that promises more than is there.
    let p = packet(Version::V2, 1, |p| p[3] = 4);
    assert_eq!(check(&c, &p).unwrap_err(), RxError::BadLength);
}

#[test]
fn auth_type_rules() {
    let c = cfg(Version::V2);
    let p = packet(Version::V2, 255, |p| p[4] = 7);
    assert_eq!(check(&c, &p).unwrap_err(), RxError::BadAuthType);
    let p = packet(Version::V2, 255, |p| p[4] = 0);
    assert_eq!(check(&c, &p).unwrap_err(), RxError::AuthTypeMismatch);
}

#[test]
fn ip_level_rejections() {
    let good = packet(Version::V3, 255, |_| {});
    let mut frag = good.clone();
    frag[6] = 0x20; // MF
    assert_eq!(parse_ipv4(&frag).unwrap_err(), RxError::Fragment);
    // An otherwise valid advert with a Router Alert option (IHL 6): forged, dropped.
    let mut opts = good[..20].to_vec();
    opts[0] = 0x46;
    let total = u16::from_be_bytes([opts[2], opts[3]]) + 4;
    opts[2..4].copy_from_slice(&total.to_be_bytes());
    opts.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    opts.extend_from_slice(&good[20..]);
    assert_eq!(parse_ipv4(&opts).unwrap_err(), RxError::IpOptions);
    let mut ah = good.clone();
    ah[9] = 51;
    assert_eq!(parse_ipv4(&ah).unwrap_err(), RxError::AhMalformed);
    let mut tcp = good.clone();
    tcp[9] = 6;
    assert_eq!(parse_ipv4(&tcp).unwrap_err(), RxError::WrongProtocol);
    assert_eq!(parse_ipv4(&good[..10]).unwrap_err(), RxError::IpTruncated);
    let mut v6 = good.clone();
    v6[0] = 0x65;
    assert_eq!(parse_ipv4(&v6).unwrap_err(), RxError::NotIpv4);
    // tot_len that disagrees with the VRRP length.
    let mut long = good.clone();
    long.extend_from_slice(&[0; 4]);
    let tot = (long.len()) as u16;
    long[2..4].copy_from_slice(&tot.to_be_bytes());
    assert_eq!(
        check(&cfg(Version::V3), &long).unwrap_err(),
        RxError::BadTotalLength
    );
    // Ethernet padding after tot_len is fine.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 6]);
    assert!(check(&cfg(Version::V3), &padded).is_ok());
}

#[test]
fn v3_interval_and_address_mismatch_only_warn() {
    let mut c = cfg(Version::V3);
    c.advert_interval = Duration::from_millis(500);
    c.vips.push(Vip::host(v4(101)));
    let r = check(&c, &packet(Version::V3, 255, |_| {})).unwrap();
    assert!(r.warnings.contains(RxWarning::IntervalMismatch));
    assert!(r.warnings.contains(RxWarning::AddressListMismatch));
    // v2 interval mismatch drops.
    let mut c2 = cfg(Version::V2);
    c2.advert_interval = Duration::from_secs(2);
    assert_eq!(
        check(&c2, &packet(Version::V2, 255, |_| {})).unwrap_err(),
        RxError::IntervalMismatch
    );
}

#[test]
fn zero_interval_is_refused() {
    let pseudo = PseudoHeader::v3(v4(2), IpAddr::V4(group())).unwrap();
    let mut a = advert(Version::V3);
    a.interval = AdvertInterval::from_centis(0);
    let payload = a.encode(pseudo).unwrap();
    let p = build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(198, 18, 0, 2),
            dst: group(),
            ttl: 255,
            id: 1,
        },
        &payload,
    );
    assert_eq!(
        check(&cfg(Version::V3), &p).unwrap_err(),
        RxError::ZeroInterval
    );
}

#[test]
fn owner_ignore_adverts() {
    let mut c = cfg(Version::V3);
    c.owner_ignore_adverts = true;
    let bytes = packet(Version::V3, 255, |_| {});
    let pkt = parse_ipv4(&bytes).unwrap();
    assert_eq!(
        rx::check(&c, &pkt, 255, None).unwrap_err(),
        RxError::OwnerIgnoresAdverts
    );
    assert!(rx::check(&c, &pkt, 254, None).is_ok());
}

#[test]
fn ipv6_checks_hop_limit_checksum_and_destination() {
    let me = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let peer = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let grp = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
    let vip = IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x100));
    let mut c = InstanceConfig::new("V6", 9, Version::V3, me);
    c.vips = vec![Vip::host(vip)];
    let a = Advert {
        version: Version::V3,
        vrid: 9,
        priority: 200,
        interval: AdvertInterval::from_centis(100),
        auth: Auth::None,
        addresses: vec![vip],
    };
    let payload = a
        .encode(PseudoHeader::V6 {
            src: peer,
            dst: grp,
        })
        .unwrap();
    assert_eq!(payload.len(), 8 + 16);
    assert_eq!(Advert::decode(&payload, Family::V6).unwrap(), a);
    assert!(rx::check(&c, &rx::from_ipv6(&payload, peer, grp, 255), 100, None).is_ok());
    assert_eq!(
        rx::check(&c, &rx::from_ipv6(&payload, peer, grp, 64), 100, None).unwrap_err(),
        RxError::BadTtl
    );
    let other = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 3);
    assert_eq!(
        rx::check(&c, &rx::from_ipv6(&payload, other, grp, 255), 100, None).unwrap_err(),
        RxError::BadChecksum
    );
    assert_eq!(
        rx::check(
            &c,
            &rx::from_ipv6(&payload, peer, Ipv6Addr::LOCALHOST, 255),
            100,
            None
        )
        .unwrap_err(),
        RxError::BadChecksum
    );
    // An IPv4 packet offered to an IPv6 instance.
    let p4 = packet(Version::V3, 255, |_| {});
    assert_eq!(
        rx::check(&c, &parse_ipv4(&p4).unwrap(), 100, None).unwrap_err(),
        RxError::FamilyMismatch
    );
}

#[test]
fn old_keepalived_unicast_checksum_is_accepted_with_a_warning() {
    // keepalived <= 1.3.6 put the multicast group in the pseudo-header of
    // unicast adverts; keepalived still accepts that, so do we.
    let mut c = cfg(Version::V3);
    c.unicast_peers = vec![vrrp::UnicastPeer::new(v4(2))];
    let old = PseudoHeader::v3(v4(2), IpAddr::V4(group())).unwrap();
    let payload = advert(Version::V3).encode(old).unwrap();
    let p = build_ipv4_packet(
        Ipv4Params {
            src: Ipv4Addr::new(198, 18, 0, 2),
            dst: Ipv4Addr::new(198, 18, 0, 1),
            ttl: 255,
            id: 1,
        },
        &payload,
    );
    let r = check(&c, &p).unwrap();
    assert!(r.warnings.contains(RxWarning::OldUnicastChecksum));
}

#[test]
fn unicast_peer_ttl_window() {
    let mut c = cfg(Version::V3);
    c.unicast_peers = vec![vrrp::UnicastPeer {
        addr: v4(2),
        min_ttl: Some(250),
        max_ttl: None,
    }];
    let mk = |ttl| {
        let pseudo = PseudoHeader::v3(v4(2), v4(1)).unwrap();
        let payload = advert(Version::V3).encode(pseudo).unwrap();
        build_ipv4_packet(
            Ipv4Params {
                src: Ipv4Addr::new(198, 18, 0, 2),
                dst: Ipv4Addr::new(198, 18, 0, 1),
                ttl,
                id: 1,
            },
            &payload,
        )
    };
    assert!(check(&c, &mk(254)).is_ok());
    assert_eq!(check(&c, &mk(64)).unwrap_err(), RxError::BadTtl);
}

#[test]
fn own_address_is_flagged() {
    let mut c = cfg(Version::V3);
    c.primary_address = v4(2);
    let r = check(&c, &packet(Version::V3, 255, |_| {})).unwrap();
    assert!(r.warnings.contains(RxWarning::OwnAddress));
    let r = check(&cfg(Version::V3), &packet(Version::V3, 255, |_| {})).unwrap();
    assert!(!r.warnings.contains(RxWarning::OwnAddress));
}
