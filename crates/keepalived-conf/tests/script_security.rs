//! `enable_script_security`'s rule for a script and the directories above it, as keepalived
//! 2.2.7 applies it (found by running its `-t` on each case below): owned by root, writable by
//! no one else (not others, not a group other than root's), except that a sticky directory
//! such as /tmp is fine whatever its write bits. Every case is built for real under a fresh
//! directory in /tmp; the verdicts are checked against the recorded ones, and against
//! keepalived itself when the oracle runs here. Needs root (to give files away): otherwise
//! SKIPPED, or a failure under CI.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;

use keepalived_conf::{FsResolver, IncludeResolver, LoadOptions, ScriptFile, load_file};
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};

const NOBODY: u32 = 65534;

/// One layout: the mode and owner of a directory under the scratch directory and of the
/// script in it, and keepalived 2.2.7's verdict.
struct Case {
    name: &'static str,
    /// Directory chain below the scratch directory: (mode, uid, gid) from the top down.
    dirs: &'static [(u32, u32, u32)],
    file: (u32, u32, u32),
    keepalived_runs_it: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "root 0755 dir under sticky /tmp",
        dirs: &[(0o755, 0, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "script directly in the sticky scratch dir",
        dirs: &[],
        file: (0o755, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "world-writable dir",
        dirs: &[(0o777, 0, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "world-writable sticky dir",
        dirs: &[(0o1777, 0, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "script owned by nobody",
        dirs: &[(0o755, 0, 0)],
        file: (0o755, NOBODY, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "group-writable script, group root",
        dirs: &[(0o755, 0, 0)],
        file: (0o775, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "group-writable script, group nogroup",
        dirs: &[(0o755, 0, 0)],
        file: (0o775, 0, NOBODY),
        keepalived_runs_it: false,
    },
    Case {
        name: "script of group nogroup, not writable",
        dirs: &[(0o755, 0, 0)],
        file: (0o755, 0, NOBODY),
        keepalived_runs_it: true,
    },
    Case {
        name: "world-writable script",
        dirs: &[(0o755, 0, 0)],
        file: (0o757, 0, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "sticky world-writable script",
        dirs: &[(0o755, 0, 0)],
        file: (0o1757, 0, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "dir owned by nobody",
        dirs: &[(0o755, NOBODY, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "group-writable dir, group root",
        dirs: &[(0o775, 0, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "group-writable dir, group nogroup",
        dirs: &[(0o775, 0, NOBODY)],
        file: (0o755, 0, 0),
        keepalived_runs_it: false,
    },
    Case {
        name: "group-writable sticky dir, group nogroup",
        dirs: &[(0o1775, 0, NOBODY)],
        file: (0o755, 0, 0),
        keepalived_runs_it: true,
    },
    Case {
        name: "world-writable grandparent",
        dirs: &[(0o777, 0, 0), (0o755, 0, 0)],
        file: (0o755, 0, 0),
        keepalived_runs_it: false,
    },
];

fn set(path: &Path, (mode, uid, gid): (u32, u32, u32)) {
    chown(path, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Builds `case` under `scratch` (itself root-owned, sticky and world-writable like /tmp) and
/// returns the script's path.
fn build(scratch: &Path, case: &Case) -> PathBuf {
    let mut dir = scratch.to_path_buf();
    for (n, d) in case.dirs.iter().enumerate() {
        dir = dir.join(format!("d{n}"));
        std::fs::create_dir(&dir).unwrap();
        set(&dir, *d);
    }
    let script = dir.join("check.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    set(&script, case.file);
    script
}

fn config(script: &Path) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\nvrrp_script chk {{\n  script \"{}\"\n  interval 1\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  track_script {{\n    chk\n  }}\n  virtual_ipaddress {{\n    198.18.0.10/24\n  }}\n}}\n",
        script.display()
    )
}

fn scratch() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("kconf-security-")
        .tempdir_in("/tmp")
        .unwrap();
    set(t.path(), (0o1777, 0, 0));
    t
}

#[test]
fn script_security_follows_keepalived_2_2_7_rule() {
    if !test_support::require_root("script_security_follows_keepalived_2_2_7_rule") {
        return;
    }
    let with_oracle = oracle::available();
    let mut wrong = Vec::new();
    for case in CASES {
        let t = scratch();
        let script = build(t.path(), case);
        let secure = match FsResolver.script_file(&script) {
            ScriptFile::Found { secure } => secure,
            ScriptFile::Missing => panic!("{}: script not found", case.name),
        };
        if secure != case.keepalived_runs_it {
            wrong.push(format!("{}: vrrpd secure={secure}", case.name));
        }
        let conf = t.path().join("keepalived.conf");
        std::fs::write(&conf, config(&script)).unwrap();
        let ours = load_file(&conf, &LoadOptions::default()).exit_class();
        let want = if case.keepalived_runs_it { 0 } else { 5 };
        if ours != want {
            wrong.push(format!("{}: vrrpd -t class {ours}, want {want}", case.name));
        }
        if with_oracle {
            let theirs = oracle::class(&conf);
            if theirs != Some(want) {
                wrong.push(format!(
                    "{}: keepalived -t {theirs:?}, recorded {want}",
                    case.name
                ));
            }
        }
        eprintln!(
            "{:45} runs={} ours={ours}",
            case.name, case.keepalived_runs_it
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
