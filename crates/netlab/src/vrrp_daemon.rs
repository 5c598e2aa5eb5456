//! The two VRRP daemons a lab node runs, and the one way each is started: vrrpd's lab tests,
//! the end-to-end scenarios and the benchmarks all build their command lines here. Every file
//! a daemon writes (pid files; vrrpd's control socket and dumps, which follow its pid file;
//! keepalived's dumps) lands in the node's own directory, so daemons never collide.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Host;

/// Which VRRP implementation a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vrrp {
    /// This workspace's daemon (the `vrrpd` binary beside the running test).
    Vrrpd,
    /// Debian's keepalived 2.2.7, the oracle.
    Keepalived,
}

impl Vrrp {
    /// The program's name, for labels and logs.
    pub fn name(self) -> &'static str {
        match self {
            Vrrp::Vrrpd => "vrrpd",
            Vrrp::Keepalived => "keepalived",
        }
    }

    /// The pid files the daemon writes in its node directory (keepalived: its parent, VRRP
    /// and checker processes; a second keepalived on the machine refuses to start without
    /// its own).
    pub fn pid_files(self) -> &'static [&'static str] {
        match self {
            Vrrp::Vrrpd => &["vrrpd.pid"],
            Vrrp::Keepalived => &[
                "keepalived.pid",
                "keepalived-vrrp.pid",
                "keepalived-checker.pid",
            ],
        }
    }

    /// The command that runs this daemon in the foreground on `host` with `conf`, logging to
    /// stderr, its files in `dir`.
    ///
    /// keepalived 2.2.7 always dumps to /tmp/keepalived.{data,stats,json}, so it runs in a
    /// private mount namespace whose /tmp is `dir/tmp` and whose /var/tmp is `dir`, with the
    /// lab's directory and the workspace's binaries still at their real paths: parallel tests
    /// never share dump files, and the paths in a config mean the same under both daemons.
    pub fn command(self, host: &Host, conf: &Path, dir: &Path) -> Command {
        match self {
            Vrrp::Vrrpd => {
                let mut cmd = host.command(&workspace_bin("vrrpd").to_string_lossy());
                cmd.args(["-n", "-l", "-f"])
                    .arg(conf)
                    .arg("-p")
                    .arg(dir.join("vrrpd.pid"));
                cmd
            }
            Vrrp::Keepalived => {
                // The lab's expectations (timings, interop) are keepalived 2.2.7's.
                test_support::oracle::assert_keepalived_2_2_7();
                let tmp = dir.join("tmp");
                std::fs::create_dir_all(&tmp).expect("the node's tmp dir");
                let mut script = private_tmp_mounts(dir, &tmp);
                script.push_str(&format!(
                    "exec {} -n -l -D -P -f '{}' -p '{}' -r '{}' -c '{}'",
                    test_support::oracle::KEEPALIVED,
                    conf.display(),
                    dir.join("keepalived.pid").display(),
                    dir.join("keepalived-vrrp.pid").display(),
                    dir.join("keepalived-checker.pid").display(),
                ));
                let mut cmd = host.command("unshare");
                cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
                cmd
            }
        }
    }
}

/// Shell steps that make `tmp` the namespace's /tmp and `dir` its /var/tmp, while the lab's
/// top directory and the checkout's binaries (when they live under /tmp, as in a fresh clone
/// there) stay visible at their real paths. keepalived writes a dump as a temporary file
/// renamed into /tmp, so it needs a /tmp of its own, not a bound file.
fn private_tmp_mounts(dir: &Path, tmp: &Path) -> String {
    let mut s = String::new();
    let mut tops: Vec<PathBuf> = Vec::new();
    for path in [dir.to_path_buf(), bin_dir()] {
        if let Ok(rel) = path.strip_prefix("/tmp")
            && let Some(first) = rel.components().next()
        {
            let top = Path::new("/tmp").join(first);
            if !tops.contains(&top) {
                tops.push(top);
            }
        }
    }
    for top in &tops {
        // Bound inside the new /tmp before that /tmp hides the real one.
        let seen = tmp.join(top.strip_prefix("/tmp").expect("under /tmp"));
        std::fs::create_dir_all(&seen).expect("a mount point in the node's tmp dir");
        s.push_str(&format!(
            "mount --bind '{}' '{}' && ",
            top.display(),
            seen.display()
        ));
    }
    s.push_str(&format!(
        "mount --bind '{}' /var/tmp && mount --rbind '{}' /tmp && ",
        dir.display(),
        tmp.display()
    ));
    s
}

/// The directory holding the workspace binaries of the profile the running test, bench or
/// example was built with (Cargo puts them beside `deps/` and `examples/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe has a parent").to_path_buf();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    dir
}

/// The path of workspace binary `name` (elb-proxy, elb-check, vrrpd); panics with a hint when
/// it was not built.
pub fn workspace_bin(name: &str) -> PathBuf {
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
