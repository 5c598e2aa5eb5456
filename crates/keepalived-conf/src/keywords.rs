//! The one keyword table: every keyword keepalived 2.2.7 accepts (and the newer ones real
//! files carry), per block, with exactly one [`Status`]. The parser consults it for every
//! keyword line, so a keyword vrrpd does not act on is always said, never silently dropped;
//! docs/keepalived-compat.md is generated from it and checked against it by a test.

/// What vrrpd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed and acted on; `test` names the test that shows the effect.
    Honoured {
        /// Name of a `#[test]` function in the workspace.
        test: &'static str,
    },
    /// Accepted as keepalived accepts it (`-t` class unchanged), but vrrpd does not act on it:
    /// every occurrence gets a warning with file:line, the keyword and `instead`.
    NotHonoured {
        /// What the operator gets instead.
        instead: &'static str,
    },
    /// Refused with an error (class 5), as keepalived 2.2.7 refuses it.
    Rejected {
        /// Why, and what to write instead.
        why: &'static str,
    },
}

/// Which block a keyword belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Block {
    /// The top level of the file.
    Root,
    /// `global_defs { }`.
    GlobalDefs,
    /// `vrrp_script NAME { }`.
    VrrpScript,
    /// `track_file NAME { }` / `vrrp_track_file NAME { }`.
    TrackFile,
    /// `vrrp_sync_group NAME { }`.
    SyncGroup,
    /// `vrrp_instance NAME { }`.
    Instance,
    /// `authentication { }` inside an instance.
    Authentication,
    /// The options after a VIP address on a `virtual_ipaddress` / `static_ipaddress` line.
    VipOption,
}

/// Every block, in the order the documentation lists them.
pub const BLOCKS: [Block; 8] = [
    Block::Root,
    Block::GlobalDefs,
    Block::VrrpScript,
    Block::TrackFile,
    Block::SyncGroup,
    Block::Instance,
    Block::Authentication,
    Block::VipOption,
];

const fn h(test: &'static str) -> Status {
    Status::Honoured { test }
}

const fn n(instead: &'static str) -> Status {
    Status::NotHonoured { instead }
}

use Status::Rejected;

// Tests shared by several keywords.
const FIFO_LAB: Status = h("fifo_lines_match_keepalived_in_content_and_order");
const STATIC_LAB: Status = h("static_state_vip_options_and_routes_match_keepalived");
const AUTO_PRIORITY_LAB: Status =
    h("late_timers_raise_the_vrrp_process_to_realtime_like_keepalived");
const SCRIPT_TIMEOUT: Status = h("a_hanging_startup_script_is_killed_at_its_timeout");
const FIFO_READER: Status = h("fifo_reader_script_gets_the_fifo_path_and_the_lines");
const STARTUP_DELAY_LAB: Status = h("startup_delay_holds_the_instances_back_like_keepalived");
const DELAY_AFTER_BOOT: Status = h("delay_after_boot_counts_only_while_the_system_is_young");

/// How to keep LVS, checkers and BFD: keepalived's own processes beside vrrpd.
pub const KEEP_CHECKERS: &str = "vrrpd runs no LVS/IPVS and no checkers; to keep them, run keepalived's checker process alone beside vrrpd, reading this same unchanged file: `keepalived --check` (`-C`)";
const LVS: &str = "nothing in vrrpd (an LVS/checker setting); keepalived's checker process reads it when run beside vrrpd as `keepalived --check`";
const BFD: &str = "no BFD session: vrrpd runs no BFD; keepalived's BFD process reads it when keepalived runs beside vrrpd on the same file";
const TUNING: &str =
    "vrrpd's own defaults (set scheduling, CPU affinity and memory limits in its systemd unit)";
const SNMP: &str = "no SNMP or D-Bus: `vrrpd ctl show status` (text or json) and `show stats` report the same state";
const RELOAD: &str =
    "vrrpd checks the new file itself on reload and keeps the running one when it has errors";
const STRICT: &str = "the protocol rules of strict mode apply, but no firewall rule is installed (keepalived drops traffic to the VIPs with iptables/nftables)";
const PRIO_NOTIFY: &str = "no priority-change lines for the group: set `notify_priority_changes` in the member vrrp_instances (or `vrrp_notify_priority_changes` in global_defs)";
const VMAC: &str = "no VMAC interface: the VIPs are added to the instance interface and adverts use its own MAC address";
const ACCEPT: &str = "traffic to the VIPs is accepted in every mode (no firewall rule drops it, as keepalived's no_accept does)";
const FIREWALL: &str = "no firewall rule is installed";
const HMAC: &str = "no HMAC: adverts carry the `auth_type`/`auth_pass` authentication, if any (keepalived 2.2.7 does not know `auth_hmac` either)";
const WITHOUT_OPTION: &str = "the VIP is added without this option";

/// Top-level keywords.
pub(crate) const ROOT: &[(&str, Status)] = &[
    (
        "global_defs",
        h("global_defs_give_smtp_settings_and_notify_converts"),
    ),
    (
        "vrrp_script",
        h("track_script_and_control_socket_move_the_vip"),
    ),
    (
        "track_file",
        h("weighted_track_file_moves_the_vip_and_back"),
    ),
    (
        "vrrp_track_file",
        h("weighted_track_file_moves_the_vip_and_back"),
    ),
    ("vrrp_sync_group", h("members_become_master_together")),
    (
        "vrrp_instance",
        h("balancer_failure_moves_the_vip_and_recovery_brings_it_back"),
    ),
    ("static_ipaddress", STATIC_LAB),
    ("static_routes", STATIC_LAB),
    ("static_rules", STATIC_LAB),
    (
        "vrrp_track_process",
        n("the process is not tracked: it cannot change any priority"),
    ),
    (
        "garp_group",
        n("gratuitous ARPs go only to each instance's own interface at the global intervals"),
    ),
    (
        "linkbeat_interfaces",
        n("interfaces are watched through netlink link state only"),
    ),
    ("interface_up_down_delays", n("link changes act at once")),
    (
        "track_group",
        n("`track_group` is not applied: every instance hears adverts from any VRID peer"),
    ),
    (
        "net_namespace",
        n(
            "vrrpd runs in the namespace it is started in (use `ip netns exec` or the unit's NetworkNamespacePath)",
        ),
    ),
    ("net_namespace_ipvs", n(LVS)),
    ("namespace_with_ipsets", n("no ipsets are maintained")),
    (
        "instance",
        n("nothing: vrrpd keeps its own file names (its `-p` pid file and control socket)"),
    ),
    (
        "use_pid_dir",
        n("nothing: vrrpd keeps its own file names (its `-p` pid file and control socket)"),
    ),
    (
        "linkbeat_use_polling",
        n("interfaces are watched through netlink link state only"),
    ),
    ("child_wait_time", n(TUNING)),
    ("virtual_server", n(KEEP_CHECKERS)),
    ("virtual_server_group", n(KEEP_CHECKERS)),
    ("bfd_instance", n(BFD)),
    ("track_bfd", n(BFD)),
];

/// `global_defs` keywords.
pub(crate) const GLOBAL: &[(&str, Status)] = &[
    (
        "router_id",
        h("subject_and_body_carry_router_instance_state_and_reason"),
    ),
    ("notification_email", h("compose_addresses_every_recipient")),
    (
        "notification_email_from",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "smtp_server",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "smtp_helo_name",
        h("global_defs_give_smtp_settings_and_notify_converts"),
    ),
    (
        "smtp_connect_timeout",
        h("a_black_holing_server_delays_nothing_and_is_logged_once"),
    ),
    (
        "smtp_alert",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "smtp_alert_vrrp",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "no_email_faults",
        h("failing_and_hanging_checks_move_the_vip_with_mail_notify_and_status"),
    ),
    (
        "enable_script_security",
        h("script_security_refuses_a_world_writable_script"),
    ),
    (
        "script_user",
        h("scripts_run_as_the_configured_user_with_a_clean_environment"),
    ),
    ("vrrp_mcast_group4", h("advert_bytes_match_keepalived")),
    ("vrrp_mcast_group6", h("ipv6_instance_is_v3_on_ff02_12")),
    (
        "default_interface",
        n(
            "nothing: every vrrp_instance must name its `interface` (keepalived 2.2.7 requires it too)",
        ),
    ),
    (
        "vrrp_version",
        h("unicast_v3_with_trackers_and_fast_failover"),
    ),
    ("vrrp_strict", n(STRICT)),
    ("vrrp_skip_check_adv_addr", h("own_address_is_flagged")),
    (
        "vrrp_check_unicast_src",
        h("unicast_v3_elects_with_real_destination_checksums"),
    ),
    (
        "vrrp_garp_master_delay",
        h("master_adverts_every_interval_and_second_garp_burst"),
    ),
    (
        "vrrp_garp_master_repeat",
        h("master_adverts_every_interval_and_second_garp_burst"),
    ),
    (
        "vrrp_garp_lower_prio_delay",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "vrrp_garp_lower_prio_repeat",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "vrrp_garp_master_refresh",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "vrrp_garp_master_refresh_repeat",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    ("vrrp_garp_interval", h("garp_frame_layout")),
    ("vrrp_gna_interval", h("na_layout")),
    ("vrrp_min_garp", h("min_garp_changes_defaults_only")),
    (
        "vrrp_down_timer_adverts",
        h("v2_down_timer_matches_keepalived_observation"),
    ),
    (
        "vrrp_lower_prio_no_advert",
        h("strict_mode_master_does_not_answer_lower_adverts"),
    ),
    (
        "vrrp_higher_prio_send_advert",
        h("master_yields_to_higher_and_answers_lower"),
    ),
    ("vrrp_owner_ignore_adverts", h("owner_ignore_adverts")),
    ("vrrp_startup_delay", STARTUP_DELAY_LAB),
    ("vrrp_delay_after_boot", DELAY_AFTER_BOOT),
    (
        "dynamic_interfaces",
        n("interfaces must exist when vrrpd starts; one that appears later is not picked up"),
    ),
    ("vmac_prefix", n(VMAC)),
    (
        "v3_checksum_as_v2",
        h("v3_multicast_capture_uses_pseudo_header"),
    ),
    ("vrrp_notify_fifo", FIFO_LAB),
    ("vrrp_notify_fifo_script", FIFO_READER),
    ("notify_fifo", FIFO_LAB),
    ("notify_fifo_script", FIFO_READER),
    ("vrrp_notify_priority_changes", FIFO_LAB),
    ("max_auto_priority", AUTO_PRIORITY_LAB),
    ("startup_script", STATIC_LAB),
    ("shutdown_script", STATIC_LAB),
    (
        "vrrp_garp_extra_if",
        n("gratuitous ARPs go only to each instance's own interface"),
    ),
    ("vrrp_iptables", n(FIREWALL)),
    ("nftables", n(FIREWALL)),
    ("nftables_priority", n(FIREWALL)),
    ("nftables_counters", n(FIREWALL)),
    ("nftables_ifindex", n(FIREWALL)),
    ("min_auto_priority_delay", AUTO_PRIORITY_LAB),
    ("vrrp_priority", n(TUNING)),
    ("vrrp_rt_priority", n(TUNING)),
    ("vrrp_no_swap", n(TUNING)),
    ("vrrp_cpu_affinity", n(TUNING)),
    ("vrrp_rlimit_rttime", n(TUNING)),
    ("fifo_write_vrrp_states_on_reload", n(RELOAD)),
    ("vmac_addr_prefix", n(VMAC)),
    (
        "log_unknown_vrids",
        n("adverts for unknown VRIDs are counted (`show stats`), not logged one by one"),
    ),
    ("vrrp_rx_bufs_policy", n(TUNING)),
    ("vrrp_rx_bufs_multiplier", n(TUNING)),
    ("vrrp_netlink_cmd_rcv_bufs", n(TUNING)),
    ("vrrp_netlink_cmd_rcv_bufs_force", n(TUNING)),
    ("vrrp_netlink_monitor_rcv_bufs", n(TUNING)),
    ("vrrp_netlink_monitor_rcv_bufs_force", n(TUNING)),
    ("reload_check_config", n(RELOAD)),
    ("include_check", n(RELOAD)),
    ("config_save_dir", n(RELOAD)),
    ("tmp_config_directory", n(RELOAD)),
    ("reload_time_file", n(RELOAD)),
    ("reload_file", n(RELOAD)),
    ("reload_repeat", n(RELOAD)),
    ("data_use_instance", n(RELOAD)),
    ("process_names", n(TUNING)),
    ("process_name", n(TUNING)),
    ("vrrp_process_name", n(TUNING)),
    ("umask", n(TUNING)),
    ("random_seed", n(TUNING)),
    ("startup_script_timeout", SCRIPT_TIMEOUT),
    ("shutdown_script_timeout", SCRIPT_TIMEOUT),
    ("snmp_socket", n(SNMP)),
    ("enable_snmp_vrrp", n(SNMP)),
    ("enable_snmp_keepalived", n(SNMP)),
    ("enable_snmp_rfc", n(SNMP)),
    ("enable_snmp_rfcv2", n(SNMP)),
    ("enable_snmp_rfcv3", n(SNMP)),
    ("enable_traps", n(SNMP)),
    ("enable_dbus", n(SNMP)),
    ("dbus_service_name", n(SNMP)),
    (
        "disable_local_igmp",
        n("the kernel's IGMP settings are left as they are"),
    ),
    ("lvs_sync_daemon", n(LVS)),
    ("lvs_flush", n(LVS)),
    ("lvs_flush_on_stop", n(LVS)),
    ("lvs_flush_onstop", n(LVS)),
    ("lvs_timeouts", n(LVS)),
    ("lvs_netlink_cmd_rcv_bufs", n(LVS)),
    ("lvs_netlink_cmd_rcv_bufs_force", n(LVS)),
    ("lvs_netlink_monitor_rcv_bufs", n(LVS)),
    ("lvs_netlink_monitor_rcv_bufs_force", n(LVS)),
    ("lvs_notify_fifo", n(LVS)),
    ("lvs_notify_fifo_script", n(LVS)),
    ("smtp_alert_checker", n(LVS)),
    ("checker_process_name", n(LVS)),
    ("checker_priority", n(LVS)),
    ("checker_rt_priority", n(LVS)),
    ("checker_no_swap", n(LVS)),
    ("checker_cpu_affinity", n(LVS)),
    ("checker_rlimit_rttime", n(LVS)),
    ("checker_log_all_failures", n(LVS)),
    ("enable_snmp_checker", n(LVS)),
    ("bfd_process_name", n(BFD)),
    ("bfd_priority", n(BFD)),
    ("bfd_rt_priority", n(BFD)),
    ("bfd_no_swap", n(BFD)),
    ("bfd_cpu_affinity", n(BFD)),
    ("bfd_rlimit_rttime", n(BFD)),
    ("vrrp_rlimit_rtime", n(TUNING)),
    ("vrrp_vmac_garp_intvl", n(TUNING)),
    ("process_monitor_rcv_bufs", n(TUNING)),
    ("process_monitor_rcv_bufs_force", n(TUNING)),
    ("checker_rlimit_rtime", n(LVS)),
    ("bfd_rlimit_rtime", n(BFD)),
    ("lvs_process_name", n(LVS)),
    ("nftables_ipvs", n(LVS)),
    ("nftables_ipvs_priority", n(LVS)),
    ("nftables_ipvs_start_fwmark", n(LVS)),
    ("no_checker_emails", n(LVS)),
    ("rs_init_notifies", n(LVS)),
    ("ipvs_timeouts", n(LVS)),
];

/// `vrrp_script` keywords.
pub(crate) const VRRP_SCRIPT: &[(&str, Status)] = &[
    (
        "script",
        h("executable_file_is_exec_directly_with_split_args"),
    ),
    (
        "interval",
        h("vrrp_script_converts_with_fractional_interval"),
    ),
    (
        "timeout",
        h("a_hanging_script_is_killed_with_its_group_at_the_timeout_and_counts_as_failure"),
    ),
    (
        "weight",
        h("positive_weight_adds_while_up_negative_subtracts_while_down"),
    ),
    ("rise", h("rise_needs_consecutive_successes")),
    (
        "fall",
        h("fall_needs_consecutive_failures_and_a_success_resets_the_count"),
    ),
    (
        "user",
        h("scripts_run_as_the_configured_user_with_a_clean_environment"),
    ),
    (
        "init_fail",
        h("init_fail_starts_down_and_a_passing_script_brings_it_up"),
    ),
];

/// `track_file` keywords.
pub(crate) const TRACK_FILE: &[(&str, Status)] = &[
    ("file", h("weighted_track_file_moves_the_vip_and_back")),
    ("weight", h("track_file_value_times_weight_and_fault_rules")),
    ("init_file", h("reports_initial_value_and_changes")),
];

/// `vrrp_sync_group` keywords.
pub(crate) const SYNC_GROUP: &[(&str, Status)] = &[
    ("group", h("members_become_master_together")),
    (
        "notify_master",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_backup",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_fault",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_stop",
        h("group_notify_gets_group_and_priority_zero"),
    ),
    (
        "notify",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "smtp_alert",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "track_interface",
        h("link_down_and_send_not_ready_mean_fault"),
    ),
    (
        "track_script",
        h("track_script_and_control_socket_move_the_vip"),
    ),
    (
        "track_file",
        h("weighted_track_file_moves_the_vip_and_back"),
    ),
    (
        "sync_group_tracking_weight",
        h("sync_groups_resolve_after_parsing"),
    ),
    ("notify_priority_changes", n(PRIO_NOTIFY)),
    ("global_tracking", h("sync_groups_resolve_after_parsing")),
    (
        "track_process",
        n("the process is not tracked: it cannot change any priority"),
    ),
    ("track_bfd", n(BFD)),
];

/// `authentication` keywords.
pub(crate) const AUTHENTICATION: &[(&str, Status)] = &[
    ("auth_type", h("v2_pass_election_link_cut_and_failback")),
    ("auth_pass", h("v2_pass_election_link_cut_and_failback")),
    ("auth_hmac", n(HMAC)),
];

/// `vrrp_instance` keywords.
pub(crate) const INSTANCE: &[(&str, Status)] = &[
    (
        "state",
        h("state_master_below_255_behaves_like_backup_at_start"),
    ),
    (
        "interface",
        h("config_test_reports_a_missing_interface_like_keepalived"),
    ),
    (
        "virtual_router_id",
        h("v2_pass_election_link_cut_and_failback"),
    ),
    ("priority", h("master_yields_to_higher_and_answers_lower")),
    (
        "advert_int",
        h("master_adverts_every_interval_and_second_garp_burst"),
    ),
    (
        "nopreempt",
        h("with_nopreempt_the_vip_stays_on_the_backup_after_recovery"),
    ),
    (
        "preempt",
        h("preemptive_backup_discards_lower_adverts_and_takes_over_after_down_interval"),
    ),
    (
        "preempt_delay",
        h("preempt_delay_follows_lower_master_until_delay_passes"),
    ),
    (
        "authentication",
        h("v2_pass_election_link_cut_and_failback"),
    ),
    (
        "virtual_ipaddress",
        h("balancer_failure_moves_the_vip_and_recovery_brings_it_back"),
    ),
    (
        "virtual_ipaddress_excluded",
        h("reconfigure_keeps_state_and_moves_only_changed_vips"),
    ),
    (
        "virtual_routes",
        h("virtual_routes_and_rules_follow_the_master"),
    ),
    (
        "virtual_rules",
        h("virtual_routes_and_rules_follow_the_master"),
    ),
    (
        "track_interface",
        h("link_down_and_send_not_ready_mean_fault"),
    ),
    (
        "track_script",
        h("track_script_and_control_socket_move_the_vip"),
    ),
    (
        "track_file",
        h("weighted_track_file_moves_the_vip_and_back"),
    ),
    (
        "dont_track_primary",
        h("link_down_and_send_not_ready_mean_fault"),
    ),
    ("unicast_src_ip", h("v3_unicast_peers_elect_and_fail_over")),
    ("unicast_peer", h("v3_unicast_peers_elect_and_fail_over")),
    ("unicast_ttl", h("unicast_peer_ttl_window")),
    (
        "unicast_fault_no_peer",
        h("unicast_without_peers_is_held_in_fault_like_keepalived"),
    ),
    (
        "check_unicast_src",
        h("unicast_v3_elects_with_real_destination_checksums"),
    ),
    ("mcast_src_ip", h("v2_pass_capture")),
    ("mcast_dst_ip", h("advert_bytes_match_keepalived")),
    (
        "track_src_ip",
        n("the source address is not tracked: its loss does not put the instance in FAULT"),
    ),
    (
        "garp_master_delay",
        h("master_adverts_every_interval_and_second_garp_burst"),
    ),
    (
        "garp_master_repeat",
        h("master_adverts_every_interval_and_second_garp_burst"),
    ),
    (
        "garp_master_refresh",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "garp_master_refresh_repeat",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "garp_lower_prio_delay",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "garp_lower_prio_repeat",
        h("garp_refresh_and_lower_priority_bursts"),
    ),
    (
        "lower_prio_no_advert",
        h("strict_mode_master_does_not_answer_lower_adverts"),
    ),
    (
        "higher_prio_send_advert",
        h("master_yields_to_higher_and_answers_lower"),
    ),
    ("owner_ignore_adverts", h("owner_ignore_adverts")),
    (
        "down_timer_adverts",
        h("v2_down_timer_matches_keepalived_observation"),
    ),
    (
        "timer_expired_backup",
        n(
            "when the master-down timer expires the instance becomes MASTER (keepalived's behaviour without it)",
        ),
    ),
    (
        "thread_timer_expired",
        n(
            "when the master-down timer expires the instance becomes MASTER (keepalived's behaviour without it)",
        ),
    ),
    (
        "smtp_alert",
        h("each_alert_arrives_with_sender_recipients_and_subject"),
    ),
    (
        "notify_master",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_backup",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_fault",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    (
        "notify_stop",
        h("group_notify_gets_group_and_priority_zero"),
    ),
    (
        "notify",
        h("generic_and_specific_scripts_run_once_per_transition_in_order"),
    ),
    ("notify_deleted", FIFO_LAB),
    ("notify_master_rx_lower_pri", FIFO_LAB),
    ("notify_priority_changes", FIFO_LAB),
    ("use_vmac", n(VMAC)),
    ("vmac_xmit_base", n(VMAC)),
    ("accept", n(ACCEPT)),
    ("no_accept", n(ACCEPT)),
    ("version", h("ipv6_v3_election_and_failover")),
    ("strict_mode", n(STRICT)),
    ("skip_check_adv_addr", h("own_address_is_flagged")),
    (
        "v3_checksum_as_v2",
        h("per_instance_v3_checksum_as_v2_overrides_the_global"),
    ),
    (
        "no_virtual_ipaddress",
        h("no_virtual_ipaddress_instance_loads_without_vips"),
    ),
    (
        "promote_secondaries",
        n(
            "`promote_secondaries` is not set on the interface; deleting a primary address may delete its secondaries",
        ),
    ),
    ("native_ipv6", h("ipv6_instance_is_v3")),
    (
        "debug",
        n("no extra logging for the instance: use vrrpd's `-D` or RUST_LOG=debug"),
    ),
    (
        "track_process",
        n("the process is not tracked: it cannot change any priority"),
    ),
    ("track_bfd", n(BFD)),
    ("use_vmac_addr", n(VMAC)),
    ("use_ipvlan", n(VMAC)),
    (
        "vrf",
        n("the VIPs are added to the instance interface, not to a VRF"),
    ),
    (
        "garp_extra_if",
        n("gratuitous ARPs go only to the instance's own interface"),
    ),
    ("kernel_rx_buf_size", n(TUNING)),
    (
        "linkbeat_use_polling",
        n("interfaces are watched through netlink link state only"),
    ),
    (
        "old_unicast_checksum",
        n(
            "adverts carry the RFC checksum; old keepalived's unicast checksum is still accepted on receipt",
        ),
    ),
    (
        "lvs_sync_daemon_interface",
        Rejected {
            why: "keepalived 2.2.7 reports it as deprecated in vrrp_instance (use the global `lvs_sync_daemon`, which keepalived's checker process reads)",
        },
    ),
];

/// Options of a VIP line (`ADDR [dev IF] [brd B] ...`).
pub(crate) const VIP_OPTION: &[(&str, Status)] = &[
    ("dev", h("v2_pass_instance_with_vip_attributes")),
    ("brd", h("derived_broadcast_and_label")),
    ("broadcast", h("derived_broadcast_and_label")),
    ("label", h("derived_broadcast_and_label")),
    ("scope", h("v2_pass_instance_with_vip_attributes")),
    ("peer", STATIC_LAB),
    ("home", STATIC_LAB),
    ("-nodad", STATIC_LAB),
    ("nodad", STATIC_LAB),
    ("mngtmpaddr", STATIC_LAB),
    ("noprefixroute", STATIC_LAB),
    ("autojoin", n(WITHOUT_OPTION)),
    ("preferred_lft", STATIC_LAB),
    (
        "no_track",
        n(
            "vrrpd does not watch any VIP: one removed by someone else stays removed until the next transition (keepalived, without no_track, drops to BACKUP and takes it back)",
        ),
    ),
    ("track", h("vip_full_syntax")),
    ("use_vmac", n(VMAC)),
];

/// Keywords that keepalived 2.2.7 does not know (newer keepalived releases). vrrpd treats them
/// per their status, and reports them as unknown-to-2.2.7 so `-t` classes stay the same.
pub const NEWER_THAN_2_2_7: &[&str] = &[
    "vrrp_owner_ignore_adverts",
    "v3_checksum_as_v2",
    "owner_ignore_adverts",
    "timer_expired_backup",
    "thread_timer_expired",
    "no_virtual_ipaddress",
    "auth_hmac",
    "vrrp_delay_after_boot",
];

/// The table of a block.
pub(crate) fn table(block: Block) -> &'static [(&'static str, Status)] {
    match block {
        Block::Root => ROOT,
        Block::GlobalDefs => GLOBAL,
        Block::VrrpScript => VRRP_SCRIPT,
        Block::TrackFile => TRACK_FILE,
        Block::SyncGroup => SYNC_GROUP,
        Block::Instance => INSTANCE,
        Block::Authentication => AUTHENTICATION,
        Block::VipOption => VIP_OPTION,
    }
}

/// The status of `kw` in `block`, `None` when keepalived does not know it there.
pub(crate) fn status(block: Block, kw: &str) -> Option<Status> {
    table(block).iter().find(|(k, _)| *k == kw).map(|(_, s)| *s)
}
