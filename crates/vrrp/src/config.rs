//! The per-instance configuration the state machine and receive checks use.
//!
//! The daemon maps keepalived-conf's model into this; defaults are
//! keepalived's, so a field left alone behaves as keepalived does.

use std::net::IpAddr;
use std::time::Duration;

use crate::packet::{AdvertInterval, Auth, Family, Version};

/// A virtual address: the address and its prefix length. What else the
/// daemon puts on the interface (dev, brd, scope, label) is its business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (default /32 or /128).
    pub prefix_len: u8,
}

impl Vip {
    /// A host address (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Vip { addr, prefix_len }
    }
}

/// State the instance wants at start (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// Start as BACKUP (keepalived's default).
    #[default]
    Backup,
    /// `state MASTER`: only an address owner (priority 255) starts as MASTER.
    Master,
}

/// One unicast peer with its optional TTL window (keepalived's
/// `unicast_peer { ADDR min_ttl N max_ttl N }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// Lowest TTL accepted from this peer.
    pub min_ttl: Option<u8>,
    /// Highest TTL accepted from this peer.
    pub max_ttl: Option<u8>,
}

impl UnicastPeer {
    /// A peer without TTL limits.
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        }
    }
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived's `garp_*` knobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// Delay of the second burst after becoming MASTER; zero = none (5 s).
    pub master_delay: Duration,
    /// Messages per VIP per burst (5).
    pub master_repeat: u32,
    /// Period of refresh bursts while MASTER; `None` = off.
    pub master_refresh: Option<Duration>,
    /// Messages per VIP per refresh (1).
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after a MASTER saw a lower-priority advert (5 s).
    pub lower_prio_delay: Duration,
    /// Messages per VIP per burst after a lower-priority advert (5).
    pub lower_prio_repeat: u32,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// A tracked object whose state changes the priority or causes FAULT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Name the daemon uses in [`crate::Event::TrackerChanged`].
    pub name: String,
    /// keepalived's weight: > 0 adds while up, < 0 subtracts while down,
    /// 0 puts the instance in FAULT while down.
    pub weight: i32,
    /// Negate the weight; it still applies under the same condition (keepalived's `reverse`).
    pub reverse: bool,
}

/// Opt-in failover speed-ups. All off by default, which is
/// keepalived's exact behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FastFailover {
    /// A MASTER whose effective priority changes sends an advert at once
    /// instead of at the next interval.
    pub immediate_advert_on_priority_change: bool,
    /// A preemptive BACKUP (no `preempt_delay`) that sees the master it
    /// follows advertise a priority below its own takes over after
    /// `fast_preempt_delay` instead of waiting out Master_Down_Interval.
    pub fast_preempt: bool,
    /// Delay for `fast_preempt` (zero = at once). With `fast_preempt` a node taking over also
    /// adds its VIPs and sends gratuitous ARP/NA before its first advert (make before break).
    pub fast_preempt_delay: Duration,
    /// Anti-flap hold time: a MASTER advertises a lowered priority only once
    /// it has lasted this long, and a BACKUP preempts only once its own
    /// priority has been steady this long. Zero = off.
    pub hold_time: Duration,
    /// A MASTER that yields to a higher-priority advert keeps its VIPs this long before it
    /// removes them, so packets of connections clients opened just before the hand-over
    /// still find the address (the new master has already sent gratuitous ARP). Zero =
    /// keepalived's immediate removal.
    pub release_delay: Duration,
}

/// Everything one VRRP instance needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    /// Instance name (for logs and transition reasons).
    pub name: String,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// Address family.
    pub family: Family,
    /// Base priority, 1..=255 (255 = address owner).
    pub priority: u8,
    /// Advertisement interval (rounded per version, see [`AdvertInterval`]).
    pub advert_interval: Duration,
    /// `state MASTER|BACKUP`.
    pub initial_state: InitialState,
    /// Preempt a lower-priority master (keepalived default true).
    pub preempt: bool,
    /// `preempt_delay`: after start or after seeing a lower-priority master,
    /// keep following it this long before preempting.
    pub preempt_delay: Duration,
    /// The address adverts are sent from and compared by in tie-breaks
    /// (`unicast_src_ip`/`mcast_src_ip`, else the interface's primary
    /// address, IPv6: its link-local).
    pub primary_address: IpAddr,
    /// Advertised virtual addresses.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`: configured when MASTER, not advertised.
    pub excluded_vips: Vec<Vip>,
    /// VRRPv2 authentication (`None` or PASS).
    pub auth: Auth,
    /// Unicast peers; empty = multicast.
    pub unicast_peers: Vec<UnicastPeer>,
    /// Drop unicast adverts whose source is not a configured peer.
    pub check_unicast_src: bool,
    /// Multicast destination group.
    pub multicast_group: IpAddr,
    /// Accept mode (keepalived default true). Not used by the state machine:
    /// the daemon installs the DROP rules for `no_accept`.
    pub accept: bool,
    /// `vrrp_strict`. Here it implies `lower_prio_no_advert` and
    /// `owner_ignore_adverts` (as keepalived enforces); its other rules are
    /// configuration checks and firewall rules, which are the daemon's.
    pub strict: bool,
    /// GARP / NA schedule.
    pub garp: GarpConfig,
    /// `down_timer_adverts` (3).
    pub down_timer_adverts: u32,
    /// MASTER does not answer lower-priority adverts (RFC behaviour).
    pub lower_prio_no_advert: bool,
    /// MASTER sends one advert before yielding to a higher one.
    pub higher_prio_send_advert: bool,
    /// A priority-255 instance ignores received adverts.
    pub owner_ignore_adverts: bool,
    /// Compare a BACKUP's received VIP list only when the master changes.
    pub skip_check_adv_addr: bool,
    /// VRRPv3 IPv4 checksum without the pseudo-header.
    pub v3_checksum_as_v2: bool,
    /// `old_unicast_checksum`: which checksum VRRPv3 unicast IPv4 adverts carry and accept.
    pub unicast_checksum: UnicastChecksum,
    /// Own interface going down does not cause FAULT.
    pub dont_track_primary: bool,
    /// `timer_expired_backup PRIO`: without preemption, an instance whose own timer fires so
    /// late that a router of priority PRIO would have declared it down (a scheduling stall)
    /// goes, or stays, BACKUP instead of acting on the stale timer. See [`crate::timers::stalled`].
    pub timer_expired_backup: Option<u8>,
    /// Trackers (scripts, files, interfaces, processes) by name.
    pub trackers: Vec<TrackerConfig>,
    /// Opt-in failover speed-ups.
    pub fast_failover: FastFailover,
}

/// The VRRPv3 IPv4 unicast checksum (keepalived's `old_unicast_checksum`): keepalived before
/// 1.3.6 put the multicast group, not the peer, in the pseudo-header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnicastChecksum {
    /// RFC checksum sent; an old-style one is accepted too (with a warning), as keepalived
    /// 2.2.7 does without the keyword. Sending stays RFC, as keepalived's does.
    #[default]
    Auto,
    /// `old_unicast_checksum`: old-style sent, and only old-style accepted.
    Old,
    /// `old_unicast_checksum never`: RFC only; old-style adverts are checksum errors.
    Never,
}

/// A configuration the state machine cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// VRID 0.
    #[error("virtual_router_id must be 1..255")]
    BadVrid,
    /// Priority 0.
    #[error("priority must be 1..255")]
    BadPriority,
    /// VRRPv2 with IPv6.
    #[error("VRRPv2 is IPv4 only")]
    V2WithIpv6,
    /// An address of the wrong family.
    #[error("{0} is not of the instance's address family")]
    WrongFamily(IpAddr),
    /// Auth on v3, AH on IPv6, or a raw auth type.
    #[error("authentication {0}")]
    Auth(&'static str),
    /// More than 255 advertised VIPs.
    #[error("{0} VIPs do not fit in one advert (max 255)")]
    TooManyVips(usize),
    /// `down_timer_adverts` outside 1..=100.
    #[error("down_timer_adverts must be 1..100")]
    BadDownTimerAdverts,
    /// Multicast group that is not multicast.
    #[error("multicast group {0} is not a multicast address")]
    NotMulticast(IpAddr),
    /// A reload changed what identifies the instance (VRID, version, family).
    #[error("VRID, version or address family changed: not the same instance")]
    Incompatible,
}

impl InstanceConfig {
    /// A configuration with keepalived's defaults: priority 100, 1 s,
    /// BACKUP, preempt, no auth, multicast, accept, GARP 5 + 5 after 5 s.
    pub fn new(
        name: impl Into<String>,
        vrid: u8,
        version: Version,
        primary_address: IpAddr,
    ) -> Self {
        let family = Family::of(primary_address);
        InstanceConfig {
            name: name.into(),
            vrid,
            version,
            family,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary_address,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            auth: Auth::None,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            multicast_group: family.multicast_group(),
            accept: true,
            strict: false,
            garp: GarpConfig::default(),
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            skip_check_adv_addr: false,
            v3_checksum_as_v2: false,
            unicast_checksum: UnicastChecksum::Auto,
            dont_track_primary: false,
            timer_expired_backup: None,
            trackers: Vec::new(),
            fast_failover: FastFailover::default(),
        }
    }

    /// Check the invariants the state machine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::BadVrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::BadPriority);
        }
        if self.version == Version::V2 && self.family == Family::V6 {
            return Err(ConfigError::V2WithIpv6);
        }
        let family_ok = |a: IpAddr| Family::of(a) == self.family;
        if !family_ok(self.primary_address) {
            return Err(ConfigError::WrongFamily(self.primary_address));
        }
        if let Some(v) = self.vips.iter().find(|v| !family_ok(v.addr)) {
            return Err(ConfigError::WrongFamily(v.addr));
        }
        if let Some(p) = self.unicast_peers.iter().find(|p| !family_ok(p.addr)) {
            return Err(ConfigError::WrongFamily(p.addr));
        }
        if self.vips.len() > 255 {
            return Err(ConfigError::TooManyVips(self.vips.len()));
        }
        match self.auth {
            Auth::None => {}
            Auth::Pass(_) if self.version == Version::V2 => {}
            Auth::Pass(_) => return Err(ConfigError::Auth("PASS is VRRPv2 only")),
            Auth::Ah { .. } if self.version == Version::V2 && self.family == Family::V4 => {}
            Auth::Ah { .. } => return Err(ConfigError::Auth("AH is VRRPv2 over IPv4 only")),
            Auth::Raw { .. } => return Err(ConfigError::Auth("only PASS and AH are configurable")),
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ConfigError::BadDownTimerAdverts);
        }
        if !self.multicast_group.is_multicast() || !family_ok(self.multicast_group) {
            return Err(ConfigError::NotMulticast(self.multicast_group));
        }
        Ok(())
    }

    /// The configured interval as it goes on the wire.
    pub fn wire_interval(&self) -> AdvertInterval {
        AdvertInterval::from_duration(self.version, self.advert_interval)
    }

    /// Whether adverts go to unicast peers.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// `lower_prio_no_advert`, or implied by strict mode.
    pub fn effective_lower_prio_no_advert(&self) -> bool {
        self.lower_prio_no_advert || self.strict
    }

    /// `owner_ignore_adverts`, or implied by strict mode.
    pub fn effective_owner_ignore_adverts(&self) -> bool {
        self.owner_ignore_adverts || self.strict
    }

    /// Whether this instance is the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}
