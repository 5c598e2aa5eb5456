//! Replays the committed fuzz corpus (and every input that ever found a bug, kept in
//! fuzz/regressions/) through the fuzz target's own check on stable, so `cargo test` catches a
//! regression without nightly.

#[test]
fn response_reader_corpus_replays_clean() {
    test_support::replay(
        env!("CARGO_MANIFEST_DIR"),
        "response_reader",
        10,
        elb_probe::response::fuzz_reader,
    );
}
