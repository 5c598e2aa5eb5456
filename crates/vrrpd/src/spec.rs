//! What the daemon runs, independent of how it was written down: each VRRP instance with its
//! interface, the protocol configuration for the `vrrp` state machine and the system details
//! (VIP attributes, routes and rules, source address) that only the I/O shell cares about. Built from
//! keepalived.conf by [`crate::conf`]; compared field by field on reload to decide which
//! instances keep running untouched.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::control::TrackerKind;

/// What a tracker follows. The `vrrp` state machine knows trackers by a string only
/// ([`TrackerId::key`]); the daemon knows them by this.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrackerId {
    /// A `vrrp_script`.
    Script(String),
    /// A `track_file` (files and scripts may share names).
    File(String),
    /// A `track_interface`.
    Interface(String),
    /// A `vrrp_track_process`.
    Process(String),
}

impl TrackerId {
    /// The name given to the `vrrp` state machine (and shown in logs).
    pub fn key(&self) -> String {
        match self {
            TrackerId::Script(n) => n.clone(),
            TrackerId::File(n) => format!("file:{n}"),
            TrackerId::Interface(n) => format!("interface:{n}"),
            TrackerId::Process(n) => format!("process:{n}"),
        }
    }

    /// The configured name of the script, file or interface.
    pub fn name(&self) -> &str {
        match self {
            TrackerId::Script(n)
            | TrackerId::File(n)
            | TrackerId::Interface(n)
            | TrackerId::Process(n) => n,
        }
    }

    /// The kind, as the control socket reports it.
    pub fn kind(&self) -> TrackerKind {
        match self {
            TrackerId::Script(_) => TrackerKind::Script,
            TrackerId::File(_) => TrackerKind::File,
            TrackerId::Interface(_) => TrackerKind::Interface,
            TrackerId::Process(_) => TrackerKind::Process,
        }
    }
}

/// Everything one daemon runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DaemonSpec {
    /// Every `vrrp_instance`.
    pub instances: Vec<InstanceSpec>,
    /// Every `vrrp_sync_group`.
    pub groups: Vec<GroupSpec>,
    /// Pause between two gratuitous ARPs on one interface (`vrrp_garp_interval`).
    pub garp_interval: Duration,
    /// Pause between two unsolicited NAs on one interface (`vrrp_gna_interval`).
    pub gna_interval: Duration,
    /// `garp_group` blocks: interfaces paced together at their own pauses.
    pub garp_groups: Vec<keepalived_conf::GarpGroup>,
    /// `log_unknown_vrids`: adverts for VRIDs no instance owns on their interface are logged.
    pub log_unknown_vrids: bool,
    /// `nftables_priority`, `nftables_counters`, `nftables_ifindex`.
    pub nft_options: crate::net::nft::NftOptions,
    /// Shown in dumps and passed to alerts.
    pub router_id: Option<String>,
    /// The model it came from: scripts, notify, mail, `show config`.
    pub conf: Option<std::sync::Arc<keepalived_conf::Config>>,
    /// `static_ipaddress`, `static_routes`, `static_rules`: installed at start, never moved.
    pub statics: StaticSpec,
    /// Instances of the file that do not run (a `--start-partial` start, or an instance that
    /// could not be built): `show status` names each with why.
    pub down: Vec<DownInstance>,
}

/// A `vrrp_instance` of the file that is not running, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct DownInstance {
    /// The instance's name in the file.
    pub name: String,
    /// The file:line diagnostic that kept it from running.
    pub reason: String,
}

impl std::fmt::Display for DownInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vrrp_instance {}: {}", self.name, self.reason)
    }
}

/// The static addresses, routes and rules (removed at stop, as keepalived does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticSpec {
    /// `static_ipaddress`.
    pub addresses: Vec<Vip>,
    /// `static_routes`.
    pub routes: Vec<RouteSpec>,
    /// `static_rules`.
    pub rules: Vec<RuleSpec>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// The instance's name.
    pub name: String,
    /// Interface adverts go out on.
    pub interface: String,
    /// Protocol configuration. `primary_address` is a placeholder until the daemon has looked
    /// at the interface (see [`InstanceSpec::source`]).
    pub vrrp: vrrp::InstanceConfig,
    /// `unicast_src_ip` / `mcast_src_ip`; otherwise the interface's primary IPv4 address or
    /// its IPv6 link-local.
    pub source: Option<IpAddr>,
    /// TTL / hop limit of unicast adverts.
    pub unicast_ttl: u8,
    /// This instance's share of its receive socket's buffer.
    pub rx_buf: RxBufShare,
    /// Advertised VIPs with their system attributes, in configuration order.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`.
    pub excluded: Vec<Vip>,
    /// `virtual_routes` installed while MASTER.
    pub routes: Vec<RouteSpec>,
    /// `virtual_rules` installed while MASTER.
    pub rules: Vec<RuleSpec>,
    /// What each of `vrrp.trackers` follows, in the same order (the no-peer tracker of
    /// [`NO_UNICAST_PEER`], last, excepted).
    pub trackers: Vec<TrackerId>,
    /// `use_vmac`: the macvlan the VIPs (and, unless `vmac_xmit_base`, the adverts) use.
    pub vmac: Option<crate::net::vmac::VmacSpec>,
    /// VMACs that carry VIPs only (a VIP's `use_vmac`, the instance's `use_vmac_addr`).
    pub vip_vmacs: Vec<crate::net::vmac::VmacSpec>,
    /// `unicast_fault_no_peer` without peers: the instance is held in FAULT.
    pub fault_no_peer: bool,
    /// `promote_secondaries`: the interface whose promote_secondaries sysctl is set to 1.
    pub promote_secondaries: Option<String>,
    /// `garp_extra_if` (or `vrrp_garp_extra_if`): see `daemon::extra_garp`.
    pub garp_extra_if: Option<keepalived_conf::GarpExtraIf>,
}

/// An instance's part of its advert receive socket's SO_RCVBUF, which is the sum over the
/// instances sharing the socket (keepalived's rule, measured in the lab): `kernel_rx_buf_size`,
/// else `vrrp_rx_bufs_policy` (MTU or advert size times `vrrp_rx_bufs_multiplier`, or bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RxBufShare {
    /// Nothing: with no share on a socket it keeps the kernel's default.
    #[default]
    None,
    /// So many bytes.
    Bytes(u64),
    /// The interface MTU times this.
    MtuTimes(u64),
}

impl RxBufShare {
    /// The bytes, given the interface's MTU.
    pub fn bytes(self, mtu: u32) -> u64 {
        match self {
            RxBufShare::None => 0,
            RxBufShare::Bytes(b) => b,
            RxBufShare::MtuTimes(m) => m * u64::from(mtu),
        }
    }

    /// keepalived's share for an instance: its own `kernel_rx_buf_size`, else the policy's.
    /// An advert is counted as its IP packet: IPv4 header, VRRP header, (VRRPv2) the 8 bytes
    /// of authentication data, and the addresses.
    pub fn of(
        p: &keepalived_conf::ProcessTuning,
        own: u32,
        v6: bool,
        v2: bool,
        vips: usize,
    ) -> Self {
        if own > 0 {
            return RxBufShare::Bytes(u64::from(own));
        }
        let times = u64::from(p.rx_bufs_multiplier.unwrap_or(3));
        let advert = if v6 {
            40 + 8 + 16 * vips as u64
        } else {
            20 + 8 + if v2 { 8 } else { 0 } + 4 * vips as u64
        };
        match p.rx_bufs_policy {
            None | Some(keepalived_conf::RxBufsPolicy::Bytes(0)) => RxBufShare::None,
            Some(keepalived_conf::RxBufsPolicy::Bytes(b)) => RxBufShare::Bytes(u64::from(b)),
            Some(keepalived_conf::RxBufsPolicy::Mtu) => RxBufShare::MtuTimes(times),
            Some(keepalived_conf::RxBufsPolicy::Advert) => RxBufShare::Bytes(advert * times),
        }
    }
}

/// The state machine's name of the tracker that holds a peerless unicast instance in FAULT.
pub const NO_UNICAST_PEER: &str = "unicast_fault_no_peer";

impl InstanceSpec {
    /// An instance with nothing but a name, an interface and a VRID: no VIPs, trackers or
    /// VMACs, VRRPv2 defaults (a stand-in entry, and the base of tests' specs).
    pub fn bare(name: &str, interface: &str, vrid: u8) -> Self {
        InstanceSpec {
            name: name.into(),
            interface: interface.into(),
            vrrp: vrrp::InstanceConfig::new(
                name,
                vrid,
                vrrp::Version::V2,
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ),
            source: None,
            unicast_ttl: 255,
            rx_buf: RxBufShare::None,
            vips: Vec::new(),
            excluded: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            trackers: Vec::new(),
            vmac: None,
            vip_vmacs: Vec::new(),
            fault_no_peer: false,
            promote_secondaries: None,
            garp_extra_if: None,
        }
    }

    /// The interfaces this instance tracks (`track_interface`, its own excepted).
    pub fn tracked_interfaces(&self) -> impl Iterator<Item = &str> {
        self.trackers.iter().filter_map(|t| match t {
            TrackerId::Interface(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Whether this instance speaks IPv6.
    pub fn is_v6(&self) -> bool {
        self.vrrp.family == vrrp::Family::V6
    }

    /// The system description of a VIP the state machine names by address.
    pub fn vip_for(&self, addr: IpAddr) -> Option<&Vip> {
        self.vips
            .iter()
            .chain(self.excluded.iter())
            .find(|v| v.addr == addr)
    }
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// The group's name.
    pub name: String,
    /// The member instances, in config order.
    pub members: Vec<String>,
}

/// A virtual address as keepalived's `virtual_ipaddress` line describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length (`/32` or `/128` when not written).
    pub prefix_len: u8,
    /// Interface the address goes on.
    pub ifname: String,
    /// `brd`.
    pub broadcast: Broadcast,
    /// `RT_SCOPE_*` value; None = universe (global).
    pub scope: Option<u8>,
    /// `label`.
    pub label: Option<String>,
    /// `peer ADDR`: the address of the other end of a point-to-point link.
    pub peer: Option<IpAddr>,
    /// `noprefixroute`, `home`, `nodad`, `mngtmpaddr`: the kernel's address flags.
    pub noprefixroute: bool,
    /// `home`: the address is the home address (Mobile IPv6).
    pub home: bool,
    /// `nodad`: skip duplicate address detection.
    pub nodad: bool,
    /// `mngtmpaddr`: use as a template for temporary addresses.
    pub mngtmpaddr: bool,
    /// `autojoin`: a multicast address whose group the kernel joins on the interface.
    pub autojoin: bool,
    /// `preferred_lft` in seconds (IPv6 only, as keepalived applies it; forever = u32::MAX).
    pub preferred_lft: Option<u32>,
    /// `no_track`: neither its interface going down nor its deletion moves the instance.
    /// Not an address property, so not in the dumps.
    #[serde(skip)]
    pub no_track: bool,
}

impl Vip {
    /// An address with no options: no broadcast, universe scope, no label, peer or flags.
    pub fn plain(addr: IpAddr, prefix_len: u8, ifname: &str) -> Self {
        Vip {
            addr,
            prefix_len,
            ifname: ifname.to_string(),
            broadcast: Broadcast::None,
            scope: None,
            label: None,
            peer: None,
            noprefixroute: false,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            autojoin: false,
            preferred_lft: None,
            no_track: false,
        }
    }
}

/// keepalived's `brd ADDR|+|-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Broadcast {
    /// No broadcast address.
    None,
    /// `brd +`: host part all ones.
    Derived,
    /// `brd ADDR`.
    Addr(Ipv4Addr),
}

/// A `virtual_routes` line in the subset vrrpd installs: `[TYPE] to PREFIX [via GW] [dev IF]
/// [src ADDR] [table N] [metric N]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteSpec {
    /// The destination.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// `via`: the gateway.
    pub via: Option<IpAddr>,
    /// `dev`: the outgoing interface.
    pub dev: Option<String>,
    /// `src`: the preferred source address.
    pub src: Option<IpAddr>,
    /// `table` (254, main, when not written).
    pub table: u32,
    /// `metric`.
    pub metric: Option<u32>,
    /// `blackhole`, `unreachable` or `prohibit` instead of a unicast route.
    pub kind: RouteKind,
    /// Multipath: `nexthop via ADDR [dev IF] [weight N]` (empty for a single path).
    pub nexthops: Vec<NexthopSpec>,
}

/// One path of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NexthopSpec {
    /// `via`: this path's gateway.
    pub via: Option<IpAddr>,
    /// `dev`: this path's interface.
    pub dev: Option<String>,
    /// 1..=256 as written.
    pub weight: u16,
}

/// The route type written before `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RouteKind {
    /// An ordinary route.
    Unicast,
    /// `blackhole`: drop silently.
    Blackhole,
    /// `unreachable`: drop with host unreachable.
    Unreachable,
    /// `prohibit`: drop with administratively prohibited.
    Prohibit,
}

/// `table` names as `ip route` knows them without /etc/iproute2.
pub fn table_number(name: &str) -> Option<u32> {
    match name {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

/// A `virtual_rules` line in the subset vrrpd installs: `[from PREFIX] [to PREFIX]
/// [table N] [preference N]` (lookup in `table`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleSpec {
    /// `from PREFIX`.
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`.
    pub to: Option<(IpAddr, u8)>,
    /// The table looked up.
    pub table: u32,
    /// `preference`.
    pub priority: Option<u32>,
    /// `iif` / `dev`: the incoming interface.
    pub iif: Option<String>,
}

impl RuleSpec {
    /// Whether the rule matches IPv6 prefixes.
    pub fn is_v6(&self) -> bool {
        self.from.or(self.to).is_some_and(|(a, _)| a.is_ipv6())
    }
}

#[cfg(test)]
mod rx_buf_tests {
    use super::RxBufShare;
    use keepalived_conf::{ProcessTuning, RxBufsPolicy};

    #[test]
    fn an_instances_share_is_its_own_size_else_the_policys() {
        let none = ProcessTuning::default();
        assert_eq!(RxBufShare::of(&none, 0, false, true, 1), RxBufShare::None);
        assert_eq!(
            RxBufShare::of(&none, 5000, false, true, 1).bytes(1500),
            5000
        );
        let p = |policy| ProcessTuning {
            rx_bufs_policy: Some(policy),
            ..Default::default()
        };
        assert_eq!(
            RxBufShare::of(&p(RxBufsPolicy::Mtu), 0, false, true, 1).bytes(1500),
            4500
        );
        // VRRPv2 IPv4: 20 + 8 + 8 + 4 per address; VRRPv3 IPv6: 40 + 8 + 16 per address.
        assert_eq!(
            RxBufShare::of(&p(RxBufsPolicy::Advert), 0, false, true, 2).bytes(0),
            3 * 44
        );
        assert_eq!(
            RxBufShare::of(&p(RxBufsPolicy::Advert), 0, true, false, 1).bytes(0),
            3 * 64
        );
        assert_eq!(
            RxBufShare::of(&p(RxBufsPolicy::Bytes(0)), 0, false, true, 1),
            RxBufShare::None
        );
    }
}
