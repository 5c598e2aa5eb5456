//! Sans-io VRRP: the VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) codec and the
//! per-instance state machine, with keepalived's behaviour as the default.
//!
//! Nothing here does I/O or reads a clock. The daemon (`vrrpd`) owns the
//! sockets, netlink and timers; this crate tells it what to do.
//!
//! * [`packet`]: advert encode/decode; [`checksum`]: v2 / v3 checksums;
//!   [`ipv4`]: the IPv4 header keepalived sends (for `IP_HDRINCL`); [`ah`]: the
//!   IPsec authentication header of VRRPv2 `auth_type AH`.
//! * [`rx`]: keepalived's receive checks in order, each failure a counted
//!   [`RxError`] with a stable name.
//! * [`Instance`]: INIT/BACKUP/MASTER/FAULT; [`SyncGroup`]: members move together;
//!   [`Unit`]: either of them, driven alike.
//! * `sim` (feature `sim`): a deterministic multi-node simulator with a lossy network.
//!
//! # Driving an instance
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Duration;
//! use vrrp::{Action, Event, Instance, InstanceConfig, State, Version, Vip};
//!
//! let me = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
//! let mut cfg = InstanceConfig::new("VI_1", 51, Version::V2, me);
//! cfg.vips.push(Vip::host(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100))));
//! let mut inst = Instance::new(cfg).unwrap();
//!
//! // Time is a Duration since any epoch the shell picks (e.g. its start).
//! let mut now = Duration::ZERO;
//! let mut actions = inst.handle(now, Event::Start);
//! assert_eq!(inst.state(), State::Backup);
//!
//! // The shell loop: sleep until the deadline or a packet, whichever first.
//! // A packet: `inst.handle_packet(now, &vrrp::rx::parse_ipv4(&buf)?)`.
//! while let Some(deadline) = inst.next_deadline() {
//!     if now >= Duration::from_secs(4) { break; }
//!     now = deadline;
//!     actions = inst.handle(now, Event::Timer);
//!     for a in &actions {
//!         match a {
//!             Action::SendAdvert(advert) => {
//!                 // encode: advert.encode(PseudoHeader::None) for v2, then
//!                 // vrrp::ipv4::build_ipv4_packet(..) and send.
//!                 let _ = advert;
//!             }
//!             Action::AddVips { .. } | Action::RemoveVips { .. } => { /* netlink */ }
//!             Action::SendGratuitous { .. } => { /* GARP / NA */ }
//!             Action::Transition { from, to, reason } => {
//!                 // log one line, run notify scripts, send mail
//!                 let _ = (from, to, reason);
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//! // No master was heard: after 3 x 1 s + (256-100)/256 s it took over.
//! assert_eq!(inst.state(), State::Master);
//! ```

//!
//! # Fast failover (opt-in)
//!
//! [`FastFailover`] in [`InstanceConfig::fast_failover`]; the default (all
//! off, zero hold) is keepalived's exact behaviour.
//!
//! * `immediate_advert_on_priority_change`: a MASTER sends an advert as soon
//!   as its advertised priority changes. A keepalived BACKUP treats it like
//!   any advert (it only learns the news earlier).
//! * `fast_preempt`: a preemptive BACKUP without `preempt_delay`, following a
//!   master whose priority was at least its own, takes over (after
//!   `fast_preempt_delay`) when that master advertises a priority below its
//!   own, instead of discarding the adverts until Master_Down_Interval runs
//!   out. Its first advert carries the higher priority, so the old master
//!   (keepalived or not) yields by the normal rule: no fight. Failback over
//!   a master whose priority did not drop (we rose) stays the RFC way, after
//!   Master_Down_Interval, which damps flapping.
//! * `hold_time`: a MASTER advertises a lowered priority only once it has
//!   lasted `hold_time` (a shorter dip is invisible on the wire), and a
//!   BACKUP preempts only once its own priority has been steady for
//!   `hold_time`. Against a keepalived master (which advertises dips at
//!   once) set `fast_preempt_delay` to the hold time as well.
//!
//! # Deviations from keepalived (always on, all protective)
//!
//! * A MASTER answers lower-priority adverts (advert + GARP burst) at most
//!   once per advert interval, so a stream of valid low adverts cannot make
//!   it flood the segment; its own advert schedule is never moved by
//!   received packets.
//! * A VRRPv3 advert with interval 0 is dropped (`zero_interval`): adopting it
//!   would shrink Master_Down_Interval to the skew.
//! * IP fragments are dropped with their own reason, and so are AH packets for an instance
//!   without `auth_type AH` (and plain ones for an instance with it).
//! * [`Event::SendReady`]`(false)` (e.g. a tentative IPv6 link-local source)
//!   is a FAULT cause: the instance never claims MASTER while it cannot send.
//! * [`Event::Maintenance`] (drain) has no keepalived equivalent.
//! * `state MASTER` members of a sync group wait a full Master_Down_Interval
//!   at start like other instances (keepalived shortens it in that case).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod ah;
pub mod checksum;
pub mod config;
pub mod instance;
pub mod ipv4;
pub mod packet;
pub mod rx;
#[cfg(feature = "sim")]
pub mod sim;
pub mod sync_group;
pub mod timers;
pub mod unit;

pub use checksum::PseudoHeader;
pub use config::{
    ConfigError, FastFailover, GarpConfig, InitialState, InstanceConfig, TrackerConfig,
    UnicastChecksum, UnicastPeer, Vip,
};
pub use instance::{Action, Event, GarpCause, Instance, ReceivedAdvert, State};
pub use packet::{Advert, AdvertInterval, Auth, CodecError, Family, Version};
pub use rx::{CheckedAdvert, RxCounters, RxError, RxPacket, RxWarning};
pub use sync_group::{MemberAction, SyncGroup};
pub use unit::Unit;
