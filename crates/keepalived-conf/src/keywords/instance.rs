//! Keywords of the VRRP blocks: scripts, track files and processes, sync groups,
//! instances and VIP options.

use super::*;

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
    (
        "init_file",
        h("inotify_reports_writes_renames_and_removal_without_polling"),
    ),
];

/// `vrrp_track_process` keywords.
pub(crate) const TRACK_PROCESS: &[(&str, Status)] = &[
    ("process", h(PROCESS_TEST)),
    (
        "param_match",
        h("parameters_match_exactly_partially_or_initially"),
    ),
    ("weight", h(PROCESS_TEST)),
    ("quorum", h("quorum_bounds_decide_up")),
    ("quorum_max", h("quorum_bounds_decide_up")),
    ("delay", h("delay_sets_both_fork_and_terminate_delay")),
    (
        "fork_delay",
        h("a_change_waits_for_its_delay_and_a_bounce_cancels_it"),
    ),
    (
        "terminate_delay",
        h("a_change_waits_for_its_delay_and_a_bounce_cancels_it"),
    ),
    ("full_command", h("full_command_matches_argv0_not_the_name")),
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
    (
        "notify_priority_changes",
        h("a_sync_groups_notify_priority_changes_matches_keepalived"),
    ),
    ("global_tracking", h("sync_groups_resolve_after_parsing")),
    ("track_process", h(PROCESS_TEST)),
    ("track_bfd", n(BFD)),
];

/// `authentication` keywords.
pub(crate) const AUTHENTICATION: &[(&str, Status)] = &[
    ("auth_type", h("vrrpd_master_keepalived_backup_v2_ah")),
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
        h("track_src_ip_faults_while_the_source_address_is_gone_like_keepalived"),
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
        h("stalled_nopreempt_master_with_timer_expired_backup_stays_backup"),
    ),
    (
        "thread_timer_expired",
        h("stalled_nopreempt_master_with_timer_expired_backup_stays_backup"),
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
    (
        "notify_deleted",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "notify_master_rx_lower_pri",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "notify_priority_changes",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "use_vmac",
        h("vmac_pair_fails_over_and_back_and_the_client_keeps_the_virtual_mac"),
    ),
    (
        "vmac_xmit_base",
        h("vmac_xmit_base_pair_fails_over_and_back"),
    ),
    ("accept", h(NO_ACCEPT)),
    ("no_accept", h(NO_ACCEPT)),
    ("version", h("ipv6_v3_election_and_failover")),
    ("strict_mode", h(STRICT_TEST)),
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
        h("promote_secondaries_is_set_while_running_and_restored_on_exit_like_keepalived"),
    ),
    ("native_ipv6", h("ipv6_instance_is_v3")),
    (
        "debug",
        n("no extra logging for the instance: use vrrpd's `-D` or RUST_LOG=debug"),
    ),
    ("track_process", h(PROCESS_TEST)),
    ("track_bfd", n(BFD)),
    (
        "use_vmac_addr",
        h("use_vmac_addr_gives_every_vip_of_another_interface_a_vmac_like_keepalived"),
    ),
    ("use_ipvlan", n(VMAC)),
    (
        "vrf",
        n("the VIPs are added to the instance interface, not to a VRF"),
    ),
    (
        "garp_extra_if",
        h("garp_extra_if_repeats_gratuitous_arps_on_the_vips_other_interfaces_like_keepalived"),
    ),
    (
        "vmac_garp_intvl",
        h("garp_extra_if_repeats_gratuitous_arps_on_the_vips_other_interfaces_like_keepalived"),
    ),
    ("kernel_rx_buf_size", h(ADVERT_RCVBUF_TEST)),
    (
        "linkbeat_use_polling",
        n("interfaces are watched through netlink link state only"),
    ),
    (
        "old_unicast_checksum",
        h("vrrpd_accepts_old_unicast_checksum_from_keepalived"),
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
    (
        "peer",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "home",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "-nodad",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "nodad",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "mngtmpaddr",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "noprefixroute",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "autojoin",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "preferred_lft",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "no_track",
        h("a_vip_or_route_interface_going_down_faults_the_instance_unless_no_track"),
    ),
    ("track", h("vip_full_syntax")),
    (
        "use_vmac",
        h("a_vips_use_vmac_makes_a_vmac_on_its_interface_like_keepalived"),
    ),
];
