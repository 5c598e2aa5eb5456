//! Locating the workspace's binaries. Cargo builds every binary of the workspace before it
//! runs any test of `cargo test --workspace`, and `make demo` builds them in release mode, so
//! the binaries sit beside the running test or example.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use netlab::Host;

/// The directory holding the binaries of the profile this test or example was built with.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe has a parent").to_path_buf();
    // Tests live in target/<profile>/deps, examples in target/<profile>/examples.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    dir
}

/// The path of binary `name` (elb-proxy, elb-check, vrrpd); panics with a hint when it was not
/// built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: build the workspace first (cargo build --workspace --bins{})",
        path.display(),
        if bin_dir().ends_with("release") {
            " --release"
        } else {
            ""
        }
    );
    path
}

/// `BINARY ctl FLAG PATH ARGS...` (vrrpd's or elb-proxy's control client) inside `host`; its
/// stdout, or its stderr as the error.
pub fn ctl(host: &Host, binary: &str, flag: &str, path: &Path, args: &[&str]) -> Result<String> {
    let (binary, path) = (bin(binary), path.to_string_lossy());
    let mut argv = vec![binary.to_str().context("binary path")?, "ctl", flag, &path];
    argv.extend_from_slice(args);
    let out = host.run(&argv)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
