//! Replays every committed `cargo fuzz` seed (fuzz/corpus/parse) and every crash input kept
//! under fuzz/regressions/parse through the fuzz target's own check, so `make test` catches a
//! regression on any input the fuzzer was given or found.

use keepalived_conf::fuzz_support::load_bytes;

#[path = "../fuzz/logic/parse.rs"]
mod parse;

#[test]
fn fuzz_corpus_replays() {
    test_support::replay(env!("CARGO_MANIFEST_DIR"), "parse", 5, parse::run);
}

#[test]
fn seeds_mean_what_they_say() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let full = load_bytes(&std::fs::read(dir.join("full_instance")).unwrap());
    let cfg = full.config.expect("full_instance loads");
    assert_eq!(cfg.instances[0].virtual_router_id, 9);
    assert_eq!(
        load_bytes(&std::fs::read(dir.join("missing_param")).unwrap()).exit_class(),
        2
    );
    let inc = load_bytes(&std::fs::read(dir.join("include_defs")).unwrap());
    let cfg = inc.config.expect("include_defs loads");
    assert_eq!(cfg.instances[0].priority, 150);
    assert_eq!(cfg.instances[0].virtual_ipaddress.len(), 3);
}
