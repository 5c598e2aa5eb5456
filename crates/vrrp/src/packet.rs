//! VRRP advertisement wire format (RFC 3768 §5, RFC 5798 §5), context free.
//!
//! `Advert::decode` is structural: it reads what the bytes say and refuses
//! only what cannot be represented (too short, unknown version, wrong type).
//! Whether a packet is *acceptable* to an instance is decided by
//! [`crate::rx`], in keepalived's order of checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::checksum::{self, PseudoHeader};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of the IPsec Authentication Header (VRRPv2 `auth_type AH`).
pub const IPPROTO_AH: u8 = 51;
/// VRRP packet type ADVERTISEMENT, the only one defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Length of the fixed VRRP header (both versions).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data trailer.
pub const V2_AUTH_LEN: usize = 8;
/// The IPv4 VRRP multicast group.
pub const MCAST_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group.
pub const MCAST_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only).
    V2,
    /// VRRPv3, RFC 5798.
    V3,
}

impl Version {
    /// The number in the high nibble of the first byte.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a wire number, if known.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Address family of an instance (and of the addresses in its adverts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6 (VRRPv3 only).
    V6,
}

impl Family {
    /// Family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes per address in the advert body.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The VRRP multicast group of this family.
    pub fn multicast_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(MCAST_GROUP_V4),
            Family::V6 => IpAddr::V6(MCAST_GROUP_V6),
        }
    }
}

/// Advertisement interval as carried on the wire, in centiseconds.
///
/// VRRPv3 carries 12 bits of centiseconds; VRRPv2 carries whole seconds in
/// a byte. One unit for both keeps comparisons simple (`1 s` = 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdvertInterval(u16);

impl AdvertInterval {
    /// Largest VRRPv3 value (12 bits): 40.95 s.
    pub const V3_MAX_CS: u16 = 0x0fff;

    /// From centiseconds.
    pub const fn from_centis(cs: u16) -> Self {
        Self(cs)
    }

    /// Centiseconds.
    pub const fn centis(self) -> u16 {
        self.0
    }

    /// As a duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_millis(u64::from(self.0) * 10)
    }

    /// Round a configured interval the way keepalived does for the version:
    /// whole seconds (1..=255) for v2, centiseconds (1..=4095) for v3.
    /// Out-of-range values are clamped into the range.
    pub fn from_duration(version: Version, d: Duration) -> Self {
        match version {
            Version::V2 => {
                let secs = (d.as_millis() + 500) / 1000;
                Self((secs.clamp(1, 255) as u16) * 100)
            }
            Version::V3 => {
                let cs = (d.as_micros() + 5_000) / 10_000;
                Self(cs.clamp(1, u128::from(Self::V3_MAX_CS)) as u16)
            }
        }
    }
}

/// VRRPv2 authentication (auth type byte and the 8 data bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0 with zero data (also what every v3 packet carries implicitly).
    None,
    /// Type 1, simple text password, zero padded to 8 bytes.
    Pass([u8; 8]),
    /// Type 2, IPsec AH (IPv4 only): the advert's own field stays zero, the authentication
    /// header around it ([`crate::ah`]) carries the sequence number and the ICV.
    Ah {
        /// The HMAC key: `auth_pass` zero padded to 8 bytes, as keepalived keys it.
        key: [u8; 8],
        /// The sequence number of an advert to send (0 in a configuration): the instance
        /// stamps each advert it sends, as keepalived's one per-instance counter does.
        seq: u32,
    },
    /// Anything else as received (unknown types, type 0 with non-zero data, and AH, whose
    /// key is not on the wire), kept so a decoded packet re-encodes byte for byte.
    Raw {
        /// The auth type byte.
        auth_type: u8,
        /// The eight authentication data bytes.
        data: [u8; 8],
    },
}

impl Auth {
    /// PASS auth from a password; like keepalived, only the first 8 bytes count.
    pub fn pass(password: &[u8]) -> Self {
        Auth::Pass(padded8(password))
    }

    /// AH auth keyed with a password; like keepalived, only the first 8 bytes count.
    pub fn ah(password: &[u8]) -> Self {
        Auth::Ah {
            key: padded8(password),
            seq: 0,
        }
    }

    /// The auth type byte.
    pub fn auth_type(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah { .. } => 2,
            Auth::Raw { auth_type, .. } => *auth_type,
        }
    }

    /// The 8 auth data bytes.
    pub fn data(&self) -> [u8; 8] {
        match self {
            Auth::None | Auth::Ah { .. } => [0; 8],
            Auth::Pass(d) | Auth::Raw { data: d, .. } => *d,
        }
    }

    fn from_wire(auth_type: u8, data: [u8; 8]) -> Self {
        match auth_type {
            0 if data == [0; 8] => Auth::None,
            1 => Auth::Pass(data),
            _ => Auth::Raw { auth_type, data },
        }
    }
}

/// The first 8 bytes of `password`, zero padded: keepalived's `auth_data`.
fn padded8(password: &[u8]) -> [u8; 8] {
    let mut data = [0u8; 8];
    let n = password.len().min(8);
    data[..n].copy_from_slice(&password[..n]);
    data
}

/// Errors of the context-free codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the header and the declared addresses need.
    #[error("packet too short: {got} bytes, need {need}")]
    TooShort {
        /// Bytes received.
        got: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Version nibble is neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    UnknownVersion(u8),
    /// Type nibble is not ADVERTISEMENT.
    #[error("unknown VRRP packet type {0}")]
    UnknownType(u8),
    /// VRRPv2 over IPv6 does not exist.
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
    /// An address of the other family than the advert's.
    #[error("address {0} is not of the advert's family")]
    MixedFamily(IpAddr),
    /// More than 255 addresses.
    #[error("{0} addresses do not fit in one advert (max 255)")]
    TooManyAddresses(usize),
    /// Interval not representable in the version's field.
    #[error("advert interval {0} cs does not fit the version's field")]
    IntervalOutOfRange(u16),
}

/// One VRRP advertisement, either version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual router id (1..=255 in valid adverts; 0 is representable).
    pub vrid: u8,
    /// Sender's priority: 0 = release, 255 = address owner.
    pub priority: u8,
    /// Advert interval (v2: whole seconds, v3: centiseconds, 12 bits).
    pub interval: AdvertInterval,
    /// VRRPv2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
}

impl Advert {
    /// Length of the VRRP message for `naddr` addresses of `family`.
    pub fn wire_len(version: Version, family: Family, naddr: usize) -> usize {
        HEADER_LEN
            + naddr * family.addr_len()
            + if version == Version::V2 {
                V2_AUTH_LEN
            } else {
                0
            }
    }

    /// Decode a VRRP message. Trailing bytes (Ethernet padding) are ignored;
    /// the checksum is not verified here (it needs the IP addresses, see
    /// [`verify_checksum`]).
    pub fn decode(bytes: &[u8], family: Family) -> Result<Self, CodecError> {
        if bytes.len() < HEADER_LEN {
            return Err(CodecError::TooShort {
                got: bytes.len(),
                need: HEADER_LEN,
            });
        }
        let version =
            Version::from_number(bytes[0] >> 4).ok_or(CodecError::UnknownVersion(bytes[0] >> 4))?;
        let kind = bytes[0] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(CodecError::UnknownType(kind));
        }
        if version == Version::V2 && family == Family::V6 {
            return Err(CodecError::V2OverIpv6);
        }
        let naddr = usize::from(bytes[3]);
        let need = Self::wire_len(version, family, naddr);
        if bytes.len() < need {
            return Err(CodecError::TooShort {
                got: bytes.len(),
                need,
            });
        }
        let (interval, auth_type) = match version {
            Version::V2 => (
                AdvertInterval::from_centis(u16::from(bytes[5]) * 100),
                bytes[4],
            ),
            Version::V3 => (
                AdvertInterval::from_centis(u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff),
                0,
            ),
        };
        let body = &bytes[HEADER_LEN..];
        let addresses = body
            .chunks_exact(family.addr_len())
            .take(naddr)
            .map(|c| match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::V6 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
            })
            .collect();
        let auth = match version {
            Version::V2 => {
                let at = HEADER_LEN + naddr * 4;
                let mut data = [0u8; 8];
                data.copy_from_slice(&bytes[at..at + V2_AUTH_LEN]);
                Auth::from_wire(auth_type, data)
            }
            Version::V3 => Auth::None,
        };
        Ok(Advert {
            version,
            vrid: bytes[1],
            priority: bytes[2],
            interval,
            auth,
            addresses,
        })
    }

    /// Family of the addresses (IPv4 for an empty list).
    pub fn family(&self) -> Family {
        self.addresses
            .first()
            .map(|a| Family::of(*a))
            .unwrap_or(Family::V4)
    }

    /// Encode with the checksum computed over `pseudo` (use
    /// [`PseudoHeader::None`] for v2 and for `v3_checksum_as_v2`).
    pub fn encode(&self, pseudo: PseudoHeader) -> Result<Vec<u8>, CodecError> {
        let family = match pseudo {
            PseudoHeader::V6 { .. } => Family::V6,
            PseudoHeader::V4 { .. } => Family::V4,
            PseudoHeader::None => self.family(),
        };
        self.encode_family(family, pseudo)
    }

    /// Encode for an explicit family (needed for an empty IPv6 address list
    /// without a pseudo-header).
    pub fn encode_family(
        &self,
        family: Family,
        pseudo: PseudoHeader,
    ) -> Result<Vec<u8>, CodecError> {
        if self.version == Version::V2 && family == Family::V6 {
            return Err(CodecError::V2OverIpv6);
        }
        if self.addresses.len() > 255 {
            return Err(CodecError::TooManyAddresses(self.addresses.len()));
        }
        let cs = self.interval.centis();
        let interval_bytes = match self.version {
            Version::V2 => {
                if cs % 100 != 0 || cs / 100 > 255 {
                    return Err(CodecError::IntervalOutOfRange(cs));
                }
                [self.auth.auth_type(), (cs / 100) as u8]
            }
            Version::V3 => {
                if cs > AdvertInterval::V3_MAX_CS {
                    return Err(CodecError::IntervalOutOfRange(cs));
                }
                cs.to_be_bytes()
            }
        };
        let mut out =
            Vec::with_capacity(Self::wire_len(self.version, family, self.addresses.len()));
        out.push(self.version.number() << 4 | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(self.addresses.len() as u8);
        out.extend_from_slice(&interval_bytes);
        out.extend_from_slice(&[0, 0]);
        for a in &self.addresses {
            match (family, a) {
                (Family::V4, IpAddr::V4(v4)) => out.extend_from_slice(&v4.octets()),
                (Family::V6, IpAddr::V6(v6)) => out.extend_from_slice(&v6.octets()),
                _ => return Err(CodecError::MixedFamily(*a)),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.data());
        }
        let c = checksum::compute(pseudo, &out);
        out[6..8].copy_from_slice(&c.to_be_bytes());
        Ok(out)
    }
}

/// Whether the checksum of a received VRRP message is right.
pub fn verify_checksum(bytes: &[u8], pseudo: PseudoHeader) -> bool {
    checksum::verify(pseudo, bytes)
}

/// The pseudo-header an instance uses for its own adverts: none for v2 or
/// `v3_checksum_as_v2`, else the v3 pseudo-header with the real destination.
pub fn pseudo_header_for(version: Version, as_v2: bool, src: IpAddr, dst: IpAddr) -> PseudoHeader {
    if version == Version::V2 || as_v2 {
        PseudoHeader::None
    } else {
        PseudoHeader::v3(src, dst).unwrap_or(PseudoHeader::None)
    }
}

/// The pseudo-header of an instance's advert to `dst`: [`pseudo_header_for`], with the
/// multicast group standing in for a unicast IPv4 peer under `old_unicast_checksum`.
pub fn advert_pseudo_header(
    cfg: &crate::config::InstanceConfig,
    src: IpAddr,
    dst: IpAddr,
) -> PseudoHeader {
    let old = cfg.unicast_checksum == crate::config::UnicastChecksum::Old;
    let dst = if old && dst.is_ipv4() && !dst.is_multicast() {
        cfg.multicast_group
    } else {
        dst
    };
    pseudo_header_for(cfg.version, cfg.v3_checksum_as_v2, src, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_rounding_matches_keepalived() {
        assert_eq!(
            AdvertInterval::from_duration(Version::V2, Duration::from_millis(1400)).centis(),
            100
        );
        assert_eq!(
            AdvertInterval::from_duration(Version::V2, Duration::from_millis(100)).centis(),
            100
        );
        assert_eq!(
            AdvertInterval::from_duration(Version::V3, Duration::from_millis(500)).centis(),
            50
        );
        assert_eq!(
            AdvertInterval::from_duration(Version::V3, Duration::from_secs(100)).centis(),
            4095
        );
    }

    #[test]
    fn truncated_pass_keeps_first_eight_bytes() {
        assert_eq!(Auth::pass(b"secret12345"), Auth::Pass(*b"secret12"));
    }

    #[test]
    fn decode_rejects_short_and_unknown() {
        assert!(matches!(
            Advert::decode(&[0x21, 1, 2], Family::V4),
            Err(CodecError::TooShort { .. })
        ));
        assert_eq!(
            Advert::decode(&[0x41, 1, 2, 0, 0, 1, 0, 0], Family::V4),
            Err(CodecError::UnknownVersion(4))
        );
        assert_eq!(
            Advert::decode(&[0x32, 1, 2, 0, 0, 1, 0, 0], Family::V4),
            Err(CodecError::UnknownType(2))
        );
    }
}
