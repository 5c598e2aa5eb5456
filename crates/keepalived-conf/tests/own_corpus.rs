//! The corpus written for this crate (tests/corpus/, always present, unlike the external one):
//! each file's `-t` class equals keepalived 2.2.7's, recorded in VERDICTS.tsv, and re-checked
//! against keepalived itself when the oracle runs here, so the recording cannot go stale.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;

use keepalived_conf::{LoadOptions, load_file};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn verdicts() -> Vec<(String, u8)> {
    std::fs::read_to_string(dir().join("VERDICTS.tsv"))
        .expect("tests/corpus/VERDICTS.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (f, c) = l.split_once('\t').expect("file<TAB>class");
            (f.to_string(), c.trim().parse().expect("class"))
        })
        .collect()
}

#[test]
fn every_corpus_file_has_a_recorded_verdict() {
    let listed: BTreeSet<String> = verdicts().into_iter().map(|(f, _)| f).collect();
    let present: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    assert_eq!(listed, present, "VERDICTS.tsv and the .conf files differ");
    assert!(listed.len() >= 10, "only {} corpus files", listed.len());
    let classes: BTreeSet<u8> = verdicts().into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        classes,
        BTreeSet::from([0, 2, 5, 6]),
        "every class is represented"
    );
}

#[test]
fn own_corpus_classes_match_keepalived_2_2_7() {
    let with_oracle = oracle::available();
    let mut wrong = Vec::new();
    for (file, want) in verdicts() {
        let path = dir().join(&file);
        let loaded = load_file(&path, &LoadOptions::default());
        let ours = loaded.exit_class();
        if ours != want {
            wrong.push(format!(
                "{file}: recorded {want}, vrrpd {ours}: {:?}",
                loaded.diagnostics
            ));
        }
        if with_oracle {
            let theirs = oracle::class(&path);
            if theirs != Some(want) {
                wrong.push(format!(
                    "{file}: recorded {want}, keepalived now {theirs:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
