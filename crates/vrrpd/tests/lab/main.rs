//! The namespace lab (needs root; each test skips without it): real vrrpd processes, and
//! Debian's keepalived where a test compares, in network namespaces joined by a bridge.

#[path = "../vrrp_lab/mod.rs"]
mod vrrp_lab;

mod control_group;
mod exhaustion;
mod failover;
mod full_disk;
mod keepalived_weights;
mod metrics;
mod track_file;
mod tracking_failover;
