//! The real-world corpus (../shared/keepalived-confs, 52 files) loads, and our `-t` class equals
//! keepalived 2.2.7's recorded one, or the file is named in docs/keepalived-compat.md.
//! The corpus is found through `KEEPALIVED_CORPUS` (default `../shared/keepalived-confs` beside
//! the repository); without it the test prints SKIPPED, or fails if `KEEPALIVED_CORPUS_REQUIRED`
//! is set.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;

use keepalived_conf::{LoadOptions, load_file};
use std::path::PathBuf;

#[test]
fn corpus_classes_match_keepalived_2_2_7() {
    let Some(dir) = oracle::external_corpus() else {
        return;
    };
    let compat = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/keepalived-compat.md"),
    )
    .unwrap_or_default();
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut checked = 0;
    let mut undocumented = Vec::new();
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, want_instances, want) = (cols[0], cols[4], cols[5]);
        let want: u8 = want.parse().unwrap();
        let loaded = load_file(&dir.join(file), &LoadOptions::default());
        let got = loaded.exit_class();
        checked += 1;
        if let Some(cfg) = &loaded.config {
            // No corpus instance fails keepalived\'s final checks: every block is an instance.
            let n: usize = want_instances.parse().unwrap();
            assert_eq!(cfg.instances.len(), n, "{file}: instances in the model");
        } else {
            assert_eq!(want, 2, "{file}: no config but keepalived did not stop");
        }
        if got != want {
            let documented = compat.contains(file);
            eprintln!(
                "{file}: keepalived {want}, vrrpd {got}{}",
                if documented { " (documented)" } else { "" }
            );
            for d in &loaded.diagnostics {
                eprintln!("    {d}");
            }
            if !documented {
                undocumented.push(format!("{file}: keepalived {want} vrrpd {got}"));
            }
        }
    }
    assert_eq!(checked, 52);
    assert!(
        undocumented.is_empty(),
        "undocumented differences:\n{}",
        undocumented.join("\n")
    );
}
