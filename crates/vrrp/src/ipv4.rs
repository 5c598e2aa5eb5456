//! The IPv4 header around an advert, as keepalived builds it with
//! `IP_HDRINCL` (TOS 0xc0, DF clear, TTL 255, protocol 112, id per packet),
//! and the parse of what a raw IPv4 socket hands back.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::packet::IPPROTO_VRRP;

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// TOS keepalived sets (precedence "internetwork control").
pub const VRRP_TOS: u8 = 0xc0;
/// TTL / hop limit VRRP requires on multicast adverts.
pub const VRRP_TTL: u8 = 255;

/// Parameters of an outgoing IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Params {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination (224.0.0.18, another group, or a unicast peer).
    pub dst: Ipv4Addr,
    /// TTL: 255, or `unicast_ttl` for unicast.
    pub ttl: u8,
    /// Identification; keepalived increments it per packet.
    pub id: u16,
}

/// Build the IPv4 packet `header + payload` (protocol 112, TOS 0xc0, no
/// fragmentation flags, header checksum filled in).
pub fn build_ipv4_packet(p: Ipv4Params, payload: &[u8]) -> Vec<u8> {
    let total = IPV4_HEADER_LEN + payload.len();
    let mut out = Vec::with_capacity(total);
    out.push(0x45);
    out.push(VRRP_TOS);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.push(p.ttl);
    out.push(IPPROTO_VRRP);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&p.src.octets());
    out.extend_from_slice(&p.dst.octets());
    let c = checksum::ipv4_header(&out);
    out[10..12].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The fields of a received IPv4 header that VRRP's checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Header length in bytes (IHL × 4, options included).
    pub header_len: usize,
    /// `tot_len` field.
    pub total_len: u16,
    /// More-fragments flag or a non-zero fragment offset.
    pub fragmented: bool,
    /// TTL.
    pub ttl: u8,
    /// Protocol.
    pub protocol: u8,
    /// Source.
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
}

/// Why bytes are not an IPv4 header at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4Error {
    /// Shorter than the header claims (or than 20 bytes).
    #[error("IPv4 header truncated")]
    Truncated,
    /// Version nibble is not 4 or IHL < 5.
    #[error("not an IPv4 header")]
    NotIpv4,
}

/// Parse the IPv4 header at the start of `buf`.
pub fn parse_ipv4_header(buf: &[u8]) -> Result<Ipv4Header, Ipv4Error> {
    if buf.len() < IPV4_HEADER_LEN {
        return Err(Ipv4Error::Truncated);
    }
    if buf[0] >> 4 != 4 || (buf[0] & 0x0f) < 5 {
        return Err(Ipv4Error::NotIpv4);
    }
    let header_len = usize::from(buf[0] & 0x0f) * 4;
    if buf.len() < header_len {
        return Err(Ipv4Error::Truncated);
    }
    let frag = u16::from_be_bytes([buf[6], buf[7]]);
    Ok(Ipv4Header {
        header_len,
        total_len: u16::from_be_bytes([buf[2], buf[3]]),
        fragmented: frag & 0x2000 != 0 || frag & 0x1fff != 0,
        ttl: buf[8],
        protocol: buf[9],
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
    })
}
