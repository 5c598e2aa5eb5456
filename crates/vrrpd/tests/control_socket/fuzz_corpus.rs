//! Replays the control command parser's fuzz corpus and every crash input kept under
//! `fuzz/regressions/control_command` on stable, through the fuzz target's own check.

#[path = "../../fuzz/logic/control_command.rs"]
mod control_command;

#[test]
fn committed_corpus_and_regressions_parse_cleanly() {
    test_support::replay(
        env!("CARGO_MANIFEST_DIR"),
        "control_command",
        10,
        control_command::run,
    );
}
