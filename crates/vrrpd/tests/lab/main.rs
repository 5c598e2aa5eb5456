//! The namespace lab (needs root; each test skips without it): real vrrpd processes, and
//! Debian's keepalived where a test compares, in network namespaces joined by a bridge.

#[path = "../vrrp_lab/mod.rs"]
mod vrrp_lab;

mod address_tracking;
mod checkers_unit;
mod control_group;
mod exhaustion;
mod failover;
mod full_disk;
mod keepalived_weights;
mod metrics;
mod nft_tables;
mod no_accept;
mod second_daemon;
mod source_tracking;
mod stall;
mod sync_groups;
mod track_file;
mod track_process;
mod tracking_failover;
mod unit_sandbox;
mod verdict;
mod vip_vmac;
mod vmac;
