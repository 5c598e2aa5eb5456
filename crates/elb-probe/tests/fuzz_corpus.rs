//! Replays the committed fuzz corpus (and every input that ever found a bug,
//! kept in fuzz/regressions/) through the fuzz harness on stable, so
//! `cargo test` catches a regression without nightly.

use std::fs;
use std::path::Path;

fn replay(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let data = fs::read(&path).expect("corpus file");
        elb_probe::response::fuzz_reader(&data);
        count += 1;
    }
    count
}

#[test]
fn response_reader_corpus_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = replay(&root.join("corpus/response_reader"));
    assert!(seeds >= 10, "seed corpus missing ({seeds} files)");
    replay(&root.join("regressions/response_reader"));
}
