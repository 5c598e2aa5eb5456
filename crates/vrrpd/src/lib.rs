//! vrrpd: the I/O shell around the sans-io `vrrp` crate.
//!
//! Module ownership while the daemon is being built: `scripts`, `notify`, `alert` and
//! `control` are the tracking/notification/control-socket side; everything else is the
//! VRRP core (sockets, netlink, GARP, signals, reload, CLI).

pub mod alert;
pub mod cli;
pub mod conf;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod dump;
pub mod net;
pub mod notify;
pub mod plan;
pub mod ratelimit;
pub mod say;
pub mod scripts;
pub mod spec;
