//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 adds to it.
//!
//! VRRPv2 sums the VRRP message alone (auth bytes included); VRRPv3 over IPv4
//! prepends the IPv4 pseudo-header with the *actual* destination (the peer when
//! unicast), and VRRPv3 over IPv6 the IPv6 pseudo-header (RFC 8200 §8.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::IPPROTO_VRRP;

/// Which pseudo-header, if any, precedes the VRRP bytes in the checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudoHeader {
    /// VRRPv2, or VRRPv3 with `v3_checksum_as_v2`: no pseudo-header.
    None,
    /// VRRPv3 over IPv4: source, destination, zero, protocol 112, VRRP length.
    V4 {
        /// IP source.
        src: Ipv4Addr,
        /// IP destination.
        dst: Ipv4Addr,
    },
    /// VRRPv3 over IPv6: source, destination, upper-layer length, next header 112.
    V6 {
        /// IP source.
        src: Ipv6Addr,
        /// IP destination.
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// The pseudo-header VRRPv3 uses between `src` and `dst` (`None` if the
    /// families differ, which no real packet has).
    pub fn v3(src: IpAddr, dst: IpAddr) -> Option<Self> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(Self::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(Self::V6 { src, dst }),
            _ => None,
        }
    }
}

/// Running one's-complement sum of 16-bit big-endian words.
#[derive(Debug, Default, Clone, Copy)]
struct Sum(u32);

impl Sum {
    fn add_bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            self.add_word(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            self.add_word(u16::from_be_bytes([*last, 0]));
        }
    }

    fn add_word(&mut self, w: u16) {
        self.0 += u32::from(w);
        self.0 = (self.0 & 0xffff) + (self.0 >> 16);
    }

    fn add_u32(&mut self, v: u32) {
        self.add_word((v >> 16) as u16);
        self.add_word(v as u16);
    }

    fn folded(self) -> u16 {
        let mut s = self.0;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }
}

fn sum_with_pseudo(pseudo: PseudoHeader, data: &[u8]) -> Sum {
    let mut s = Sum::default();
    let len = data.len() as u32;
    match pseudo {
        PseudoHeader::None => {}
        PseudoHeader::V4 { src, dst } => {
            s.add_bytes(&src.octets());
            s.add_bytes(&dst.octets());
            s.add_word(u16::from(IPPROTO_VRRP));
            s.add_word(len as u16);
        }
        PseudoHeader::V6 { src, dst } => {
            s.add_bytes(&src.octets());
            s.add_bytes(&dst.octets());
            s.add_u32(len);
            s.add_u32(u32::from(IPPROTO_VRRP));
        }
    }
    s.add_bytes(data);
    s
}

/// The checksum to store in a packet whose checksum field is zero.
pub fn compute(pseudo: PseudoHeader, data: &[u8]) -> u16 {
    !sum_with_pseudo(pseudo, data).folded()
}

/// Whether `data` (checksum field included, as received) sums correctly.
pub fn verify(pseudo: PseudoHeader, data: &[u8]) -> bool {
    sum_with_pseudo(pseudo, data).folded() == 0xffff
}

/// The IPv4 header checksum (the header with its checksum field zero).
pub fn ipv4_header(header: &[u8]) -> u16 {
    compute(PseudoHeader::None, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(compute(PseudoHeader::None, &data), !0xddf2);
    }

    #[test]
    fn verify_accepts_own_checksum_and_rejects_flipped_bit() {
        let mut data = vec![0x31, 0x34, 0xc8, 0x02, 0x00, 0x32, 0, 0, 1, 2, 3];
        let c = compute(PseudoHeader::None, &data);
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify(PseudoHeader::None, &data));
        data[2] ^= 1;
        assert!(!verify(PseudoHeader::None, &data));
    }
}
