//! Replays the committed fuzz corpus of the control command parser on stable, with the same
//! checks as `fuzz/fuzz_targets/control_command.rs`, so `cargo test` guards every input the
//! fuzzer ever kept (and any crash input saved under `fuzz/artifacts/control_command`).

use std::path::Path;

use vrrpd::control::parse_command;

fn check(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match parse_command(line) {
        Ok(cmd) => {
            let canonical = cmd.to_string();
            assert_eq!(parse_command(&canonical), Ok(cmd), "{canonical:?}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.len() < 256, "{msg:?}");
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
    }
}

#[test]
fn committed_corpus_and_artifacts_parse_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut seen = 0;
    for dir in ["corpus/control_command", "artifacts/control_command"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            check(&data);
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "corpus missing: only {seen} inputs under {root:?}"
    );
}
