//! Whole-configuration checks (duplicate VRID, sync groups, script security) name the file and
//! line of the offending keyword, never `file:0`.

use keepalived_conf::*;
use std::collections::BTreeSet;
use std::path::Path;

const MAIN: &str = "/etc/keepalived/keepalived.conf";
const INC: &str = "/etc/keepalived/instances.conf";

fn load(main: &str, inc: &str) -> Loaded {
    let mut r = MemResolver::new().with_file(MAIN, main).with_file(INC, inc);
    r.scripts.insert("/bin/check".into(), true);
    r.scripts.insert("/bin/unsafe".into(), false);
    r.users = Some(BTreeSet::from(["root".to_string()]));
    load_with(&r, Path::new(MAIN), &LoadOptions::default())
}

/// (file, line) of the diagnostics whose message contains `what`.
fn at(l: &Loaded, what: &str) -> Vec<(String, u32)> {
    l.diagnostics
        .iter()
        .filter(|d| d.message.contains(what))
        .map(|d| (d.file.to_string(), d.line))
        .collect()
}

fn inst(name: &str, vrid: u8, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{extra} virtual_ipaddress {{\n 198.18.0.{vrid}\n }}\n}}\n"
    )
}

#[test]
fn duplicate_vrid_names_the_second_virtual_router_id_line() {
    let l = load(
        &format!("{}include instances.conf\n", inst("A", 7, "")),
        &format!("\n{}", inst("B", 7, "")),
    );
    // B's virtual_router_id is line 4 of the included file.
    assert_eq!(at(&l, "both use VRID 7"), [(INC.to_string(), 4)]);
}

#[test]
fn sync_group_problems_name_the_member_or_group_line() {
    let text = format!(
        "vrrp_sync_group G {{\n group {{\n A\n NOPE\n }}\n}}\nvrrp_sync_group H {{\n group {{\n A\n }}\n}}\n{}",
        inst("A", 1, "")
    );
    let l = load(&text, "");
    assert_eq!(
        at(&l, "NOPE specified in sync group"),
        [(MAIN.to_string(), 4)]
    );
    assert_eq!(
        at(&l, "cannot exist in more than one sync group"),
        [(MAIN.to_string(), 9)]
    );
    assert_eq!(at(&l, "Sync group G has only 1"), [(MAIN.to_string(), 1)]);
    assert_eq!(
        at(&l, "Sync group H has no virtual"),
        [(MAIN.to_string(), 7)]
    );
}

#[test]
fn script_checks_name_the_script_or_notify_line() {
    let scripts = "vrrp_script c {\n interval 1\n script /bin/check\n}\nvrrp_script u {\n script /bin/unsafe\n}\n";
    let track = " track_script {\n c\n u\n }\n notify_master /bin/unsafe\n";
    // Without enable_script_security: the violation names the first script run as root.
    let l = load(&format!("{scripts}{}", inst("A", 1, track)), "");
    assert_eq!(at(&l, "SECURITY VIOLATION"), [(MAIN.to_string(), 3)]);
    // With it: each unsafe script is named where it is given.
    let l = load(
        &format!(
            "global_defs {{\n enable_script_security\n script_user root\n}}\n{scripts}{}",
            inst("A", 1, track)
        ),
        "",
    );
    assert_eq!(
        at(
            &l,
            "Unsafe permissions found for script '/bin/unsafe' - disabling"
        ),
        [(MAIN.to_string(), 10)]
    );
    assert_eq!(
        at(&l, "Unsafe permissions found for script '/bin/unsafe'")
            .last()
            .cloned(),
        Some((MAIN.to_string(), 19))
    );
    assert!(
        l.diagnostics.iter().all(|d| d.line != 0),
        "{:?}",
        l.diagnostics
    );
}
