//! `track_group` blocks and the `track_group NAME` option of static entries: the model, and the
//! file:line diagnostics keepalived 2.2.7's `-t` prints for bad references (its exit classes
//! are compared with keepalived itself in `differential.rs`).

use keepalived_conf::{Config, Diagnostic, LoadOptions, MemResolver, Severity, load_with};
use std::path::Path;

const FILE: &str = "/etc/keepalived/keepalived.conf";

fn load(text: &str) -> (Config, Vec<Diagnostic>) {
    let r = MemResolver::new().with_file(FILE, text);
    let opts = LoadOptions {
        skip_script_checks: true,
        ..LoadOptions::default()
    };
    let out = load_with(&r, Path::new(FILE), &opts);
    (out.config.expect("a config"), out.diagnostics)
}

const INSTANCES: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1/24\n }\n}\n\
vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 198.18.0.2/24\n }\n}\n";

/// The (line, message) of each diagnostic.
fn lines(diags: &[Diagnostic]) -> Vec<(u32, String)> {
    diags.iter().map(|d| (d.line, d.message.clone())).collect()
}

#[test]
fn static_entries_carry_the_group_they_name() {
    let text = format!(
        "track_group TG {{\n group {{\n VI_1 VI_2\n }}\n}}\n\
         static_ipaddress {{\n 198.18.5.1/24 dev eth1 track_group TG\n}}\n\
         static_routes {{\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group TG\n}}\n\
         static_rules {{\n from 198.18.5.0/24 iif eth1 table 100 priority 100 track_group TG\n}}\n{INSTANCES}"
    );
    let (cfg, diags) = load(&text);
    assert!(diags.is_empty(), "{:#?}", lines(&diags));
    assert_eq!(cfg.track_groups.len(), 1);
    assert_eq!(cfg.track_groups[0].instances, ["VI_1", "VI_2"]);
    assert_eq!(cfg.static_addresses[0].track_group.as_deref(), Some("TG"));
    assert_eq!(cfg.static_routes[0].track_group.as_deref(), Some("TG"));
    assert_eq!(cfg.static_rules[0].track_group.as_deref(), Some("TG"));
    assert_eq!(cfg.static_rules[0].iif.as_deref(), Some("eth1"));
}

#[test]
fn an_unknown_or_later_group_is_not_found_at_its_line() {
    let text = format!(
        "static_ipaddress {{\n 198.18.5.1/24 dev eth1 track_group TG\n}}\n\
         track_group TG {{\n group {{\n VI_1\n }}\n}}\n\
         static_routes {{\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group NOPE\n}}\n{INSTANCES}"
    );
    let (cfg, diags) = load(&text);
    assert_eq!(
        lines(&diags),
        [
            (2, "track_group TG not found".to_string()),
            (10, "track_group NOPE not found".to_string()),
        ]
    );
    assert!(diags.iter().all(|d| d.severity == Severity::Error));
    assert_eq!(cfg.static_addresses[0].track_group, None);
    assert_eq!(cfg.static_routes[0].track_group, None);
}

#[test]
fn a_route_or_rule_without_an_interface_cannot_name_a_group() {
    let text = format!(
        "track_group TG {{\n group {{\n VI_1\n }}\n}}\n\
         static_routes {{\n 198.18.7.0/24 via 198.18.5.254 track_group TG\n}}\n\
         static_rules {{\n from 198.18.5.0/24 table 100 priority 100 track_group TG\n}}\n{INSTANCES}"
    );
    let (cfg, diags) = load(&text);
    assert_eq!(
        lines(&diags),
        [
            (
                7,
                "Warning - cannot track route 198.18.7.0/24 with no interface specified, not tracking"
                    .to_string()
            ),
            (
                7,
                "Static route cannot have track group if no oif specified".to_string()
            ),
            (
                10,
                "Static rule cannot have track_group if dev/iif not specified".to_string()
            ),
        ]
    );
    assert_eq!(cfg.static_routes[0].track_group, None);
    assert_eq!(cfg.static_rules[0].track_group, None);
}

#[test]
fn bad_group_blocks_are_reported_at_their_lines() {
    let text = format!(
        "track_group TG {{\n group {{\n VI_1\n VI_9\n }}\n}}\n\
         track_group TG {{\n group {{\n VI_2\n }}\n}}\n\
         track_group E {{\n group {{\n }}\n}}\n\
         track_group {{\n}}\n{INSTANCES}"
    );
    let (cfg, diags) = load(&text);
    let got = lines(&diags);
    assert!(
        got.contains(&(7, "track_group TG already defined".to_string())),
        "{got:#?}"
    );
    assert!(
        got.contains(&(
            12,
            "Warning - track group E has empty group block".to_string()
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&(16, "track_group must have a name - skipping".to_string())),
        "{got:#?}"
    );
    // keepalived says nothing about a member that is no instance; vrrpd warns at its line.
    let unknown = diags
        .iter()
        .find(|d| d.message.contains("VI_9"))
        .expect("a warning about VI_9");
    assert_eq!((unknown.line, unknown.severity), (4, Severity::Warning));
    assert_eq!(cfg.track_groups[0].instances, ["VI_1"]);
    assert_eq!(cfg.track_groups.len(), 2);
}

#[test]
fn a_groups_instances_track_the_interfaces_of_the_static_entries_naming_it() {
    let text = format!(
        "global_defs {{\n default_interface eth9\n}}\n\
         track_group TG {{\n group {{\n VI_1\n }}\n}}\n\
         static_ipaddress {{\n 198.18.5.1/24 track_group TG\n 198.18.5.2/24 dev eth2 track_group TG no_track\n\
         198.18.5.3/24 dev eth3\n}}\n\
         static_routes {{\n 198.18.7.0/24 via 198.18.5.254 dev eth4 track_group TG\n}}\n\
         static_rules {{\n from 198.18.5.0/24 iif eth5 table 100 priority 100 track_group TG\n}}\n{INSTANCES}"
    );
    let (cfg, diags) = load(&text);
    assert!(diags.is_empty(), "{:#?}", lines(&diags));
    assert_eq!(cfg.track_group_interfaces("VI_1"), ["eth9", "eth4", "eth5"]);
    assert!(cfg.track_group_interfaces("VI_2").is_empty());
}
