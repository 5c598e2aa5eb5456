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
    pub global_defs: GlobalDefs,
    /// `vrrp_script` blocks by name (a duplicate name keeps the first, as keepalived).
    pub scripts: BTreeMap<String, VrrpScript>,
    /// `track_file` (`vrrp_track_file`) blocks by name.
    pub track_files: BTreeMap<String, TrackFile>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<Instance>,
    /// `static_ipaddress { }`: configured at start, never moved by VRRP.
    pub static_addresses: Vec<VirtualAddress>,
    /// `static_routes { }`.
    pub static_routes: Vec<Route>,
    /// `static_rules { }`.
    pub static_rules: Vec<Rule>,
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

/// A user with an optional group (`script_user`, `vrrp_script { user }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunAs {
    pub user: String,
    pub group: Option<String>,
}

/// `vrrp_notify_fifo` / `notify_fifo`: path and optional script reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub script: Option<ScriptCommand>,
}

/// `global_defs { }` (the parts the VRRP side uses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    #[serde(serialize_with = "secs")]
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` / `smtp_alert_vrrp`: default for instances and groups.
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub no_email_faults: bool,
    pub enable_script_security: bool,
    pub script_user: Option<RunAs>,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub default_interface: Option<String>,
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_master_delay: Duration,
    pub vrrp_garp_master_repeat: u32,
    #[serde(serialize_with = "opt_secs")]
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_master_refresh: Duration,
    pub vrrp_garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_interval: Duration,
    #[serde(serialize_with = "secs")]
    pub vrrp_gna_interval: Duration,
    pub vrrp_min_garp: bool,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: Option<bool>,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_owner_ignore_adverts: Option<bool>,
    #[serde(serialize_with = "secs")]
    pub vrrp_startup_delay: Duration,
    pub dynamic_interfaces: bool,
    pub vmac_prefix: Option<String>,
    pub v3_checksum_as_v2: bool,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_priority_changes: bool,
    pub max_auto_priority: Option<i32>,
    pub startup_script: Option<ScriptCommand>,
    pub shutdown_script: Option<ScriptCommand>,
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
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: false,
            vrrp_owner_ignore_adverts: None,
            vrrp_startup_delay: Duration::ZERO,
            dynamic_interfaces: false,
            vmac_prefix: None,
            v3_checksum_as_v2: false,
            vrrp_notify_fifo: None,
            notify_fifo: None,
            vrrp_notify_priority_changes: false,
            max_auto_priority: None,
            startup_script: None,
            shutdown_script: None,
        }
    }
}

/// `vrrp_script NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: ScriptCommand,
    /// As written (vrrpd honours fractions; keepalived 2.2.7 only whole seconds).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// Kill the run after this long; keepalived's `0`/unset means `interval`, resolved here.
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// 0 = failure puts tracking instances in FAULT.
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<RunAs>,
    pub init_fail: bool,
}

/// `track_file NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub file: String,
    pub weight: i32,
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`.
    pub init_file: Option<(i64, bool)>,
}

/// `state MASTER|BACKUP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    Backup,
}

/// The address family of an instance (decided by its first VIP, or `native_ipv6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    #[serde(rename = "inet")]
    V4,
    #[serde(rename = "inet6")]
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
    Addr(IpAddr),
    /// `brd +`: host bits set.
    Plus,
    /// `brd -`: host bits clear.
    Minus,
}

/// One `virtual_ipaddress` / `static_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub dev: Option<String>,
    pub brd: Option<Broadcast>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    pub preferred_lft: Option<u32>,
    pub use_vmac: bool,
}

/// An address with prefix (`198.18.0.0/15`), used by routes and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// One `virtual_routes` / `static_routes` line. Common fields are typed; `words` keeps the
/// whole line for the options vrrpd passes through to netlink as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, ... when given.
    pub route_type: Option<String>,
    pub to: Option<Prefix>,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub table: Option<String>,
    pub metric: Option<u32>,
    pub no_track: bool,
    pub words: Vec<String>,
}

/// One `virtual_rules` / `static_rules` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub from: Option<Prefix>,
    pub to: Option<Prefix>,
    pub table: Option<String>,
    pub preference: Option<u32>,
    pub no_track: bool,
    pub words: Vec<String>,
}

/// A tracked interface with its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    pub name: String,
    /// 0 = going down puts the instance in FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// A reference to a `vrrp_script` / `track_file` with an optional weight override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    pub name: String,
    /// `None` = the tracked object's own weight.
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
}

/// `unicast_peer` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vmac {
    /// Interface name; `None` = `vrrp.<VRID>`.
    pub name: Option<String>,
    pub mac: Option<String>,
}

/// Notification scripts of an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Notify {
    pub master: Option<ScriptCommand>,
    pub backup: Option<ScriptCommand>,
    pub fault: Option<ScriptCommand>,
    pub stop: Option<ScriptCommand>,
    pub deleted: Option<ScriptCommand>,
    /// `notify`: gets `INSTANCE|GROUP name STATE priority` appended.
    pub generic: Option<ScriptCommand>,
    pub master_rx_lower_pri: Option<ScriptCommand>,
}

/// `vrrp_instance NAME { }` with defaults resolved (globals applied, owner priority, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    pub name: String,
    /// `state` as configured, `None` when not written.
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub virtual_router_id: u8,
    /// Base priority: 100 by default, 255 for `state MASTER` without `priority`.
    pub priority: u8,
    #[serde(serialize_with = "secs")]
    pub advert_int: Duration,
    pub version: u8,
    pub family: Family,
    pub nopreempt: bool,
    #[serde(serialize_with = "secs")]
    pub preempt_delay: Duration,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<VirtualAddress>,
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: u8,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    #[serde(serialize_with = "secs")]
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub garp_master_refresh: Duration,
    pub garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_repeat: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub owner_ignore_adverts: bool,
    pub down_timer_adverts: u32,
    pub smtp_alert: bool,
    pub notify: Notify,
    pub notify_priority_changes: bool,
    pub use_vmac: Option<Vmac>,
    pub vmac_xmit_base: bool,
    /// RFC 5798 Accept_Mode; keepalived's default is on (off in strict mode unless owner).
    pub accept: bool,
    pub strict_mode: bool,
    pub skip_check_adv_addr: bool,
    pub no_virtual_ipaddress: bool,
    pub promote_secondaries: bool,
    pub v3_checksum_as_v2: bool,
    pub timer_expired_backup: Option<u8>,
    /// Name of the sync group this instance belongs to.
    pub sync_group: Option<String>,
}

/// `vrrp_sync_group NAME { }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub group: Vec<String>,
    pub notify: Notify,
    pub smtp_alert: bool,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: bool,
}
