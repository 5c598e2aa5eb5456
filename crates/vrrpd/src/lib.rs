//! vrrpd: the I/O shell around the sans-io `vrrp` crate.
//!
//! The pure core: [`spec`] (what runs), [`conf`] (keepalived.conf -> spec), [`plan`] (what a
//! reload keeps, starts and releases), [`control::command`] and the scripts' priority
//! arithmetic. The shells: [`daemon`] (the event loop), [`net`] (raw sockets, netlink, GARP,
//! nftables), [`scripts`], [`notify`], [`alert`], [`control`]. The library never prints or
//! exits: the binary does (its `exit.rs` decides every exit status).

#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod alert;
pub mod cli;
pub mod conf;
pub mod control;
pub mod daemon;
pub mod dump;
pub mod dump_json;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod plan;
pub mod ratelimit;
pub mod scripts;
pub mod signals;
pub mod spec;
pub mod track_process;
pub mod verdict;
pub mod vip_watch;
