//! The namespace lab (needs root; each test skips without it): real vrrpd processes, and
//! Debian's keepalived where a test compares, in network namespaces joined by a bridge.

mod vrrp_lab;

mod address_tracking;
mod auto_priority;
mod checkers_unit;
mod control_group;
mod dynamic_interfaces;
mod exhaustion;
mod failover;
mod full_disk;
mod garp_extra;
mod garp_group;
mod interfaces;
mod interop_ah;
mod interop_keepalived;
mod keepalived_weights;
mod link_delays;
mod local_igmp;
mod metrics;
mod net_namespace;
mod nft_tables;
mod no_accept;
mod notify_fifo;
mod old_checksum;
mod process_name;
mod process_tuning;
mod second_daemon;
mod socket_buffers;
mod source_tracking;
mod stall;
mod static_state;
mod sync_groups;
mod track_file;
mod track_group;
mod track_process;
mod tracking_failover;
mod unicast_no_peer;
mod unit_sandbox;
mod unknown_vrids;
mod verdict;
mod vip_deletion;
mod vip_vmac;
mod vmac;
mod vmac_reload;
