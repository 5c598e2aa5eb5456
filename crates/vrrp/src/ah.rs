//! VRRPv2 `auth_type AH` as keepalived 2.2.7 puts it on the wire (read from its packets in the
//! lab): IPv4 protocol 51, then a 24-byte authentication header (next header 112, payload
//! length 4, SPI = the source address, a sequence number counting from 1 per sender, a 12-byte
//! ICV), then the VRRP advert (auth type 2, its 8-byte authentication field zero). The ICV is
//! HMAC-MD5-96 keyed with `auth_pass` over the IPv4 header with TOS, flags / fragment offset
//! and checksum zeroed (TTL and id kept; a unicast instance zeroes the TTL too, which routers
//! on the way may lower), the authentication header with a zero ICV, and the advert.

use std::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use md5::Md5;

use crate::checksum;
use crate::ipv4::{IPV4_HEADER_LEN, Ipv4Params, VRRP_TOS};
use crate::packet::{IPPROTO_AH, IPPROTO_VRRP};

/// Length of the authentication header keepalived sends (RFC 2402 with a 96-bit ICV).
pub const AH_LEN: usize = 24;
const ICV: std::ops::Range<usize> = 12..24;

/// Why an AH packet is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AhError {
    /// Shorter than an IPv4 header, an authentication header and an advert.
    #[error("AH packet truncated")]
    Truncated,
    /// Not keepalived's layout (next header, length) or the SPI is not the source address.
    #[error("AH header malformed")]
    Malformed,
    /// The ICV does not match: another key, or the packet was changed.
    #[error("AH authentication failed")]
    BadIcv,
}

/// An AH packet that passed the ICV check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAh<'a> {
    /// The sender's sequence number (the receiver refuses one not above the last seen).
    pub seq: u32,
    /// The SPI: the sender's address.
    pub spi: Ipv4Addr,
    /// The VRRP advert it carries.
    pub vrrp: &'a [u8],
}

/// Which IPv4 header fields the ICV covers, as keepalived decides it per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// Multicast instance: the TTL (always 255) is covered.
    Multicast,
    /// Instance with unicast peers: the TTL is zeroed before the HMAC (it may change on the
    /// way), on sending and on receiving.
    Unicast,
}

/// The HMAC over the covered bytes, not yet finalised.
fn mac_of(key: &[u8], cover: Cover, ip: &[u8], ah: &[u8], vrrp: &[u8]) -> Hmac<Md5> {
    let mut hdr = [0u8; IPV4_HEADER_LEN];
    hdr.copy_from_slice(&ip[..IPV4_HEADER_LEN]);
    hdr[1] = 0; // TOS
    hdr[6] = 0; // flags, fragment offset
    hdr[7] = 0;
    if cover == Cover::Unicast {
        hdr[8] = 0; // TTL
    }
    hdr[10] = 0; // checksum
    hdr[11] = 0;
    let mut zeroed = [0u8; AH_LEN];
    zeroed.copy_from_slice(&ah[..AH_LEN]);
    zeroed[ICV].fill(0);
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&hdr);
    mac.update(&zeroed);
    mac.update(vrrp);
    mac
}

fn icv(key: &[u8], cover: Cover, ip: &[u8], ah: &[u8], vrrp: &[u8]) -> [u8; 12] {
    let full = mac_of(key, cover, ip, ah, vrrp).finalize().into_bytes();
    let mut out = [0u8; 12];
    out.copy_from_slice(&full[..12]);
    out
}

/// The IPv4 packet of `vrrp` (an advert with auth type 2) under AH: header (protocol 51, TOS
/// 0xc0), authentication header with sequence number `seq`, advert; ICV and checksum filled.
pub fn build_ah_packet(p: Ipv4Params, vrrp: &[u8], key: &[u8], cover: Cover, seq: u32) -> Vec<u8> {
    let total = IPV4_HEADER_LEN + AH_LEN + vrrp.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&[0x45, VRRP_TOS]);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&[0, 0, p.ttl, IPPROTO_AH, 0, 0]);
    out.extend_from_slice(&p.src.octets());
    out.extend_from_slice(&p.dst.octets());
    out.extend_from_slice(&[IPPROTO_VRRP, (AH_LEN / 4 - 2) as u8, 0, 0]);
    out.extend_from_slice(&p.src.octets());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(vrrp);
    let (ip, rest) = out.split_at(IPV4_HEADER_LEN);
    let (ah, payload) = rest.split_at(AH_LEN);
    let mac = icv(key, cover, ip, ah, payload);
    out[IPV4_HEADER_LEN + ICV.start..IPV4_HEADER_LEN + ICV.end].copy_from_slice(&mac);
    let c = checksum::ipv4_header(&out[..IPV4_HEADER_LEN]);
    out[10..12].copy_from_slice(&c.to_be_bytes());
    out
}

/// Checks an AH packet (IPv4 header without options, as VRRP sends it) against `key`.
pub fn verify_ah<'a>(
    packet: &'a [u8],
    key: &[u8],
    cover: Cover,
) -> Result<VerifiedAh<'a>, AhError> {
    if packet.len() < IPV4_HEADER_LEN + AH_LEN + 8 || packet[0] != 0x45 {
        return Err(AhError::Truncated);
    }
    let (ip, rest) = packet.split_at(IPV4_HEADER_LEN);
    let (ah, vrrp) = rest.split_at(AH_LEN);
    let src = &ip[12..16];
    if ip[9] != IPPROTO_AH || ah[0] != IPPROTO_VRRP || ah[1] != 4 || &ah[4..8] != src {
        return Err(AhError::Malformed);
    }
    // Constant-time: a timing difference would let a forger learn the ICV byte by byte.
    mac_of(key, cover, ip, ah, vrrp)
        .verify_truncated_left(&ah[ICV])
        .map_err(|_| AhError::BadIcv)?;
    Ok(VerifiedAh {
        seq: u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]),
        spi: Ipv4Addr::new(src[0], src[1], src[2], src[3]),
        vrrp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived 2.2.7's first advert of `VI_1` (vrid 51, priority 100, advert_int 1,
    /// `auth_type AH`, `auth_pass secret12`, VIP 198.18.0.100) from 198.18.0.1, captured in
    /// the lab.
    const KEEPALIVED_AH: &str = "45c00040 00010000 ff3314a4 c6120001 e0000012 \
         70040000 c6120001 00000001 fed89f99 5bbfb611 434b26d5 \
         21336401 0201b253 c6120064 00000000 00000000";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn builds_keepalived_ah_advert_byte_for_byte() {
        let raw = hex(KEEPALIVED_AH);
        assert_eq!(raw.len(), 64);
        let p = Ipv4Params {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            id: 1,
        };
        let vrrp = &raw[IPV4_HEADER_LEN + AH_LEN..];
        assert_eq!(
            build_ah_packet(p, vrrp, b"secret12", Cover::Multicast, 1),
            raw
        );
    }

    #[test]
    fn verifies_keepalived_ah_and_refuses_other_keys_and_changes() {
        let raw = hex(KEEPALIVED_AH);
        let ok = verify_ah(&raw, b"secret12", Cover::Multicast).unwrap();
        assert_eq!((ok.seq, ok.spi), (1, Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(ok.vrrp.len(), 20);
        assert_eq!(
            verify_ah(&raw, b"secret13", Cover::Multicast),
            Err(AhError::BadIcv)
        );
        let mut changed = raw.clone();
        changed[IPV4_HEADER_LEN + AH_LEN + 2] = 200; // priority
        assert_eq!(
            verify_ah(&changed, b"secret12", Cover::Multicast),
            Err(AhError::BadIcv)
        );
        // TOS and the checksum are outside the ICV (mutable in transit), TTL is not.
        let mut tos = raw.clone();
        tos[1] = 0;
        assert!(verify_ah(&tos, b"secret12", Cover::Multicast).is_ok());
        let mut ttl = raw.clone();
        ttl[8] = 254;
        assert_eq!(
            verify_ah(&ttl, b"secret12", Cover::Multicast),
            Err(AhError::BadIcv)
        );
        let mut spi = raw;
        spi[IPV4_HEADER_LEN + 7] ^= 1;
        assert_eq!(
            verify_ah(&spi, b"secret12", Cover::Multicast),
            Err(AhError::Malformed)
        );
        assert_eq!(
            verify_ah(&[0x45; 40], b"k", Cover::Multicast),
            Err(AhError::Truncated)
        );
    }

    #[test]
    fn unicast_cover_leaves_the_ttl_out_of_the_icv() {
        let p = Ipv4Params {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            ttl: 64,
            id: 7,
        };
        let vrrp = &hex(KEEPALIVED_AH)[IPV4_HEADER_LEN + AH_LEN..];
        let mut pkt = build_ah_packet(p, vrrp, b"secret12", Cover::Unicast, 9);
        pkt[8] = 60; // four routers on the way
        assert_eq!(verify_ah(&pkt, b"secret12", Cover::Unicast).unwrap().seq, 9);
        assert_eq!(
            verify_ah(&pkt, b"secret12", Cover::Multicast),
            Err(AhError::BadIcv)
        );
    }
}
