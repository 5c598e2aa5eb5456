//! SIGUSR1 / SIGUSR2 dumps in the layout of keepalived's `/tmp/keepalived.data` and
//! `/tmp/keepalived.stats`, so scripts that grep them keep working; vrrpd adds every receive
//! error by its stable name after keepalived's sections. Pure formatting over snapshots.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use vrrp::{Instance, RxCounters, RxError, RxWarning};

use crate::daemon::InstRt;

/// Counters the state machine does not keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstStats {
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Adverts received and accepted.
    pub adverts_received: u64,
    /// Times the instance became MASTER.
    pub became_master: u64,
    /// Times it left MASTER.
    pub released_master: u64,
    /// Priority-0 adverts sent.
    pub prio0_sent: u64,
    /// Priority-0 adverts received.
    pub prio0_received: u64,
    /// Every state change.
    pub transitions: u64,
}

/// Everything a dump or a status command shows about one instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceSnapshot {
    /// The instance's name.
    pub name: String,
    /// Its sync group, if any.
    pub group: Option<String>,
    /// The interface adverts go out on.
    pub interface: String,
    /// The virtual router id.
    pub vrid: u8,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// State, as keepalived spells it.
    pub state: &'static str,
    /// The configured `priority`.
    pub base_priority: u8,
    /// The advertised priority.
    pub effective_priority: u8,
    /// `advert_int` in milliseconds.
    pub advert_interval_ms: u128,
    /// The master last heard and its priority.
    pub master: Option<(IpAddr, u8)>,
    /// The address adverts go out from.
    pub source: Option<IpAddr>,
    /// The virtual addresses.
    pub vips: Vec<String>,
    /// When the current state began (Unix seconds).
    pub since_unix: u64,
    /// Why the current state began.
    pub last_reason: String,
    /// Advert and transition counters.
    pub stats: InstStats,
    /// Why received adverts were dropped, per reason.
    #[serde(skip)]
    pub counters: RxCounters,
}

impl InstanceSnapshot {
    /// Collects one instance's dump from its runtime and state machine.
    pub fn new(rt: &InstRt, inst: &Instance, group: Option<&str>) -> Self {
        let cfg = inst.config();
        InstanceSnapshot {
            name: rt.spec.name.clone(),
            group: group.map(str::to_string),
            interface: rt.spec.interface.clone(),
            vrid: cfg.vrid,
            version: cfg.version.number(),
            state: inst.state().name(),
            base_priority: cfg.priority,
            effective_priority: inst.effective_priority(),
            advert_interval_ms: cfg.advert_interval.as_millis(),
            master: inst.master(),
            source: rt.source,
            vips: rt
                .spec
                .vips
                .iter()
                .map(|v| format!("{}/{} dev {}", v.addr, v.prefix_len, v.ifname))
                .collect(),
            since_unix: rt
                .since
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            last_reason: rt.last_reason.clone(),
            stats: rt.stats.clone(),
            counters: inst.counters().clone(),
        }
    }
}

/// The SIGUSR1 data dump.
pub fn data_text(insts: &[InstanceSnapshot], router_id: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(s, " Router ID = {}", router_id.unwrap_or("(host name)"));
    let _ = writeln!(s, "------< VRRP Topology >------");
    for i in insts {
        let _ = writeln!(s, " VRRP Instance = {}", i.name);
        if let Some(g) = &i.group {
            let _ = writeln!(s, "   Sync group = {g}");
        }
        let _ = writeln!(s, "   VRRP Version = {}", i.version);
        let _ = writeln!(s, "   State = {}", i.state);
        let _ = writeln!(
            s,
            "   Last transition = {} ({})",
            i.since_unix, i.last_reason
        );
        let _ = writeln!(s, "   Interface = {}", i.interface);
        let _ = writeln!(s, "   Virtual Router ID = {}", i.vrid);
        let _ = writeln!(s, "   Priority = {}", i.base_priority);
        let _ = writeln!(s, "   Effective priority = {}", i.effective_priority);
        let _ = writeln!(s, "   Advert interval = {}ms", i.advert_interval_ms);
        if let Some(src) = i.source {
            let _ = writeln!(s, "   Using src_ip = {src}");
        }
        if let Some((addr, prio)) = i.master {
            let _ = writeln!(s, "   Master router = {addr}");
            let _ = writeln!(s, "   Master priority = {prio}");
        }
        let _ = writeln!(s, "   Virtual IP ({}):", i.vips.len());
        for v in &i.vips {
            let _ = writeln!(s, "     {v}");
        }
    }
    s
}

/// The SIGUSR2 stats dump: keepalived's sections first, then every counter by name.
pub fn stats_text(
    insts: &[InstanceSnapshot],
    iface_drops: &HashMap<u32, RxCounters>,
    ifname: impl Fn(u32) -> Option<String>,
) -> String {
    let mut s = String::new();
    for i in insts {
        let c = &i.counters;
        let d = |e: RxError| c.dropped(e);
        let _ = writeln!(s, "VRRP Instance: {}", i.name);
        let _ = writeln!(s, "  Advertisements:");
        let _ = writeln!(s, "    Received: {}", i.stats.adverts_received);
        let _ = writeln!(s, "    Sent: {}", i.stats.adverts_sent);
        let _ = writeln!(s, "  Became master: {}", i.stats.became_master);
        let _ = writeln!(s, "  Released master: {}", i.stats.released_master);
        let _ = writeln!(s, "  Packet Errors:");
        let _ = writeln!(
            s,
            "    Length: {}",
            d(RxError::BadLength) + d(RxError::VrrpTruncated) + d(RxError::BadTotalLength)
        );
        let _ = writeln!(s, "    TTL: {}", d(RxError::BadTtl));
        let _ = writeln!(s, "    Invalid Type: {}", d(RxError::BadType));
        let _ = writeln!(
            s,
            "    Advertisement Interval: {}",
            d(RxError::IntervalMismatch)
        );
        let _ = writeln!(
            s,
            "    Address List: {}",
            c.warned(RxWarning::AddressListMismatch)
        );
        let _ = writeln!(s, "  Authentication Errors:");
        let _ = writeln!(s, "    Invalid Type: {}", d(RxError::BadAuthType));
        // keepalived counts AH failures (ICV, SPI, sequence number) as authentication failures.
        let _ = writeln!(
            s,
            "    Type Mismatch: {}",
            d(RxError::AuthTypeMismatch) + d(RxError::AhMismatch)
        );
        let _ = writeln!(
            s,
            "    Failure: {}",
            d(RxError::AuthFailure) + d(RxError::AhAuthFailure) + d(RxError::AhReplay)
        );
        let _ = writeln!(s, "  Priority Zero:");
        let _ = writeln!(s, "    Received: {}", i.stats.prio0_received);
        let _ = writeln!(s, "    Sent: {}", i.stats.prio0_sent);
        let _ = writeln!(s, "  All receive counters:");
        let _ = writeln!(s, "    accepted: {}", c.accepted);
        for (name, n) in c.iter() {
            let _ = writeln!(s, "    {name}: {n}");
        }
    }
    let mut idx: Vec<&u32> = iface_drops.keys().collect();
    idx.sort();
    for i in idx {
        let _ = writeln!(
            s,
            "Interface: {}",
            ifname(*i).unwrap_or_else(|| format!("#{i}"))
        );
        for (name, n) in iface_drops[i].iter().filter(|(_, n)| *n > 0) {
            let _ = writeln!(s, "    {name}: {n}");
        }
    }
    s
}
