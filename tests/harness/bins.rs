//! Locating the workspace's binaries. Cargo builds every binary of the workspace before it
//! runs any test of `cargo test --workspace`, and `make demo` builds them in release mode, so
//! the binaries sit beside the running test or example.

use std::path::PathBuf;

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
