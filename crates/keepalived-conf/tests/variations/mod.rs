//! The variations the differential tests feed to keepalived 2.2.7's `-t` and to this crate,
//! and the comparison itself: same exit class on every one.

use crate::oracle;
use keepalived_conf::{FsResolver, IncludeResolver, LoadOptions, load_with};

/// One variation: files (relative path, text); the first is the main file.
pub struct Case {
    pub name: String,
    pub files: Vec<(String, String)>,
}

pub fn instance(name: &str, vrid: &str, body: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n{body}\n    virtual_ipaddress {{\n        198.18.0.10/24\n    }}\n}}\n"
    )
}

pub fn one(name: &str, text: String) -> Case {
    Case {
        name: name.to_string(),
        files: vec![("keepalived.conf".into(), text)],
    }
}

/// A realistic base: global_defs, a secure script setup, one instance.
pub fn base(global_extra: &str, inst_body: &str) -> String {
    format!(
        "global_defs {{\n    router_id test\n{global_extra}\n}}\n{}",
        instance("VI_1", "51", inst_body)
    )
}

/// Runs every case through keepalived and this crate; fails on any disagreement, or when
/// fewer than `min` cases could be compared (keepalived 2.2.7 crashes on a few).
/// Variations whose class differs on purpose: (case, keepalived's class, ours, why). Each is
/// a row of docs/keepalived-compat.md's deliberate differences.
const DELIBERATE: &[(&str, u8, u8, &str)] = &[];

pub fn compare(cases: Vec<Case>, min: usize) {
    compare_with(cases, min, &FsResolver);
}

/// [`compare`] with this crate asking `host_view` (files, users, interfaces), for cases whose
/// class depends on what the oracle's namespace holds.
pub fn compare_with(cases: Vec<Case>, min: usize, host_view: &dyn IncludeResolver) {
    if !oracle::available() {
        return;
    }
    let host = oracle::short_hostname();
    let opts = LoadOptions {
        config_id: Some(host.clone()),
        ..LoadOptions::default()
    };
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in &case.files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text.replace("HOST", &host)).unwrap();
        }
        let main = dir.path().join(&case.files[0].0);
        let Some(theirs) = oracle::class(&main) else {
            eprintln!("{:32} keepalived killed/failed - not compared", case.name);
            continue;
        };
        let loaded = load_with(host_view, &main, &opts);
        let ours = loaded.exit_class();
        compared += 1;
        let deliberate = DELIBERATE
            .iter()
            .find(|(n, k, v, _)| *n == case.name && (*k, *v) == (theirs, ours));
        let mark = match deliberate {
            _ if ours == theirs => "ok",
            Some((.., why)) => why,
            None => "DIFFERENT",
        };
        eprintln!("{:32} keepalived {theirs} vrrpd {ours} {mark}", case.name);
        if ours != theirs && deliberate.is_none() {
            for d in &loaded.diagnostics {
                eprintln!("      {d}");
            }
            disagreements.push(format!("{}: keepalived {theirs}, vrrpd {ours}", case.name));
        }
    }
    assert!(compared >= min, "only {compared} variations compared");
    assert!(
        disagreements.is_empty(),
        "disagreements:\n{}",
        disagreements.join("\n")
    );
}
