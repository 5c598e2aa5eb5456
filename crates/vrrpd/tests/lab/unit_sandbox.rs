//! The shipped unit's capability set is enough for what a file asks: a track script run as
//! `script_user` (here `nobody`) runs as that user under exactly the unit's
//! CapabilityBoundingSet (applied with setpriv, as systemd would), and fails without it.

use std::os::unix::fs::PermissionsExt;

use netlab::Lab;

use crate::vrrp_lab::*;

/// `CapabilityBoundingSet=` of deploy/systemd/vrrpd.service as setpriv's list (`+net_raw,...`).
fn unit_capabilities() -> Vec<String> {
    let line = unit_directive("vrrpd.service", "CapabilityBoundingSet");
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

/// Starts vrrpd under `caps` only and says whether the script-tracked instance became MASTER
/// (script ran as nobody) or FAULT (it did not).
fn master_under(lab: &Lab, tag: &str, caps: &[String]) -> (bool, String) {
    let a = lab.host(0);
    let dir = node_dir(lab, tag);
    std::fs::set_permissions(lab.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.join("runs_as_nobody.sh");
    std::fs::write(&script, "#!/bin/sh\n[ \"$(id -un)\" = nobody ]\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut node = Node::v3(150, "0.1");
    node.extra_instance = "    track_script {\n        chk\n    }\n".into();
    let conf = format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n}}\n{}",
        script.display(),
        node.conf().replace(
            "global_defs {\n",
            "global_defs {\n    enable_script_security\n    script_user nobody\n"
        )
    );
    let path = write_conf(lab, tag, &conf);
    let bounding: Vec<String> = caps.iter().map(|c| format!("+{c}")).collect();
    let mut cmd = a.command("setpriv");
    cmd.arg(format!("--bounding-set=-all,{}", bounding.join(",")))
        .args([vrrpd_bin(), "-n", "-l", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("vrrpd.pid"));
    let mut p = a.spawn(tag, cmd).unwrap();
    let line = p
        .wait_for_line("Entering (MASTER|FAULT) STATE", WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", p.output()));
    let master = line.contains("MASTER");
    let out = p.output();
    p.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(p.wait_exit(WAIT).unwrap().success(), "{}", p.output());
    (master, out)
}

#[test]
fn the_units_capabilities_run_a_script_user_track_script_as_that_user() {
    let Some(lab) = lab_with(
        "the_units_capabilities_run_a_script_user_track_script_as_that_user",
        "setpriv",
        std::path::Path::new("/usr/bin/setpriv").exists(),
    ) else {
        return;
    };
    let caps = unit_capabilities();
    assert!(caps.contains(&"setuid".to_string()), "{caps:?}");
    let (master, out) = master_under(&lab, "unit", &caps);
    assert!(master, "the script did not run as nobody:\n{out}");
    assert!(
        !out.contains("Unsafe") && !out.contains("refusing"),
        "{out}"
    );

    // The check can fail: without SETUID/SETGID the script cannot become nobody.
    let fewer: Vec<String> = caps
        .into_iter()
        .filter(|c| c != "setuid" && c != "setgid")
        .collect();
    let (master, out) = master_under(&lab, "nosetuid", &fewer);
    assert!(!master, "ran as nobody without CAP_SETUID?\n{out}");
}
