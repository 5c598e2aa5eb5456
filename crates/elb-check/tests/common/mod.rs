//! Running the real elb-check binary from tests, bounded in time.
#![allow(dead_code)]

pub mod nginx;

use std::ffi::OsString;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one run of elb-check produced.
pub struct Run {
    /// Exit status (None: killed by a signal).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time of the whole process.
    pub elapsed: Duration,
}

/// The binary under test: Cargo's build of this package, or the one named by
/// `ELB_CHECK_BIN`, so the whole suite also runs against the binary users get
/// (`ELB_CHECK_BIN=$(crates/elb-check/build-static.sh) cargo test -p elb-check`).
pub fn binary() -> OsString {
    std::env::var_os("ELB_CHECK_BIN")
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_elb-check").into())
}

/// Runs elb-check with `args` under coreutils `timeout -s KILL 20`, so a
/// hang fails the test (exit 137) instead of stalling the suite.
pub fn elb_check(args: &[&str]) -> Run {
    let started = Instant::now();
    let out = Command::new("timeout")
        .args(["-s", "KILL", "20"])
        .arg(binary())
        .args(args)
        .output()
        .expect("run elb-check");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Asserts the exit code, showing the output on failure.
#[track_caller]
pub fn expect_code(run: &Run, code: i32) {
    assert_eq!(
        run.code,
        Some(code),
        "stdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}
