//! An interface an instance names (its `interface`, a VIP's `dev`) that the host lacks:
//! keepalived's warning at that line, exit class 5, and the instance reported as unable to run.

use keepalived_conf::{LoadOptions, MemResolver, load_with};
use std::path::Path;

const CONF: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
    virtual_ipaddress {\n 198.18.0.1/24 dev nosuch9\n }\n}\n\
    vrrp_instance B {\n interface eth0\n virtual_router_id 2\n\
    virtual_ipaddress {\n 198.18.0.2/24\n }\n}\n";

fn load(interfaces: Option<&[&str]>) -> keepalived_conf::Loaded {
    let mut r = MemResolver::new().with_file("/k.conf", CONF);
    r.interfaces = interfaces.map(|i| i.iter().map(|s| s.to_string()).collect());
    load_with(&r, Path::new("/k.conf"), &LoadOptions::default())
}

#[test]
fn a_missing_vip_dev_is_warned_at_its_line_and_marks_only_its_instance() {
    let l = load(Some(&["eth0"]));
    let texts: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        texts.contains(
            &"/k.conf:5:0: warning: WARNING - interface nosuch9 for ip address 198.18.0.1/24 doesn't exist"
                .to_string()
        ),
        "{texts:?}"
    );
    assert_eq!(l.exit_class(), 5);
    let down: Vec<&str> = l
        .missing_interfaces
        .iter()
        .map(|m| m.instance.as_str())
        .collect();
    assert_eq!(down, ["A"]);
}

#[test]
fn a_missing_instance_interface_marks_every_instance_on_it() {
    let l = load(Some(&[]));
    let down: Vec<&str> = l
        .missing_interfaces
        .iter()
        .map(|m| m.instance.as_str())
        .collect();
    assert_eq!(down, ["A", "A", "B"]);
    assert!(
        l.missing_interfaces[0]
            .message
            .starts_with("/k.conf:2:0: warning: WARNING - interface eth0 for vrrp_instance A")
    );
}

#[test]
fn unknown_interfaces_make_no_diagnostic() {
    let l = load(None);
    assert!(l.missing_interfaces.is_empty());
    assert_eq!(l.exit_class(), 0, "{:?}", l.diagnostics);
}
