//! The one rule for tests that need what a machine may lack.
//!
//! Under CI (`CI` set to anything but empty, `0` or `false`) or with `ELB_E2E=1`, a missing
//! capability is a failure: CI machines are set up to run everything, so a skip there would
//! hide a broken setup. Anywhere else the test prints `SKIPPED: <test> needs <what>` on
//! stderr and returns early, so `cargo test` stays usable as an ordinary user.

/// Whether this run must execute every test (CI or `ELB_E2E=1`) rather than skip.
pub fn must_run() -> bool {
    rule(
        std::env::var("CI").ok().as_deref(),
        std::env::var("ELB_E2E").ok().as_deref(),
    )
}

/// The rule on the two variables' values, apart from the environment so it can be tested.
fn rule(ci: Option<&str>, elb_e2e: Option<&str>) -> bool {
    let ci = ci.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    ci || elb_e2e.is_some_and(|v| v.trim() == "1")
}

/// Skips `test` (prints why, returns `false`), or panics when [`must_run`] holds.
pub fn skip_or_fail(test: &str, needs: &str) -> bool {
    if must_run() {
        panic!("{test} needs {needs}, and CI/ELB_E2E=1 forbids skipping it");
    }
    eprintln!("SKIPPED: {test} needs {needs}");
    false
}

/// `true` when `available`; otherwise the skip-or-fail rule for `test`, which needs `needs`.
pub fn require(test: &str, available: bool, needs: &str) -> bool {
    available || skip_or_fail(test, needs)
}

/// `true` when running as root; otherwise the skip-or-fail rule.
pub fn require_root(test: &str) -> bool {
    require(test, nix::unistd::geteuid().is_root(), "root")
}

/// Whether the Debian package's `program` is on this machine (absolute path, or on `PATH`).
pub fn has_program(program: &str) -> bool {
    let path = std::path::Path::new(program);
    if path.is_absolute() {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::rule;

    #[test]
    fn ci_set_to_anything_but_empty_zero_or_false_forbids_skipping() {
        assert!(rule(Some("true"), None));
        assert!(rule(Some("1"), None));
        assert!(rule(Some("github"), None));
        assert!(!rule(Some(""), None));
        assert!(!rule(Some("0"), None));
        assert!(!rule(Some("false"), None));
    }

    #[test]
    fn only_elb_e2e_equal_to_one_forbids_skipping() {
        assert!(rule(None, Some("1")));
        assert!(!rule(None, Some("0")));
        assert!(!rule(None, Some("yes")));
        assert!(!rule(None, None));
    }
}
