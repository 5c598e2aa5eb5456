//! The deployment files: systemd units that systemd itself accepts.

use std::path::Path;
use std::process::Command;

use elb_ha_e2e::bins::bin_dir;

/// Every unit in deploy/systemd, with @BINDIR@ pointing at the freshly built binaries, passes
/// `systemd-analyze verify` (which also checks that each Exec path exists and is executable).
#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        if std::env::var_os("CI").is_some() {
            panic!("systemd-analyze missing in CI");
        }
        eprintln!("SKIPPED: systemd-analyze not installed");
        return;
    };
    assert!(version.status.success());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd");
    let out_dir = tempfile_dir();
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let rendered = text.replace("@BINDIR@", &bin_dir().to_string_lossy());
        let dest = out_dir.join(path.file_name().unwrap());
        std::fs::write(&dest, rendered).unwrap();
        units.push(dest);
    }
    for name in [
        "elb-proxy.service",
        "vrrpd.service",
        "elb-check.service",
        "elb-check.timer",
    ] {
        assert!(
            units.iter().any(|u| u.ends_with(name)),
            "deploy/systemd lacks {name}"
        );
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify complained:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("elb-ha-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
