//! Top-level and `global_defs` keywords.

use super::*;

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
    (
        "static_ipaddress",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "static_routes",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "static_rules",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    ("vrrp_track_process", h(PROCESS_TEST)),
    ("garp_group", h(GARP_GROUP_TEST)),
    (
        "linkbeat_interfaces",
        n("interfaces are watched through netlink link state only"),
    ),
    (
        "interface_up_down_delays",
        h("interface_up_down_delays_hold_link_changes_like_keepalived"),
    ),
    ("track_group", h(TRACK_GROUP_TEST)),
    (
        "net_namespace",
        h("the_daemon_runs_in_the_configured_net_namespace_like_keepalived"),
    ),
    ("net_namespace_ipvs", n(LVS)),
    ("namespace_with_ipsets", n("no ipsets are maintained")),
    (
        "instance",
        n(
            "only vrrpd's nftables tables are named after it (`vrrpd_NAME`, so two daemons in one namespace keep their own); pid file and control socket keep vrrpd's names (`-p`)",
        ),
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
        h("static_addresses_without_dev_go_on_the_default_interface_like_keepalived"),
    ),
    (
        "vrrp_version",
        h("unicast_v3_with_trackers_and_fast_failover"),
    ),
    ("vrrp_strict", h(STRICT_TEST)),
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
    (
        "vrrp_startup_delay",
        h("startup_delay_holds_the_instances_back_like_keepalived"),
    ),
    (
        "vrrp_delay_after_boot",
        h("delay_after_boot_counts_only_while_the_system_is_young"),
    ),
    (
        "dynamic_interfaces",
        h("a_recreated_interface_brings_its_instance_back_like_keepalived"),
    ),
    ("vmac_prefix", h(VMAC_TEST)),
    (
        "v3_checksum_as_v2",
        h("v3_multicast_capture_uses_pseudo_header"),
    ),
    (
        "vrrp_notify_fifo",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "vrrp_notify_fifo_script",
        h("fifo_reader_script_gets_the_fifo_path_and_the_lines"),
    ),
    (
        "notify_fifo",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "notify_fifo_script",
        h("fifo_reader_script_gets_the_fifo_path_and_the_lines"),
    ),
    (
        "vrrp_notify_priority_changes",
        h("fifo_lines_match_keepalived_in_content_and_order"),
    ),
    (
        "max_auto_priority",
        h("late_timers_raise_the_vrrp_process_to_realtime_like_keepalived"),
    ),
    (
        "startup_script",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "shutdown_script",
        h("static_state_vip_options_and_routes_match_keepalived"),
    ),
    (
        "vrrp_garp_extra_if",
        h("vrrp_garp_extra_if_is_the_instances_default_like_keepalived"),
    ),
    ("vrrp_iptables", n(FIREWALL)),
    (
        "nftables",
        h("two_daemons_in_one_namespace_keep_their_own_nftables_tables"),
    ),
    ("nftables_priority", h(NFT_OPTIONS_TEST)),
    ("nftables_counters", h(NFT_OPTIONS_TEST)),
    ("nftables_ifindex", h(NFT_OPTIONS_TEST)),
    (
        "min_auto_priority_delay",
        h("late_timers_raise_the_vrrp_process_to_realtime_like_keepalived"),
    ),
    ("vrrp_priority", h(PROCESS_TUNING_TEST)),
    ("vrrp_rt_priority", h(PROCESS_TUNING_TEST)),
    ("vrrp_no_swap", h(PROCESS_TUNING_TEST)),
    ("vrrp_cpu_affinity", h(PROCESS_TUNING_TEST)),
    ("vrrp_rlimit_rttime", h(PROCESS_TUNING_TEST)),
    (
        "fifo_write_vrrp_states_on_reload",
        h("states_are_written_again_at_reload_like_keepalived"),
    ),
    (
        "vmac_addr_prefix",
        h("vmac_addr_prefix_names_the_vips_vmacs_like_keepalived"),
    ),
    (
        "log_unknown_vrids",
        h("log_unknown_vrids_logs_adverts_for_vrids_no_instance_owns_like_keepalived"),
    ),
    ("vrrp_rx_bufs_policy", h(ADVERT_RCVBUF_TEST)),
    ("vrrp_rx_bufs_multiplier", h(ADVERT_RCVBUF_TEST)),
    ("vrrp_netlink_cmd_rcv_bufs", h(NETLINK_RCVBUF_TEST)),
    ("vrrp_netlink_cmd_rcv_bufs_force", h(NETLINK_RCVBUF_TEST)),
    ("vrrp_netlink_monitor_rcv_bufs", h(NETLINK_RCVBUF_TEST)),
    (
        "vrrp_netlink_monitor_rcv_bufs_force",
        h(NETLINK_RCVBUF_TEST),
    ),
    ("reload_check_config", n(RELOAD)),
    ("include_check", n(RELOAD)),
    ("config_save_dir", n(RELOAD)),
    ("tmp_config_directory", n(RELOAD)),
    ("reload_time_file", n(RELOAD)),
    ("reload_file", n(RELOAD)),
    ("reload_repeat", n(RELOAD)),
    ("data_use_instance", n(RELOAD)),
    (
        "process_names",
        h("the_vrrp_process_takes_keepalived_names"),
    ),
    (
        "process_name",
        n("vrrpd is one process, not keepalived's parent: `vrrp_process_name` names it"),
    ),
    (
        "vrrp_process_name",
        h("the_vrrp_process_takes_keepalived_names"),
    ),
    ("umask", h(PROCESS_TUNING_TEST)),
    (
        "random_seed",
        h("random_seed_makes_random_expansions_repeatable"),
    ),
    (
        "startup_script_timeout",
        h("a_hanging_startup_script_is_killed_at_its_timeout"),
    ),
    (
        "shutdown_script_timeout",
        h("a_hanging_startup_script_is_killed_at_its_timeout"),
    ),
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
        h("link_local_igmp_reports_are_off_while_running_like_keepalived"),
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
    ("vrrp_rlimit_rtime", h(PROCESS_TUNING_TEST)),
    (
        "vrrp_vmac_garp_intvl",
        h("vrrp_garp_extra_if_is_the_instances_default_like_keepalived"),
    ),
    ("process_monitor_rcv_bufs", h(CONNECTOR_RCVBUF_TEST)),
    ("process_monitor_rcv_bufs_force", h(CONNECTOR_RCVBUF_TEST)),
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

const GARP_GROUP_TEST: &str =
    "garp_group_paces_gratuitous_arps_per_interface_group_like_keepalived";

const TRACK_GROUP_TEST: &str =
    "an_interface_of_track_group_statics_going_down_faults_the_group_like_keepalived";

/// Inside `track_group NAME { }`.
pub(crate) const TRACK_GROUP: &[(&str, Status)] = &[("group", h(TRACK_GROUP_TEST))];

/// Inside `garp_group { }`.
pub(crate) const GARP_GROUP: &[(&str, Status)] = &[
    ("garp_interval", h(GARP_GROUP_TEST)),
    ("gna_interval", h(GARP_GROUP_TEST)),
    ("interface", h(GARP_GROUP_TEST)),
    ("interfaces", h(GARP_GROUP_TEST)),
];

const NFT_OPTIONS_TEST: &str =
    "nftables_priority_counters_and_ifindex_shape_the_rules_like_keepalived";
