//! The typed configuration, with keepalived's defaults already applied.
//!
//! Everything is `Serialize + Clone + PartialEq + Debug`: the daemon diffs the old and new model
//! on reload and dumps it as JSON (`vrrpd --dump-config`). Maps are `BTreeMap` so dumps are
//! stable. Times are `Duration`s with microsecond resolution, kept as written, dumped as seconds.

pub use crate::script::ScriptCommand;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

mod host;
pub use host::*;

/// Durations are dumped as seconds (`1.5`), not serde's `{secs, nanos}`.
fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// The whole configuration as the VRRP side sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Config {
    /// `global_defs`, with keepalived's defaults.
    pub global_defs: GlobalDefs,
    /// `vrrp_script` blocks by name (a duplicate name keeps the first, as keepalived).
    pub scripts: BTreeMap<String, VrrpScript>,
    /// `track_file` (`vrrp_track_file`) blocks by name.
    pub track_files: BTreeMap<String, TrackFile>,
    /// `vrrp_track_process` blocks by name.
    pub track_processes: BTreeMap<String, TrackProcess>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// The instances that passed the final checks.
    pub instances: Vec<Instance>,
    /// `static_ipaddress { }`: configured at start, never moved by VRRP.
    pub static_addresses: Vec<VirtualAddress>,
    /// `static_routes { }`.
    pub static_routes: Vec<Route>,
    /// `static_rules { }`.
    pub static_rules: Vec<Rule>,
    /// `track_group NAME { group { INSTANCE ... } }` blocks, in file order.
    pub track_groups: Vec<TrackGroup>,
    /// The top-level `instance NAME`: vrrpd names its nftables tables after it.
    pub instance: Option<String>,
    /// The top-level `net_namespace NAME`: the daemon runs in /run/netns/NAME.
    pub net_namespace: Option<String>,
    /// `garp_group { }` blocks that set a delay, in file order.
    pub garp_groups: Vec<GarpGroup>,
    /// `interface_up_down_delays { }`: per interface (the last line for one counts).
    pub interface_up_down_delays: BTreeMap<String, UpDownDelay>,
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A user with an optional group (`script_user`, `vrrp_script { user }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunAs {
    /// User name.
    pub user: String,
    /// Group name, if given.
    pub group: Option<String>,
}

/// `vrrp_notify_fifo` / `notify_fifo`: path and optional script reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    /// Path as written.
    pub path: String,
    /// User name.
    pub user: Option<String>,
    /// Group name, if given.
    pub group: Option<String>,
    /// Script run with the FIFO's events, if any.
    pub script: Option<ScriptCommand>,
}

/// `global_defs { }` (the parts the VRRP side uses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    /// `router_id`.
    pub router_id: Option<String>,
    /// `notification_email`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    #[serde(serialize_with = "secs")]
    /// `smtp_connect_timeout`.
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` / `smtp_alert_vrrp`: default for instances and groups.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `no_email_faults`.
    pub no_email_faults: bool,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `script_user`.
    pub script_user: Option<RunAs>,
    /// `vrrp_mcast_group4`.
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`.
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `vrrp_version`.
    pub vrrp_version: u8,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `nftables TABLE`: the name of the no_accept tables; `None` lets vrrpd derive it.
    pub nftables: Option<String>,
    /// `nftables_priority`: the no_accept chains' hook priority (keepalived's default -1).
    pub nftables_priority: i32,
    /// `nftables_counters`: a counter on every no_accept rule (any argument ignored, as in
    /// keepalived 2.2.7).
    pub nftables_counters: bool,
    /// `nftables_ifindex`: link-local VIPs keyed by interface index also for instances with
    /// `dont_track_primary` (which otherwise key them by interface name, as keepalived does).
    pub nftables_ifindex: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    #[serde(serialize_with = "secs")]
    /// `vrrp_garp_master_delay`.
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`.
    pub vrrp_garp_master_repeat: u32,
    #[serde(serialize_with = "opt_secs")]
    /// `vrrp_garp_lower_prio_delay`.
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    #[serde(serialize_with = "secs")]
    /// `vrrp_garp_master_refresh`.
    pub vrrp_garp_master_refresh: Duration,
    /// `vrrp_garp_master_refresh_repeat`.
    pub vrrp_garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "secs")]
    /// `vrrp_garp_interval`.
    pub vrrp_garp_interval: Duration,
    #[serde(serialize_with = "secs")]
    /// `vrrp_gna_interval`.
    pub vrrp_gna_interval: Duration,
    /// `vrrp_min_garp`.
    pub vrrp_min_garp: bool,
    /// `vrrp_garp_extra_if`: the instances' default for `garp_extra_if`.
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// `vrrp_down_timer_adverts`.
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: Option<bool>,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_owner_ignore_adverts`.
    pub vrrp_owner_ignore_adverts: Option<bool>,
    #[serde(serialize_with = "secs")]
    /// `vrrp_startup_delay`.
    pub vrrp_startup_delay: Duration,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `vmac_prefix`.
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix`: names the VMACs of VIPs (else `vmac_prefix`).
    pub vmac_addr_prefix: Option<String>,
    /// `log_unknown_vrids` (keepalived 2.2.7 ignores any argument: `false` turns it on too).
    pub log_unknown_vrids: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_notify_fifo`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `notify_fifo`.
    pub notify_fifo: Option<NotifyFifo>,
    /// `fifo_write_vrrp_states_on_reload`: the states are written to the FIFOs after a reload.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `vrrp_notify_priority_changes`.
    pub vrrp_notify_priority_changes: bool,
    /// `max_auto_priority`.
    pub max_auto_priority: Option<i32>,
    /// `random_seed`: the seed `${_RANDOM}` was expanded with, so a file reads the same way
    /// at every start and reload.
    pub random_seed: Option<u32>,
    /// `vrrp_process_name`: the VRRP process's name (its `comm`, 15 bytes).
    pub vrrp_process_name: Option<String>,
    /// `process_names`: keepalived's default process names (`keepalived_vrrp` here).
    pub process_names: bool,
    /// `disable_local_igmp`: no IGMP reports for link-local groups while vrrpd runs.
    pub disable_local_igmp: bool,
    #[serde(serialize_with = "secs")]
    /// `min_auto_priority_delay` (keepalived's default 1 s, written in microseconds).
    pub min_auto_priority_delay: Duration,
    /// `startup_script`.
    pub startup_script: Option<ScriptCommand>,
    /// `shutdown_script`.
    pub shutdown_script: Option<ScriptCommand>,
    #[serde(serialize_with = "secs")]
    /// `startup_script_timeout` (keepalived's default 10 s).
    pub startup_script_timeout: Duration,
    #[serde(serialize_with = "secs")]
    /// `shutdown_script_timeout` (keepalived's default 10 s).
    pub shutdown_script_timeout: Duration,
    #[serde(serialize_with = "secs")]
    /// `vrrp_delay_after_boot`: instances wait until the system has been up this long.
    pub vrrp_delay_after_boot: Duration,
    /// How the VRRP process itself runs (scheduling, memory, CPUs, umask).
    pub process: ProcessTuning,
}

/// `old_unicast_checksum`: the VRRPv3 IPv4 unicast checksum of keepalived before 1.3.6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OldUnicastChecksum {
    /// No keyword: RFC checksum sent, an old-style one accepted too.
    #[default]
    Auto,
    /// `old_unicast_checksum`: old-style sent and required.
    Always,
    /// `old_unicast_checksum never`: old-style adverts are checksum errors.
    Never,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            no_email_faults: false,
            enable_script_security: false,
            script_user: None,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            default_interface: None,
            vrrp_version: 2,
            vrrp_strict: false,
            nftables: None,
            nftables_priority: -1,
            nftables_counters: false,
            nftables_ifindex: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: None,
            vrrp_startup_delay: Duration::ZERO,
            dynamic_interfaces: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            log_unknown_vrids: false,
            v3_checksum_as_v2: false,
            vrrp_notify_fifo: None,
            notify_fifo: None,
            vrrp_notify_priority_changes: false,
            fifo_write_vrrp_states_on_reload: false,
            max_auto_priority: None,
            random_seed: None,
            vrrp_process_name: None,
            process_names: false,
            disable_local_igmp: false,
            min_auto_priority_delay: Duration::from_secs(1),
            startup_script: None,
            shutdown_script: None,
            startup_script_timeout: Duration::from_secs(10),
            shutdown_script_timeout: Duration::from_secs(10),
            vrrp_delay_after_boot: Duration::ZERO,
            process: ProcessTuning::default(),
        }
    }
}

/// `vrrp_script NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    /// Its name, as written after the keyword.
    pub name: String,
    /// Script run with the FIFO's events, if any.
    pub script: ScriptCommand,
    /// As written (vrrpd honours fractions; keepalived 2.2.7 only whole seconds).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// Kill the run after this long; keepalived's `0`/unset means `interval`, resolved here.
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// 0 = failure puts tracking instances in FAULT.
    pub weight: i32,
    /// `weight_reverse`.
    pub weight_reverse: bool,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// User name.
    pub user: Option<RunAs>,
    /// `init_fail`.
    pub init_fail: bool,
}

/// `track_file NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackFile {
    /// Its name, as written after the keyword.
    pub name: String,
    /// File it was written in.
    pub file: String,
    /// `weight` (1 when not written).
    pub weight: i32,
    /// `weight` was written: an address owner drops such a tracker, but zeroes the default.
    #[serde(skip)]
    pub weight_written: bool,
    /// `weight_reverse`.
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`.
    pub init_file: Option<(i64, bool)>,
}

/// How a `vrrp_track_process`'s parameters are compared with a process's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// No `param_match`: the arguments are exactly the parameters.
    Exact,
    /// `param_match partial`: the first arguments are the parameters, more may follow.
    Partial,
    /// `param_match initial`: as partial, and the last parameter may be a prefix.
    Initial,
}

/// `vrrp_track_process NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackProcess {
    /// Its name, as written after the keyword.
    pub name: String,
    /// `process NAME`: the process name (or with `full_command`, `argv[0]`).
    pub process: String,
    /// The words after the name on the `process` line.
    pub params: Vec<String>,
    /// `param_match`; parameters are compared when given or when `param_match` is written.
    pub param_match: Option<ParamMatch>,
    /// `weight` (keepalived's default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// `quorum`: fewest matching processes that count as up (default 1).
    pub quorum: u32,
    /// `quorum_max`: most matching processes that count as up (default no limit).
    pub quorum_max: Option<u32>,
    #[serde(serialize_with = "secs")]
    /// `fork_delay` (or `delay`).
    pub fork_delay: Duration,
    #[serde(serialize_with = "secs")]
    /// `terminate_delay` (or `delay`).
    pub terminate_delay: Duration,
    /// `full_command`: match `argv[0]` of /proc/PID/cmdline instead of the process name.
    pub full_command: bool,
}

/// `state MASTER|BACKUP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// `MASTER`.
    Master,
    /// `BACKUP`.
    Backup,
}

/// The address family of an instance (decided by its first VIP, or `native_ipv6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    #[serde(rename = "inet")]
    /// IPv4.
    V4,
    #[serde(rename = "inet6")]
    /// IPv6.
    V6,
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Authentication {
    /// Password, at most 8 bytes (keepalived truncates longer ones).
    Pass(String),
    /// IPsec AH (legacy); the key is the password, at most 8 bytes.
    Ah(String),
}

/// `brd` of a VIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Broadcast {
    /// An explicit address.
    Addr(IpAddr),
    /// `brd +`: host bits set.
    Plus,
    /// `brd -`: host bits clear.
    Minus,
}

/// One `virtual_ipaddress` / `static_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `dev`: the interface.
    pub dev: Option<String>,
    /// `brd`/`broadcast`.
    pub brd: Option<Broadcast>,
    /// `scope`.
    pub scope: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `peer`.
    pub peer: Option<IpAddr>,
    /// `home`.
    pub home: bool,
    /// `nodad`.
    pub nodad: bool,
    /// `mngtmpaddr`.
    pub mngtmpaddr: bool,
    /// `noprefixroute`.
    pub noprefixroute: bool,
    /// `autojoin`.
    pub autojoin: bool,
    /// `no_track`.
    pub no_track: bool,
    /// `preferred_lft` (`forever` = u32::MAX).
    pub preferred_lft: Option<u32>,
    /// `use_vmac`.
    pub use_vmac: bool,
    /// `track_group NAME` (static addresses only; a name defined earlier in the file).
    pub track_group: Option<String>,
}

/// `track_group NAME { group { INSTANCE ... } }`: the instances that a static route or rule
/// naming the group makes track its interface (down means FAULT, as keepalived 2.2.7 does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackGroup {
    /// The group's name.
    pub name: String,
    /// The instance names of its `group { }` block, as written.
    pub instances: Vec<String>,
}

/// An address with prefix (`198.18.0.0/15`), used by routes and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

/// One `virtual_routes` / `static_routes` line. Common fields are typed; `words` keeps the
/// whole line for the options vrrpd passes through to netlink as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, ... when given.
    pub route_type: Option<String>,
    /// Destination prefix.
    pub to: Option<Prefix>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// Gateway.
    pub via: Option<IpAddr>,
    /// `dev`: the interface.
    pub dev: Option<String>,
    /// Routing table, as written.
    pub table: Option<String>,
    /// Metric / priority.
    pub metric: Option<u32>,
    /// `no_track`.
    pub no_track: bool,
    /// `nexthop via ADDR [dev IF] [weight N]` entries of a multipath route.
    pub nexthops: Vec<Nexthop>,
    /// `track_group NAME` (static routes only; a name defined earlier in the file).
    pub track_group: Option<String>,
    /// The line's words as written (for options the model does not name).
    pub words: Vec<String>,
}

/// One `nexthop` of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    /// Gateway.
    pub via: Option<IpAddr>,
    /// `dev`: the interface.
    pub dev: Option<String>,
    /// `weight` (1..256), as `ip route` takes it.
    pub weight: Option<u16>,
}

/// One `virtual_rules` / `static_rules` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Source prefix.
    pub from: Option<Prefix>,
    /// Destination prefix.
    pub to: Option<Prefix>,
    /// Routing table, as written.
    pub table: Option<String>,
    /// Rule preference.
    pub preference: Option<u32>,
    /// `iif` / `dev`: the incoming interface.
    pub iif: Option<String>,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (static rules only; a name defined earlier in the file).
    pub track_group: Option<String>,
    /// The line's words as written (for options the model does not name).
    pub words: Vec<String>,
}

/// A tracked interface with its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    /// Its name, as written after the keyword.
    pub name: String,
    /// 0 = going down puts the instance in FAULT.
    pub weight: i32,
    /// `reverse`: the weight applies the other way round.
    pub reverse: bool,
}

/// A reference to a `vrrp_script` / `track_file` / `vrrp_track_process` with an optional weight override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    /// Its name, as written after the keyword.
    pub name: String,
    /// `None` = the tracked object's own weight.
    pub weight: Option<i32>,
    /// `reverse`: the weight applies the other way round.
    pub reverse: Option<bool>,
}

/// `unicast_peer` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    /// The address.
    pub addr: IpAddr,
    /// Lowest TTL/hop limit accepted from this peer.
    pub min_ttl: Option<u8>,
    /// Highest TTL/hop limit accepted from this peer.
    pub max_ttl: Option<u8>,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vmac {
    /// Interface name; `None` = `vrrp.<VRID>`.
    pub name: Option<String>,
    /// MAC address, if given.
    pub mac: Option<String>,
}

/// Notification scripts of an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<ScriptCommand>,
    /// `notify_backup`.
    pub backup: Option<ScriptCommand>,
    /// `notify_fault`.
    pub fault: Option<ScriptCommand>,
    /// `notify_stop`.
    pub stop: Option<ScriptCommand>,
    /// `notify_deleted`.
    pub deleted: Option<ScriptCommand>,
    /// `notify`: gets `INSTANCE|GROUP name STATE priority` appended.
    pub generic: Option<ScriptCommand>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<ScriptCommand>,
    /// `notify_deleted` given (with or without a script): removal at reload is notified as
    /// DELETED instead of STOP.
    pub send_deleted: bool,
}

/// `vrrp_instance NAME { }` with defaults resolved (globals applied, owner priority, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Its name, as written after the keyword.
    pub name: String,
    /// `state` as configured, `None` when not written.
    pub state: Option<InitialState>,
    /// `interface`.
    pub interface: Option<String>,
    /// `virtual_router_id`.
    pub virtual_router_id: u8,
    /// Base priority: 100 by default, 255 for `state MASTER` without `priority`.
    pub priority: u8,
    #[serde(serialize_with = "secs")]
    /// `advert_int`.
    pub advert_int: Duration,
    /// `version`.
    pub version: u8,
    /// Address family, decided by the first VIP (or `native_ipv6`).
    pub family: Family,
    /// `nopreempt`.
    pub nopreempt: bool,
    #[serde(serialize_with = "secs")]
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    /// `virtual_routes`.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules`.
    pub virtual_rules: Vec<Rule>,
    /// `track_interface`.
    pub track_interface: Vec<TrackInterface>,
    /// `track_script`.
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer`.
    pub unicast_peer: Vec<UnicastPeer>,
    /// `unicast_ttl`.
    pub unicast_ttl: u8,
    /// `kernel_rx_buf_size`: this instance's share of its receive socket's buffer (0 = none).
    pub kernel_rx_buf_size: u32,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `track_src_ip`.
    pub track_src_ip: bool,
    #[serde(serialize_with = "secs")]
    /// `garp_master_delay`.
    pub garp_master_delay: Duration,
    /// `garp_master_repeat`.
    pub garp_master_repeat: u32,
    #[serde(serialize_with = "secs")]
    /// `garp_master_refresh`.
    pub garp_master_refresh: Duration,
    /// `garp_master_refresh_repeat`.
    pub garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "secs")]
    /// `garp_lower_prio_delay`.
    pub garp_lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`.
    pub garp_lower_prio_repeat: u32,
    /// `garp_extra_if` (else `vrrp_garp_extra_if`); `None`: off (also `garp_extra_if 0`).
    pub garp_extra_if: Option<GarpExtraIf>,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `owner_ignore_adverts`.
    pub owner_ignore_adverts: bool,
    /// `down_timer_adverts`.
    pub down_timer_adverts: u32,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify`.
    pub notify: Notify,
    /// `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `use_vmac_addr`: every VIP on another interface than the instance's gets a VMAC there.
    pub use_vmac_addr: bool,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// RFC 5798 Accept_Mode; keepalived's default is on (off in strict mode unless owner).
    pub accept: bool,
    /// `strict_mode`.
    pub strict_mode: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `no_virtual_ipaddress`.
    pub no_virtual_ipaddress: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `old_unicast_checksum [never]`.
    pub old_unicast_checksum: OldUnicastChecksum,
    /// `timer_expired_backup`.
    pub timer_expired_backup: Option<u8>,
    /// Name of the sync group this instance belongs to.
    pub sync_group: Option<String>,
}

/// `vrrp_sync_group NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncGroup {
    /// Its name, as written after the keyword.
    pub name: String,
    /// Group name, if given.
    pub group: Vec<String>,
    /// `notify`.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `track_interface`.
    pub track_interface: Vec<TrackInterface>,
    /// `track_script`.
    pub track_script: Vec<TrackRef>,
    /// `track_file`.
    pub track_file: Vec<TrackRef>,
    /// `track_process`.
    pub track_process: Vec<TrackRef>,
    /// `sync_group_tracking_weight`.
    pub sync_group_tracking_weight: bool,
    /// `notify_priority_changes`.
    pub notify_priority_changes: bool,
}
