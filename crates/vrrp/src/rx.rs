//! Receive path: from what a raw socket returns to an advert an instance may
//! act on, with every check of keepalived's `vrrp_check_packet` in its order
//! (reference c.2), each failure a distinct, counted reason.
//!
//! Nothing here touches instance state: a packet that fails any check never
//! reaches the state machine, so it cannot move a timer.

use std::net::{IpAddr, Ipv6Addr};

use crate::ah::{self, AH_LEN, AhError, Cover};
use crate::checksum::PseudoHeader;
use crate::config::{InstanceConfig, UnicastChecksum};
use crate::ipv4::{self, Ipv4Error};
use crate::packet::{
    Advert, Auth, Family, HEADER_LEN, IPPROTO_AH, IPPROTO_VRRP, TYPE_ADVERTISEMENT, Version,
};

/// A received packet as the socket layer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPacket<'a> {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit (from `IPV6_RECVHOPLIMIT` ancillary data).
    pub ttl: u8,
    /// The VRRP message (and any padding after it).
    pub vrrp: &'a [u8],
    /// IPv4 only: IP header length (plus the authentication header under AH) and `tot_len`,
    /// for the total-length check.
    pub ipv4_lengths: Option<(usize, u16)>,
    /// IPv4 under AH: the whole packet, whose ICV only the instance's key can check.
    pub ah: Option<&'a [u8]>,
}

/// Why a packet was dropped. [`RxError::name`] is a stable counter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RxError {
    /// Shorter than an IPv4 header, or than its IHL says.
    #[error("IP header truncated")]
    IpTruncated,
    /// Not IPv4 (version nibble / IHL).
    #[error("not an IPv4 packet")]
    NotIpv4,
    /// A fragment (raw sockets get reassembled datagrams; a fragment is forged).
    #[error("IP fragment")]
    Fragment,
    /// IPv4 options. No VRRP implementation sends them; a packet carrying them is forged or
    /// mangled. (keepalived skips over them; vrrpd drops them: a hostile-segment rule.)
    #[error("IPv4 options present")]
    IpOptions,
    /// Protocol AH, but not keepalived's authentication header (length, next header 112).
    #[error("malformed IPsec AH header")]
    AhMalformed,
    /// Protocol other than 112.
    #[error("IP protocol is not VRRP")]
    WrongProtocol,
    /// Fewer bytes than the 8-byte VRRP header.
    #[error("VRRP header truncated")]
    VrrpTruncated,
    /// Source or destination of the other address family than the instance.
    #[error("address family mismatch")]
    FamilyMismatch,
    /// VRID not served by this instance (demux miss).
    #[error("unknown VRID")]
    UnknownVrid,
    /// Shorter than the header + addresses (+ auth) the packet declares.
    #[error("VRRP length does not match the address count")]
    BadLength,
    /// A VRRPv3 advert with no address: RFC 5798 §5.2.5 sets the minimum count to 1 (an
    /// instance configured without VIPs accepts it: its peers are configured alike).
    #[error("VRRPv3 advert without addresses")]
    NoAddresses,
    /// TTL/hop limit not 255 on a multicast advert, or outside a peer's window.
    #[error("TTL/hop limit invalid")]
    BadTtl,
    /// An AH packet for an instance without `auth_type AH`, or a plain one for an instance
    /// with it (keepalived's AH instance listens on protocol 51 only).
    #[error("AH use differs from the configured authentication")]
    AhMismatch,
    /// The AH ICV does not verify with our key (another `auth_pass`, or a changed packet),
    /// or the SPI is not the sender's address.
    #[error("IPsec AH authentication failure")]
    AhAuthFailure,
    /// The AH sequence number is not above the last one seen or sent (a replay, or a peer
    /// that restarted its count while we are master).
    #[error("IPsec AH sequence number already seen")]
    AhReplay,
    /// Version differs from the instance's.
    #[error("VRRP version mismatch")]
    VersionMismatch,
    /// VRRPv2 auth type not 0, 1 or 2.
    #[error("invalid auth type")]
    BadAuthType,
    /// VRRPv2 auth type differs from the configured one.
    #[error("auth type mismatch")]
    AuthTypeMismatch,
    /// VRRPv2 PASS password wrong.
    #[error("authentication failure")]
    AuthFailure,
    /// VRRPv2 advert interval differs from the configured one.
    #[error("advert interval mismatch")]
    IntervalMismatch,
    /// Type not ADVERTISEMENT.
    #[error("invalid VRRP packet type")]
    BadType,
    /// IPv4 `tot_len` disagrees with header + VRRP length.
    #[error("IP total length mismatch")]
    BadTotalLength,
    /// Advert interval zero (would make Master_Down_Interval skew-only).
    #[error("zero advert interval")]
    ZeroInterval,
    /// Checksum wrong.
    #[error("bad checksum")]
    BadChecksum,
    /// Multicast destination on a unicast instance, or the reverse.
    #[error("unexpected destination address")]
    BadDestination,
    /// Priority-255 instance with `owner_ignore_adverts`.
    #[error("address owner ignores adverts")]
    OwnerIgnoresAdverts,
    /// Unicast source not among the configured peers (`check_unicast_src`).
    #[error("unicast source is not a configured peer")]
    UnknownSource,
}

impl RxError {
    /// Every reason, in check order (the index of [`RxCounters`]).
    pub const ALL: [RxError; 27] = [
        RxError::IpTruncated,
        RxError::NotIpv4,
        RxError::Fragment,
        RxError::IpOptions,
        RxError::AhMalformed,
        RxError::WrongProtocol,
        RxError::VrrpTruncated,
        RxError::FamilyMismatch,
        RxError::UnknownVrid,
        RxError::BadLength,
        RxError::NoAddresses,
        RxError::BadTtl,
        RxError::AhMismatch,
        RxError::AhAuthFailure,
        RxError::AhReplay,
        RxError::VersionMismatch,
        RxError::BadAuthType,
        RxError::AuthTypeMismatch,
        RxError::AuthFailure,
        RxError::IntervalMismatch,
        RxError::BadType,
        RxError::BadTotalLength,
        RxError::ZeroInterval,
        RxError::BadChecksum,
        RxError::BadDestination,
        RxError::OwnerIgnoresAdverts,
        RxError::UnknownSource,
    ];

    /// Stable short name, for counters (`show stats`) and rate-limited logs.
    pub fn name(self) -> &'static str {
        match self {
            RxError::IpTruncated => "ip_truncated",
            RxError::NotIpv4 => "not_ipv4",
            RxError::Fragment => "fragment",
            RxError::IpOptions => "ip_options",
            RxError::AhMalformed => "ah_malformed",
            RxError::WrongProtocol => "wrong_protocol",
            RxError::VrrpTruncated => "vrrp_truncated",
            RxError::FamilyMismatch => "family_mismatch",
            RxError::UnknownVrid => "unknown_vrid",
            RxError::BadLength => "bad_length",
            RxError::NoAddresses => "no_addresses",
            RxError::BadTtl => "bad_ttl",
            RxError::AhMismatch => "ah_mismatch",
            RxError::AhAuthFailure => "ah_auth_failure",
            RxError::AhReplay => "ah_replay",
            RxError::VersionMismatch => "version_mismatch",
            RxError::BadAuthType => "bad_auth_type",
            RxError::AuthTypeMismatch => "auth_type_mismatch",
            RxError::AuthFailure => "auth_failure",
            RxError::IntervalMismatch => "interval_mismatch",
            RxError::BadType => "bad_type",
            RxError::BadTotalLength => "bad_total_length",
            RxError::ZeroInterval => "zero_interval",
            RxError::BadChecksum => "bad_checksum",
            RxError::BadDestination => "bad_destination",
            RxError::OwnerIgnoresAdverts => "owner_ignores_adverts",
            RxError::UnknownSource => "unknown_source",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|e| *e == self).unwrap_or(0)
    }
}

/// Something odd in an accepted packet: logged and counted, packet still used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxWarning {
    /// VRRPv3 interval differs from ours (RFC 5798: SHOULD log; the backup adopts it).
    IntervalMismatch,
    /// Address count or list differs from our VIPs.
    AddressListMismatch,
    /// VRRPv3 unicast checksum computed over the multicast group
    /// (keepalived <= 1.3.6), accepted as keepalived still does.
    OldUnicastChecksum,
    /// Sent from our own primary address: a looped-back copy, a duplicate
    /// address, or a forgery. The state machine ignores it.
    OwnAddress,
}

impl RxWarning {
    /// Every warning (the index of [`RxCounters`]).
    pub const ALL: [RxWarning; 4] = [
        RxWarning::IntervalMismatch,
        RxWarning::AddressListMismatch,
        RxWarning::OldUnicastChecksum,
        RxWarning::OwnAddress,
    ];

    /// Stable short name.
    pub fn name(self) -> &'static str {
        match self {
            RxWarning::IntervalMismatch => "v3_interval_mismatch",
            RxWarning::AddressListMismatch => "address_list_mismatch",
            RxWarning::OldUnicastChecksum => "old_unicast_checksum",
            RxWarning::OwnAddress => "own_address",
        }
    }

    fn bit(self) -> u8 {
        match self {
            RxWarning::IntervalMismatch => 1,
            RxWarning::AddressListMismatch => 2,
            RxWarning::OldUnicastChecksum => 4,
            RxWarning::OwnAddress => 8,
        }
    }
}

/// A set of [`RxWarning`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxWarnings(u8);

impl RxWarnings {
    fn insert(&mut self, w: RxWarning) {
        self.0 |= w.bit();
    }

    /// Whether `w` is in the set.
    pub fn contains(self, w: RxWarning) -> bool {
        self.0 & w.bit() != 0
    }

    /// The warnings in the set.
    pub fn iter(self) -> impl Iterator<Item = RxWarning> {
        RxWarning::ALL
            .into_iter()
            .filter(move |w| self.contains(*w))
    }
}

/// Per-reason packet counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Adverts that passed every check.
    pub accepted: u64,
    dropped: [u64; RxError::ALL.len()],
    warned: [u64; RxWarning::ALL.len()],
}

impl RxCounters {
    /// Count one dropped packet.
    pub fn record_drop(&mut self, e: RxError) {
        self.dropped[e.index()] += 1;
    }

    /// Count one accepted packet and its warnings.
    pub fn record_accept(&mut self, w: RxWarnings) {
        self.accepted += 1;
        for (i, warning) in RxWarning::ALL.iter().enumerate() {
            if w.contains(*warning) {
                self.warned[i] += 1;
            }
        }
    }

    /// Dropped packets for one reason.
    pub fn dropped(&self, e: RxError) -> u64 {
        self.dropped[e.index()]
    }

    /// Total dropped packets.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Accepted packets that carried warning `w`.
    pub fn warned(&self, w: RxWarning) -> u64 {
        let i = RxWarning::ALL.iter().position(|x| *x == w).unwrap_or(0);
        self.warned[i]
    }

    /// `(name, count)` for every drop reason and warning, in check order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RxError::ALL
            .iter()
            .zip(self.dropped.iter())
            .map(|(e, n)| (e.name(), *n))
            .chain(
                RxWarning::ALL
                    .iter()
                    .zip(self.warned.iter())
                    .map(|(w, n)| (w.name(), *n)),
            )
    }

    /// Add another set of counters (e.g. to total over instances).
    pub fn merge(&mut self, other: &RxCounters) {
        self.accepted += other.accepted;
        for (a, b) in self.dropped.iter_mut().zip(other.dropped.iter()) {
            *a += b;
        }
        for (a, b) in self.warned.iter_mut().zip(other.warned.iter()) {
            *a += b;
        }
    }
}

/// Parse what a raw IPv4 socket returns (the whole IP packet).
pub fn parse_ipv4(buf: &[u8]) -> Result<RxPacket<'_>, RxError> {
    let h = ipv4::parse_ipv4_header(buf).map_err(|e| match e {
        Ipv4Error::Truncated => RxError::IpTruncated,
        Ipv4Error::NotIpv4 => RxError::NotIpv4,
    })?;
    if h.fragmented {
        return Err(RxError::Fragment);
    }
    if h.header_len > ipv4::IPV4_HEADER_LEN {
        return Err(RxError::IpOptions);
    }
    let (header_len, ah) = match h.protocol {
        IPPROTO_VRRP => (h.header_len, None),
        IPPROTO_AH => {
            // keepalived's layout: next header VRRP, a 96-bit ICV (length field 4).
            let ah = buf.get(h.header_len..h.header_len + AH_LEN);
            if !ah.is_some_and(|a| a[0] == IPPROTO_VRRP && a[1] == 4) {
                return Err(RxError::AhMalformed);
            }
            (h.header_len + AH_LEN, Some(buf))
        }
        _ => return Err(RxError::WrongProtocol),
    };
    Ok(RxPacket {
        src: IpAddr::V4(h.src),
        dst: IpAddr::V4(h.dst),
        ttl: h.ttl,
        vrrp: &buf[header_len..],
        ipv4_lengths: Some((header_len, h.total_len)),
        ah,
    })
}

/// Wrap what a raw IPv6 socket returns: the payload, with the addresses and
/// hop limit from `recvmsg` (source address and `IPV6_PKTINFO` /
/// `IPV6_HOPLIMIT` ancillary data).
pub fn from_ipv6(payload: &[u8], src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> RxPacket<'_> {
    RxPacket {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: hop_limit,
        vrrp: payload,
        ipv4_lengths: None,
        ah: None,
    }
}

/// The VRID a packet claims, to pick the instance (`None` if too short).
pub fn peek_vrid(pkt: &RxPacket<'_>) -> Option<u8> {
    pkt.vrrp.get(1).copied()
}

/// An advert that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAdvert {
    /// IP source (the sender's primary address).
    pub src: IpAddr,
    /// The decoded advert.
    pub advert: Advert,
    /// Non-fatal findings.
    pub warnings: RxWarnings,
    /// Under AH: the sender's sequence number (the instance refuses a replay).
    pub ah_seq: Option<u32>,
}

fn ct_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Run keepalived's receive checks, in order, for the instance `cfg`.
///
/// `current_master` is the source of the adverts the instance currently
/// follows (for `skip_check_adv_addr`); `effective_priority` tells whether
/// `owner_ignore_adverts` applies.
pub fn check(
    cfg: &InstanceConfig,
    pkt: &RxPacket<'_>,
    effective_priority: u8,
    current_master: Option<IpAddr>,
) -> Result<CheckedAdvert, RxError> {
    let b = pkt.vrrp;
    if b.len() < HEADER_LEN {
        return Err(RxError::VrrpTruncated);
    }
    if b[1] != cfg.vrid {
        return Err(RxError::UnknownVrid);
    }
    let family = Family::of(pkt.src);
    if family != cfg.family || Family::of(pkt.dst) != family {
        return Err(RxError::FamilyMismatch);
    }
    // 1. length: what the packet's own version and count need.
    let pkt_version = Version::from_number(b[0] >> 4).unwrap_or(cfg.version);
    let naddr = usize::from(b[3]);
    let vrrp_len = if pkt_version == Version::V2 && family == Family::V6 {
        return Err(RxError::VersionMismatch);
    } else {
        Advert::wire_len(pkt_version, family, naddr)
    };
    // Bytes past the addresses (and auth data) mean the count disagrees with what is there;
    // for IPv4 the total-length check below says so, IPv6 has only the payload length.
    if b.len() < vrrp_len || (pkt.ipv4_lengths.is_none() && b.len() != vrrp_len) {
        return Err(RxError::BadLength);
    }
    // An instance with no VIPs (`no_virtual_ipaddress`) sends count 0 itself, as its peers do.
    if pkt_version == Version::V3 && naddr == 0 && !cfg.vips.is_empty() {
        return Err(RxError::NoAddresses);
    }
    let b = &b[..vrrp_len];
    // 2. TTL: 255 on multicast; per-peer window on unicast.
    let unicast = cfg.is_unicast();
    check_ttl(cfg, pkt, unicast)?;
    // 2b. AH: nothing else in the packet is trusted before its ICV verifies.
    let ah_seq = check_ah(cfg, pkt, unicast)?;
    // 3. version.
    if b[0] >> 4 != cfg.version.number() {
        return Err(RxError::VersionMismatch);
    }
    // 5. v2 auth and interval.
    if cfg.version == Version::V2 {
        check_v2_auth_and_interval(cfg, b)?;
    }
    // 6. type, IPv4 total length.
    if b[0] & 0x0f != TYPE_ADVERTISEMENT {
        return Err(RxError::BadType);
    }
    if let Some((hl, tot)) = pkt.ipv4_lengths {
        if usize::from(tot) != hl + vrrp_len {
            return Err(RxError::BadTotalLength);
        }
    }
    let advert = Advert::decode(b, family).map_err(|_| RxError::BadLength)?;
    // 7. v3 interval: logged only (zero refused: it would void the down timer).
    let mut warnings = RxWarnings::default();
    if advert.interval.centis() == 0 {
        return Err(RxError::ZeroInterval);
    }
    if cfg.version == Version::V3 && advert.interval != cfg.wire_interval() {
        warnings.insert(RxWarning::IntervalMismatch);
    }
    // 8. checksum.
    if let Some(w) = check_checksum(cfg, pkt, b, family, unicast)? {
        warnings.insert(w);
    }
    // 9. multicast destination iff multicast instance.
    if unicast == pkt.dst.is_multicast() {
        return Err(RxError::BadDestination);
    }
    // 10. owner ignoring adverts.
    if cfg.effective_owner_ignore_adverts() && effective_priority == 255 {
        return Err(RxError::OwnerIgnoresAdverts);
    }
    // 11. address list: warning only.
    let same_master = cfg.skip_check_adv_addr && current_master == Some(pkt.src);
    if !same_master && !same_addresses(cfg, &advert) {
        warnings.insert(RxWarning::AddressListMismatch);
    }
    // 12. unicast source.
    let ttl_limited = cfg
        .unicast_peers
        .iter()
        .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
    if unicast
        && (cfg.check_unicast_src || ttl_limited)
        && !cfg.unicast_peers.iter().any(|p| p.addr == pkt.src)
    {
        return Err(RxError::UnknownSource);
    }
    if pkt.src == cfg.primary_address {
        warnings.insert(RxWarning::OwnAddress);
    }
    Ok(CheckedAdvert {
        src: pkt.src,
        advert,
        warnings,
        ah_seq,
    })
}

/// Step 2: TTL 255 on multicast; the peer's window, if any, on unicast.
fn check_ttl(cfg: &InstanceConfig, pkt: &RxPacket<'_>, unicast: bool) -> Result<(), RxError> {
    if unicast {
        if let Some(peer) = cfg.unicast_peers.iter().find(|p| p.addr == pkt.src) {
            if peer.min_ttl.is_some_and(|m| pkt.ttl < m)
                || peer.max_ttl.is_some_and(|m| pkt.ttl > m)
            {
                return Err(RxError::BadTtl);
            }
        }
    } else if pkt.ttl != 255 {
        return Err(RxError::BadTtl);
    }
    Ok(())
}

/// Step 2b: an AH instance takes only AH packets whose ICV verifies with its key (TTL left
/// out for a unicast instance, as keepalived does); any other instance takes no AH packet.
fn check_ah(
    cfg: &InstanceConfig,
    pkt: &RxPacket<'_>,
    unicast: bool,
) -> Result<Option<u32>, RxError> {
    match (cfg.auth, pkt.ah) {
        (Auth::Ah { key, .. }, Some(whole)) => {
            let cover = if unicast {
                Cover::Unicast
            } else {
                Cover::Multicast
            };
            match ah::verify_ah(whole, &key, cover) {
                Ok(v) => Ok(Some(v.seq)),
                Err(AhError::BadIcv | AhError::Malformed) => Err(RxError::AhAuthFailure),
                Err(AhError::Truncated) => Err(RxError::AhMalformed),
            }
        }
        (Auth::Ah { .. }, None) | (_, Some(_)) => Err(RxError::AhMismatch),
        _ => Ok(None),
    }
}

/// Step 5 (VRRPv2 only): authentication type and password, then the advert interval.
/// `b` is exactly the VRRP message.
fn check_v2_auth_and_interval(cfg: &InstanceConfig, b: &[u8]) -> Result<(), RxError> {
    let auth_type = b[4];
    if auth_type > 2 {
        return Err(RxError::BadAuthType);
    }
    if auth_type != cfg.auth.auth_type() {
        return Err(RxError::AuthTypeMismatch);
    }
    if let Auth::Pass(want) = cfg.auth {
        let mut got = [0u8; 8];
        got.copy_from_slice(&b[b.len() - 8..]);
        if !ct_eq(&want, &got) {
            return Err(RxError::AuthFailure);
        }
    }
    if u16::from(b[5]) * 100 != cfg.wire_interval().centis() {
        return Err(RxError::IntervalMismatch);
    }
    Ok(())
}

/// Step 8: the checksum, accepting (with a warning) the old keepalived unicast checksum that
/// was computed over the multicast group.
fn check_checksum(
    cfg: &InstanceConfig,
    pkt: &RxPacket<'_>,
    b: &[u8],
    family: Family,
    unicast: bool,
) -> Result<Option<RxWarning>, RxError> {
    let pseudo = if cfg.version == Version::V2 || (cfg.v3_checksum_as_v2 && family == Family::V4) {
        PseudoHeader::None
    } else {
        PseudoHeader::v3(pkt.src, pkt.dst).unwrap_or(PseudoHeader::None)
    };
    let rfc = crate::packet::verify_checksum(b, pseudo);
    // Unicast VRRPv3 IPv4 with a pseudo-header: where the old-style checksum can differ.
    let old_applies = unicast && family == Family::V4 && pseudo != PseudoHeader::None;
    let old_style = || {
        PseudoHeader::v3(pkt.src, cfg.multicast_group)
            .is_some_and(|p| crate::packet::verify_checksum(b, p))
    };
    match cfg.unicast_checksum {
        // keepalived 2.2.7 with the flag set rejects the RFC checksum on unicast adverts.
        UnicastChecksum::Old if old_applies => {
            if old_style() {
                Ok(None)
            } else {
                Err(RxError::BadChecksum)
            }
        }
        _ if rfc => Ok(None),
        UnicastChecksum::Auto if old_applies && old_style() => {
            Ok(Some(RxWarning::OldUnicastChecksum))
        }
        _ => Err(RxError::BadChecksum),
    }
}

fn same_addresses(cfg: &InstanceConfig, advert: &Advert) -> bool {
    advert.addresses.len() == cfg.vips.len()
        && cfg.vips.iter().all(|v| advert.addresses.contains(&v.addr))
}
