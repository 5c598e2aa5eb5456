//! `vrrp_track_process` blocks and `track_process` references: defaults, delays, quorum
//! checks and the references of instances and sync groups.

use keepalived_conf::*;
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    let r = MemResolver::new().with_file("/k.conf", text);
    let opts = LoadOptions {
        skip_script_checks: true,
        ..LoadOptions::default()
    };
    load_with(&r, Path::new("/k.conf"), &opts)
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1/24\n }\n track_process {\n proxy weight -20\n }\n}\n";

#[test]
fn delay_sets_both_fork_and_terminate_delay() {
    let l = load(&format!(
        "vrrp_track_process proxy {{\n process elb-proxy --config \"/etc/a b.yaml\"\n param_match partial\n delay 0.25\n terminate_delay 1.5\n quorum 2\n quorum_max 3\n full_command\n}}\n{INSTANCE}"
    ));
    assert_eq!(l.exit_class(), 0, "{:?}", l.diagnostics);
    let c = l.config.unwrap();
    let t = &c.track_processes["proxy"];
    assert_eq!(t.process, "elb-proxy");
    assert_eq!(t.params, ["--config", "/etc/a b.yaml"]);
    assert_eq!(t.param_match, Some(ParamMatch::Partial));
    assert_eq!(t.fork_delay, Duration::from_millis(250));
    // Written after `delay`, so it wins for the terminate side only.
    assert_eq!(t.terminate_delay, Duration::from_millis(1500));
    assert_eq!((t.quorum, t.quorum_max), (2, Some(3)));
    assert!(t.full_command);
    // No `weight`: keepalived 2.2.7 faults the instance when too few run (weight 0), though
    // its man page speaks of a default of 1.
    assert_eq!((t.weight, t.weight_reverse), (0, false));
    let r = &c.instances[0].track_process[0];
    assert_eq!((r.name.as_str(), r.weight), ("proxy", Some(-20)));
}

#[test]
fn bare_param_match_demands_no_parameters_and_bad_values_are_errors() {
    let l = load(&format!(
        "vrrp_track_process proxy {{\n process elb-proxy\n param_match\n quorum 0\n weight 300\n}}\n{INSTANCE}"
    ));
    assert_eq!(l.exit_class(), 5);
    let c = l.config.unwrap();
    let t = &c.track_processes["proxy"];
    assert_eq!(t.param_match, Some(ParamMatch::Exact));
    assert!(t.params.is_empty());
    assert_eq!((t.quorum, t.weight), (1, 0), "invalid values are ignored");
    let quorum = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("quorum '0'"))
        .expect("quorum error");
    assert_eq!(quorum.line, 4);
}

#[test]
fn quorum_max_below_quorum_is_dropped_with_an_error() {
    let l = load(&format!(
        "vrrp_track_process proxy {{\n process elb-proxy\n quorum 3\n quorum_max 2\n}}\n{INSTANCE}"
    ));
    assert_eq!(l.exit_class(), 5);
    assert_eq!(l.config.unwrap().track_processes["proxy"].quorum_max, None);
}

#[test]
fn unknown_process_reference_is_an_error_and_a_block_without_process_is_removed() {
    let l = load(&format!(
        "vrrp_track_process proxy {{\n weight 2\n}}\n{INSTANCE}"
    ));
    assert_eq!(l.exit_class(), 5);
    let c = l.config.unwrap();
    assert!(c.track_processes.is_empty());
    assert!(c.instances[0].track_process.is_empty());
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.message.contains("track process proxy not found"))
    );
}

#[test]
fn sync_group_members_lose_process_weights_without_tracking_weight() {
    let l = load(&format!(
        "vrrp_track_process proxy {{\n process elb-proxy\n}}\nvrrp_sync_group G {{\n group {{\n VI_1\n }}\n track_process {{\n proxy\n }}\n}}\n{INSTANCE}"
    ));
    let c = l.config.unwrap();
    assert_eq!(c.instances[0].track_process[0].weight, Some(0));
    assert_eq!(c.sync_groups[0].track_process[0].name, "proxy");
}
