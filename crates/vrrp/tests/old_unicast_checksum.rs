//! `old_unicast_checksum`: VRRPv3 unicast IPv4 adverts checksummed over the multicast group
//! (keepalived before 1.3.6). What is sent under each mode, and what is accepted.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::checksum::{PseudoHeader, verify};
use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::packet::advert_pseudo_header;
use vrrp::rx::{self, RxWarning, parse_ipv4};
use vrrp::{
    Advert, AdvertInterval, Auth, Instance, InstanceConfig, RxError, UnicastChecksum, UnicastPeer,
    Version, Vip,
};

const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

/// A unicast v3 instance on .1 peering with .2.
fn cfg(mode: UnicastChecksum) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI", 9, Version::V3, v4(1));
    c.vips = vec![Vip::host(v4(100))];
    c.unicast_peers = vec![UnicastPeer::new(v4(2))];
    c.unicast_checksum = mode;
    c
}

fn advert() -> Advert {
    Advert {
        version: Version::V3,
        vrid: 9,
        priority: 150,
        interval: AdvertInterval::from_centis(100),
        auth: Auth::None,
        addresses: vec![v4(100)],
    }
}

/// An advert from the peer .2 to us (.1), checksummed with `dst` in the pseudo-header.
fn from_peer(csum_dst: IpAddr) -> Vec<u8> {
    let payload = advert()
        .encode(PseudoHeader::v3(v4(2), csum_dst).unwrap())
        .unwrap();
    let params = Ipv4Params {
        src: Ipv4Addr::new(198, 18, 0, 2),
        dst: Ipv4Addr::new(198, 18, 0, 1),
        ttl: 255,
        id: 1,
    };
    build_ipv4_packet(params, &payload)
}

fn check(c: &InstanceConfig, bytes: &[u8]) -> Result<rx::CheckedAdvert, RxError> {
    rx::check(c, &parse_ipv4(bytes).unwrap(), 100, None)
}

#[test]
fn the_flag_sends_adverts_checksummed_over_the_group() {
    let c = cfg(UnicastChecksum::Old);
    let bytes = advert()
        .encode(advert_pseudo_header(&c, v4(1), v4(2)))
        .unwrap();
    assert!(verify(PseudoHeader::v3(v4(1), GROUP).unwrap(), &bytes));
    assert!(!verify(PseudoHeader::v3(v4(1), v4(2)).unwrap(), &bytes));
}

#[test]
fn without_the_flag_or_with_never_adverts_carry_the_rfc_checksum() {
    for mode in [UnicastChecksum::Auto, UnicastChecksum::Never] {
        let c = cfg(mode);
        let bytes = advert()
            .encode(advert_pseudo_header(&c, v4(1), v4(2)))
            .unwrap();
        assert!(
            verify(PseudoHeader::v3(v4(1), v4(2)).unwrap(), &bytes),
            "{mode:?}"
        );
        assert!(
            !verify(PseudoHeader::v3(v4(1), GROUP).unwrap(), &bytes),
            "{mode:?}"
        );
    }
}

#[test]
fn the_flag_leaves_multicast_and_v3_checksum_as_v2_adverts_alone() {
    let mut c = cfg(UnicastChecksum::Old);
    assert_eq!(
        advert_pseudo_header(&c, v4(1), GROUP),
        PseudoHeader::v3(v4(1), GROUP).unwrap()
    );
    c.v3_checksum_as_v2 = true;
    assert_eq!(advert_pseudo_header(&c, v4(1), v4(2)), PseudoHeader::None);
}

#[test]
fn auto_accepts_both_checksums_and_warns_on_the_old_one() {
    let c = cfg(UnicastChecksum::Auto);
    let rfc = check(&c, &from_peer(v4(1))).unwrap();
    assert!(!rfc.warnings.contains(RxWarning::OldUnicastChecksum));
    let old = check(&c, &from_peer(GROUP)).unwrap();
    assert!(old.warnings.contains(RxWarning::OldUnicastChecksum));
}

#[test]
fn never_counts_the_old_checksum_as_a_checksum_error() {
    let c = cfg(UnicastChecksum::Never);
    assert!(check(&c, &from_peer(v4(1))).is_ok());
    assert_eq!(
        check(&c, &from_peer(GROUP)).unwrap_err(),
        RxError::BadChecksum
    );
}

#[test]
fn the_flag_accepts_only_the_old_checksum() {
    // keepalived 2.2.7 with the flag logs "Invalid VRRPv3 checksum" for RFC adverts.
    let c = cfg(UnicastChecksum::Old);
    let old = check(&c, &from_peer(GROUP)).unwrap();
    assert!(!old.warnings.contains(RxWarning::OldUnicastChecksum));
    assert_eq!(
        check(&c, &from_peer(v4(1))).unwrap_err(),
        RxError::BadChecksum
    );
}

#[test]
fn an_instance_remembers_it_accepted_an_old_checksum_but_keeps_sending_rfc() {
    let c = cfg(UnicastChecksum::Auto);
    let mut inst = Instance::new(c.clone()).unwrap();
    let now = Duration::from_secs(1);
    inst.handle(now, vrrp::Event::Start);
    let rfc = from_peer(v4(1));
    inst.handle_packet(now, &parse_ipv4(&rfc).unwrap()).unwrap();
    assert!(!inst.old_checksum_seen());
    let old = from_peer(GROUP);
    inst.handle_packet(now, &parse_ipv4(&old).unwrap()).unwrap();
    assert!(inst.old_checksum_seen());
    assert_eq!(inst.counters().warned(RxWarning::OldUnicastChecksum), 1);
    // Sending is chosen by the configuration alone: still the RFC pseudo-header.
    assert_eq!(
        advert_pseudo_header(inst.config(), v4(1), v4(2)),
        PseudoHeader::v3(v4(1), v4(2)).unwrap()
    );
}
