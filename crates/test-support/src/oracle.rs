//! The oracles the differential and interop tests compare with, and the one version each
//! was recorded against: a different version fails, because the recorded verdicts and the
//! documented differences are that version's.

use std::process::Command;

/// Debian's keepalived.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The keepalived version every recorded verdict and interop expectation is for.
pub const KEEPALIVED_VERSION: &str = "Keepalived v2.2.7 ";

/// Whether keepalived is installed: `true`, or the skip-or-fail rule for `test`.
pub fn keepalived_present(test: &str) -> bool {
    crate::gate::require(
        test,
        std::path::Path::new(KEEPALIVED).is_file(),
        "keepalived (apt-get install keepalived)",
    )
}

/// Panics unless the installed keepalived is 2.2.7 (`keepalived -v`); returns its first line.
pub fn assert_keepalived_2_2_7() -> String {
    let out = Command::new(KEEPALIVED)
        .arg("-v")
        .output()
        .unwrap_or_else(|e| panic!("{KEEPALIVED} -v: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let first = text.lines().next().unwrap_or("").to_string();
    assert!(
        text.contains(KEEPALIVED_VERSION),
        "the oracle must be keepalived 2.2.7, found: {first}"
    );
    first
}
