//! Locating the workspace's binaries. Cargo builds every binary of the workspace before it
//! runs any test of `cargo test --workspace`, and `make demo` builds them in release mode, so
//! the binaries sit beside the running test or example.

use std::path::Path;

use anyhow::{Context, Result};
use netlab::Host;

pub use netlab::{bin_dir, workspace_bin as bin};

/// `BINARY ctl FLAG PATH ARGS...` (vrrpd's or elb-proxy's control client) inside `host`; its
/// stdout, or its stderr as the error.
pub fn ctl(host: &Host, binary: &str, flag: &str, path: &Path, args: &[&str]) -> Result<String> {
    let (binary, path) = (bin(binary), path.to_string_lossy());
    let mut argv = vec![binary.to_str().context("binary path")?, "ctl", flag, &path];
    argv.extend_from_slice(args);
    let out = host.run(&argv)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
