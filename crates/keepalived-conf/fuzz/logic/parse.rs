//! The whole loader's invariants (reader, parser, checks, with an in-memory include resolver),
//! shared by the fuzz target and the stable corpus-replay test: no panic, every diagnostic
//! renders, and the verdict is one of keepalived's `-t` exit classes.

use keepalived_conf::fuzz_support::load_bytes;

/// Checks one input; panics on a broken invariant.
pub fn run(data: &[u8]) {
    let loaded = load_bytes(data);
    let class = loaded.exit_class();
    assert!([0, 2, 4, 5, 6].contains(&class), "exit class {class}");
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
}
