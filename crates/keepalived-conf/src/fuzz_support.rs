//! Shared by the `cargo fuzz` target and the test that replays its corpus: one byte string
//! becomes a small in-memory configuration tree.

use crate::{LoadOptions, Loaded, MemResolver, load_with};
use std::collections::BTreeSet;
use std::path::Path;

/// Splits `data` at NUL bytes: the first part is `/c/keepalived.conf`, the following ones
/// `/c/inc0.conf`, `/c/inc1.conf`, ... (reachable with `include inc*.conf`). `/c/check.sh`
/// is an existing script and `root` a known user, so the script checks run too.
pub fn load_bytes(data: &[u8]) -> Loaded {
    let mut parts = data.split(|b| *b == 0);
    let mut r =
        MemResolver::new().with_file("/c/keepalived.conf", parts.next().unwrap_or_default());
    for (n, part) in parts.take(8).enumerate() {
        r.files
            .insert(format!("/c/inc{n}.conf").into(), part.to_vec());
    }
    r.scripts.insert("/c/check.sh".into(), true);
    r.users = Some(BTreeSet::from(["root".to_string()]));
    let opts = LoadOptions {
        config_id: Some("nodeA".into()),
        // Small: a fuzzer finds `~SEQ` chains quickly; a million lines per input only slows it.
        max_lines: Some(20_000),
        ..LoadOptions::default()
    };
    load_with(&r, Path::new("/c/keepalived.conf"), &opts)
}
