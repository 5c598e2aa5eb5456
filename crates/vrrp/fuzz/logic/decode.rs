//! Shared by the `decode` fuzz target and the corpus-replay test in the
//! vrrp crate (`tests/fuzz_corpus.rs`), so stable `cargo test` runs exactly
//! what the fuzzer runs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp::packet::{Advert, Family};
use vrrp::rx;
use vrrp::{InstanceConfig, PseudoHeader, UnicastPeer, Version};

/// The first byte picks how the rest is read: bit 0 IPv4 packet (parse_ipv4)
/// or IPv6 payload; the other bits feed the configuration checked against.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    roundtrip(rest, Family::V4);
    roundtrip(rest, Family::V6);
    let configs = configs(mode);
    // Bit 3: repair the VRRP checksum first, so the fuzzer also explores
    // the checks that come after it (destination, owner, addresses, source).
    let mut owned = rest.to_vec();
    if mode & 1 == 0 {
        if mode & 8 != 0 {
            fix_ipv4_checksum(&mut owned);
        }
        if let Ok(pkt) = rx::parse_ipv4(&owned) {
            for c in &configs {
                check(c, &pkt);
            }
        }
    } else {
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        let dst = if mode & 2 == 0 {
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)
        } else {
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        };
        if mode & 8 != 0 && owned.len() >= 8 {
            owned[6..8].copy_from_slice(&[0, 0]);
            let c = vrrp::checksum::compute(PseudoHeader::V6 { src, dst }, &owned);
            owned[6..8].copy_from_slice(&c.to_be_bytes());
        }
        let hop_limit = if mode & 0x10 != 0 { 64 } else { 255 };
        let pkt = rx::from_ipv6(&owned, src, dst, hop_limit);
        for c in &configs {
            check(c, &pkt);
        }
    }
}

fn fix_ipv4_checksum(buf: &mut [u8]) {
    let Ok(h) = vrrp::ipv4::parse_ipv4_header(buf) else {
        return;
    };
    let end = usize::from(h.total_len).clamp(h.header_len, buf.len());
    let vrrp = &mut buf[h.header_len..end];
    if vrrp.len() < 8 {
        return;
    }
    let pseudo = if vrrp[0] >> 4 == 2 {
        PseudoHeader::None
    } else {
        PseudoHeader::V4 {
            src: h.src,
            dst: h.dst,
        }
    };
    vrrp[6..8].copy_from_slice(&[0, 0]);
    let c = vrrp::checksum::compute(pseudo, vrrp);
    vrrp[6..8].copy_from_slice(&c.to_be_bytes());
}

fn roundtrip(bytes: &[u8], family: Family) {
    let Ok(a) = Advert::decode(bytes, family) else {
        return;
    };
    let Ok(e1) = a.encode_family(family, PseudoHeader::None) else {
        return;
    };
    let b = Advert::decode(&e1, family).expect("re-decode of an encoding");
    assert_eq!(a, b, "decode(encode(decode(x))) != decode(x)");
    let e2 = b
        .encode_family(family, PseudoHeader::None)
        .expect("re-encode");
    assert_eq!(e1, e2, "encode(decode(e)) != e");
    // Version/type, VRID, priority and count come from the input unchanged.
    assert_eq!(e1[..4], bytes[..4]);
}

fn configs(mode: u8) -> Vec<InstanceConfig> {
    let v4 = |n| IpAddr::V4(Ipv4Addr::new(192, 168, 88, n));
    let mut v2 = InstanceConfig::new("v2", 51, Version::V2, v4(1));
    v2.auth = vrrp::Auth::pass(b"secret12");
    let mut v3 = InstanceConfig::new("v3", 52, Version::V3, v4(1));
    v3.advert_interval = std::time::Duration::from_millis(500);
    let mut uni = InstanceConfig::new("uni", 53, Version::V3, v4(1));
    uni.unicast_peers = vec![UnicastPeer::new(v4(2))];
    uni.check_unicast_src = mode & 4 != 0;
    let v6 = InstanceConfig::new(
        "v6",
        mode,
        Version::V3,
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    );
    let mut out = vec![v2, v3, uni];
    if mode != 0 {
        out.push(v6);
    }
    out
}

fn check(cfg: &InstanceConfig, pkt: &rx::RxPacket<'_>) {
    if let Ok(checked) = rx::check(cfg, pkt, 100, None) {
        // What passed the checks decodes the same way on its own.
        assert_eq!(checked.advert.vrid, cfg.vrid);
        assert_eq!(checked.advert.version, cfg.version);
        assert!(checked.advert.interval.centis() > 0);
    }
}
