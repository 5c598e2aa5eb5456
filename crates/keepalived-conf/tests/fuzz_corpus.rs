//! Replays every committed `cargo fuzz` seed (fuzz/corpus/parse) through the loader, so
//! `make test` catches a regression on any input the fuzzer was given or found.

use keepalived_conf::fuzz_support::load_bytes;

#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let loaded = load_bytes(&data);
        let class = loaded.exit_class();
        assert!(
            [0, 2, 4, 5, 6].contains(&class),
            "{}: class {class}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 5, "fuzz seed corpus is missing ({n} files)");
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
