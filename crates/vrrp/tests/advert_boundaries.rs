//! Every field of a received advert at its boundary values, in VRRPv2, VRRPv2 with PASS and
//! VRRPv3 (IPv4 and IPv6): what RFC 3768 / RFC 5798 discard is dropped with its counted
//! reason, never taken as the master's word; legal extremes are accepted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::packet::pseudo_header_for;
use vrrp::rx::{self, RxWarning, parse_ipv4};
use vrrp::{Advert, AdvertInterval, Auth, InstanceConfig, PseudoHeader, RxError, Version, Vip};

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// The three flavours: (label, version, auth).
fn flavours() -> [(&'static str, Version, Auth); 3] {
    [
        ("v2", Version::V2, Auth::None),
        ("v2 PASS", Version::V2, Auth::pass(b"pw")),
        ("v3", Version::V3, Auth::None),
    ]
}

fn cfg(version: Version, auth: &Auth) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI", 9, version, v4(1));
    c.vips = vec![Vip::host(v4(100))];
    c.auth = *auth;
    c
}

fn advert(version: Version, auth: &Auth) -> Advert {
    Advert {
        version,
        vrid: 9,
        priority: 150,
        interval: AdvertInterval::from_centis(100),
        auth: *auth,
        addresses: vec![v4(100)],
    }
}

/// The advert's VRRP bytes (checksum right), changed by `raw` after encoding.
fn payload(a: &Advert, raw: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let pseudo = pseudo_header_for(a.version, false, v4(2), IpAddr::V4(GROUP));
    let mut p = a.encode(pseudo).unwrap();
    raw(&mut p);
    p
}

fn ipv4(payload: &[u8], ttl: u8) -> Vec<u8> {
    let params = Ipv4Params {
        src: Ipv4Addr::new(198, 18, 0, 2),
        dst: GROUP,
        ttl,
        id: 1,
    };
    build_ipv4_packet(params, payload)
}

fn check(c: &InstanceConfig, bytes: &[u8]) -> Result<rx::CheckedAdvert, RxError> {
    rx::check(c, &parse_ipv4(bytes)?, 100, None)
}

/// Each raw-byte boundary and what it must give, for one flavour.
fn raw_cases(version: Version, pass: bool) -> Vec<(&'static str, usize, u8, RxError)> {
    let v = if version == Version::V2 { 0x20 } else { 0x30 };
    let mut cases = vec![
        ("version 0", 0, 0x01, RxError::VersionMismatch),
        ("version 1", 0, 0x11, RxError::VersionMismatch),
        ("version 4", 0, 0x41, RxError::VersionMismatch),
        ("version 15", 0, 0xf1, RxError::VersionMismatch),
        ("type 0", 0, v, RxError::BadType),
        ("type 2", 0, v | 2, RxError::BadType),
        ("type 15", 0, v | 15, RxError::BadType),
        ("vrid 0", 1, 0, RxError::UnknownVrid),
        ("vrid 255", 1, 255, RxError::UnknownVrid),
        ("vrid 10", 1, 10, RxError::UnknownVrid),
        ("count 2, one address", 3, 2, RxError::BadLength),
        ("count 255", 3, 255, RxError::BadLength),
        ("checksum high byte + 1", 6, 0, RxError::BadChecksum),
    ];
    if version == Version::V2 {
        let other = if pass { 0 } else { 1 };
        cases.extend([
            ("auth type other", 4, other, RxError::AuthTypeMismatch),
            ("auth type 3", 4, 3, RxError::BadAuthType),
            ("auth type 255", 4, 255, RxError::BadAuthType),
            ("interval 0", 5, 0, RxError::IntervalMismatch),
            ("interval 2", 5, 2, RxError::IntervalMismatch),
            ("interval 255", 5, 255, RxError::IntervalMismatch),
        ]);
    } else {
        cases.push(("count 0", 3, 0, RxError::NoAddresses));
    }
    cases
}

#[test]
fn header_fields_at_their_boundaries_are_dropped_by_reason() {
    for (label, version, auth) in flavours() {
        let c = cfg(version, &auth);
        let good = payload(&advert(version, &auth), |_| {});
        for (what, at, value, want) in raw_cases(version, auth != Auth::None) {
            let p = payload(&advert(version, &auth), |p| {
                p[at] = if what.starts_with("checksum") {
                    good[at].wrapping_add(1)
                } else {
                    value
                }
            });
            let got = check(&c, &ipv4(&p, 255)).map(|_| ());
            assert_eq!(got, Err(want), "{label}: {what}");
        }
        for ttl in [0, 1, 254] {
            let got = check(&c, &ipv4(&good, ttl)).map(|_| ());
            assert_eq!(got, Err(RxError::BadTtl), "{label}: ttl {ttl}");
        }
        assert!(check(&c, &ipv4(&good, 255)).is_ok(), "{label}: ttl 255");
    }
}

#[test]
fn legal_extremes_are_accepted() {
    for (label, version, auth) in flavours() {
        let c = cfg(version, &auth);
        for prio in [0, 1, 254, 255] {
            let a = Advert {
                priority: prio,
                ..advert(version, &auth)
            };
            let r = check(&c, &ipv4(&payload(&a, |_| {}), 255));
            assert_eq!(
                r.map(|r| r.advert.priority),
                Ok(prio),
                "{label}: priority {prio}"
            );
        }
    }
    // VRRPv3: the largest interval (4095 cs) is used with a warning; the reserved bits above
    // it are ignored on receive (RFC 5798 §5.2.4).
    let c = cfg(Version::V3, &Auth::None);
    let a = Advert {
        interval: AdvertInterval::from_centis(4095),
        ..advert(Version::V3, &Auth::None)
    };
    let r = check(&c, &ipv4(&payload(&a, |_| {}), 255)).unwrap();
    assert!(r.warnings.contains(RxWarning::IntervalMismatch));
    let a = Advert {
        interval: AdvertInterval::from_centis(0),
        ..advert(Version::V3, &Auth::None)
    };
    let p = payload(&a, |_| {});
    assert_eq!(
        check(&c, &ipv4(&p, 255)).map(|_| ()),
        Err(RxError::ZeroInterval)
    );
    // VRRPv2 has no minimum address count (RFC 3768): zero addresses is only a mismatch.
    for auth in [Auth::None, Auth::pass(b"pw")] {
        let c = cfg(Version::V2, &auth);
        let a = Advert {
            addresses: vec![],
            ..advert(Version::V2, &auth)
        };
        let r = check(&c, &ipv4(&payload(&a, |_| {}), 255)).unwrap();
        assert!(r.warnings.contains(RxWarning::AddressListMismatch));
    }
}

#[test]
fn a_count_that_disagrees_with_the_addresses_present_is_dropped() {
    for (label, version, auth) in flavours() {
        let c = cfg(version, &auth);
        // Two addresses present, count 1: the IPv4 total length says more than the count.
        let a = Advert {
            addresses: vec![v4(100), v4(101)],
            ..advert(version, &auth)
        };
        let p = payload(&a, |p| p[3] = 1);
        let got = check(&c, &ipv4(&p, 255)).map(|_| ());
        // With PASS the password is read where the count puts it (the second address), and
        // the auth check comes first in keepalived's order.
        let want = if auth == Auth::None {
            RxError::BadTotalLength
        } else {
            RxError::AuthFailure
        };
        assert_eq!(got, Err(want), "{label}");
    }
    // IPv6 (VRRPv3 only): the payload length is all there is.
    let me = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let peer = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let grp = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
    let vip = |n| IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, n));
    let mut c = InstanceConfig::new("V6", 9, Version::V3, IpAddr::V6(me));
    c.vips = vec![Vip::host(vip(0x100))];
    let a = Advert {
        addresses: vec![vip(0x100), vip(0x101)],
        ..advert(Version::V3, &Auth::None)
    };
    let pseudo = PseudoHeader::V6 {
        src: peer,
        dst: grp,
    };
    let mut p = a.encode(pseudo).unwrap();
    p[3] = 1;
    let got = rx::check(&c, &rx::from_ipv6(&p, peer, grp, 255), 100, None).map(|_| ());
    assert_eq!(got, Err(RxError::BadLength), "trailing address");
    p[3] = 0;
    let got = rx::check(&c, &rx::from_ipv6(&p[..8], peer, grp, 255), 100, None).map(|_| ());
    assert_eq!(got, Err(RxError::NoAddresses), "count 0");
    // An instance without VIPs (no_virtual_ipaddress) hears its likes.
    c.vips.clear();
    let got = rx::check(&c, &rx::from_ipv6(&p[..8], peer, grp, 255), 100, None).map(|_| ());
    assert_eq!(
        got,
        Err(RxError::BadChecksum),
        "count 0 passes the count check"
    );
}
