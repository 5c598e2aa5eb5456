//! The settings of the host and of the VRRP process itself: process scheduling and limits,
//! socket buffers, link-change delays and gratuitous ARP pacing per interface.

use super::{opt_secs, secs};
use serde::Serialize;
use std::time::Duration;

/// How long a link change of one interface must last before instances act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UpDownDelay {
    /// Before the instances take the interface as down.
    #[serde(serialize_with = "secs")]
    pub down: Duration,
    /// Before they take it as up again.
    #[serde(serialize_with = "secs")]
    pub up: Duration,
}

/// `garp_group { garp_interval; gna_interval; interface | interfaces { } }`: the pause
/// between two gratuitous ARPs (NAs) shared by the interfaces of the group; an interface
/// in no group keeps `vrrp_garp_interval` / `vrrp_gna_interval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GarpGroup {
    /// `garp_interval` (unset: the global `vrrp_garp_interval`).
    #[serde(serialize_with = "opt_secs")]
    pub garp_interval: Option<Duration>,
    /// `gna_interval` (unset: the global `vrrp_gna_interval`).
    #[serde(serialize_with = "opt_secs")]
    pub gna_interval: Option<Duration>,
    /// `interface` and the `interfaces { }` entries.
    pub interfaces: Vec<String>,
}

/// `garp_extra_if [all] SECS` / `vrrp_garp_extra_if [all] SECS`: periodic gratuitous ARPs /
/// NAs on the VIPs' interfaces other than the instance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GarpExtraIf {
    /// Seconds between two rounds.
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// `all`: every such interface; without it only VMAC interfaces.
    pub all: bool,
}

/// The VRRP process's own settings, applied once when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessTuning {
    /// `vrrp_priority`: the nice value, -20..19.
    pub nice: Option<i32>,
    /// `vrrp_rt_priority`: SCHED_RR priority at start, 1..99.
    pub rt_priority: Option<i32>,
    /// `vrrp_no_swap`: lock all memory.
    pub no_swap: bool,
    /// `vrrp_cpu_affinity`: the CPUs to run on; empty = any.
    pub cpu_affinity: Vec<u32>,
    /// `vrrp_rlimit_rttime` / `vrrp_rlimit_rtime`: RLIMIT_RTTIME hard limit in microseconds.
    pub rlimit_rttime: Option<u64>,
    /// `umask`: the process umask.
    pub umask: Option<u32>,
    /// `vrrp_netlink_cmd_rcv_bufs[_force]`: the netlink command socket.
    pub netlink_cmd: RcvBuf,
    /// `vrrp_netlink_monitor_rcv_bufs[_force]`: the netlink socket watching links and addresses.
    pub netlink_monitor: RcvBuf,
    /// `process_monitor_rcv_bufs[_force]`: the process-event connector socket.
    pub process_monitor: RcvBuf,
    /// `vrrp_rx_bufs_policy`: each instance's share of its advert receive socket's buffer.
    pub rx_bufs_policy: Option<RxBufsPolicy>,
    /// `vrrp_rx_bufs_multiplier` (`None` = keepalived's 3).
    pub rx_bufs_multiplier: Option<u32>,
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|BYTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RxBufsPolicy {
    /// The interface MTU times the multiplier.
    Mtu,
    /// The advert's size times the multiplier.
    Advert,
    /// So many bytes.
    Bytes(u32),
}

/// A socket's receive buffer: `*_rcv_bufs BYTES` and `*_rcv_bufs_force [BOOL]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RcvBuf {
    /// SO_RCVBUF bytes; 0 = the kernel's default.
    pub bytes: u32,
    /// SO_RCVBUFFORCE: past net.core.rmem_max.
    pub force: bool,
}
