//! Fuzz the whole loader (reader, parser, checks) with an in-memory include resolver.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let loaded = keepalived_conf::fuzz_support::load_bytes(data);
    let _ = loaded.exit_class();
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
});
