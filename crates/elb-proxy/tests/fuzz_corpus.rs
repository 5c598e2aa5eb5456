//! Replays the committed fuzz corpora (and any crash inputs kept as regressions) on stable,
//! so `cargo test` catches a regression without the nightly fuzzer.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            f(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 3, "{}: only {n} corpus files", dir.display());
}

#[test]
fn config_route_corpus_replays() {
    replay("config_route", elb_proxy_core::fuzzing::config_and_route);
}

#[test]
fn admin_command_corpus_replays() {
    replay("admin_command", elb_proxy_core::fuzzing::admin_command);
}

#[test]
fn proxy_header_corpus_replays() {
    replay("proxy_header", elb_proxy_core::fuzzing::proxy_header);
}

#[test]
fn request_gate_corpus_replays() {
    replay("request_gate", elb_proxy_core::fuzzing::request_gate);
}

#[test]
fn limits_table_corpus_replays() {
    replay("limits_table", elb_proxy_core::fuzzing::limits_table);
}
