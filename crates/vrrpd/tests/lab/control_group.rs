//! `--control-group`: another user in that group (elb-proxy's, for its drain push) can use the
//! control socket; the socket is 0660 and owned by that group.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

use crate::vrrp_lab::*;
use netlab::Lab;

#[test]
fn control_group_lets_that_group_in() {
    if !netlab::require_root_or_skip("control_group_lets_that_group_in") {
        return;
    }
    let nogroup = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .expect("Debian has group nogroup");
    let lab = Lab::new(1).unwrap();
    let host = lab.host(0);
    let proc = start_vrrpd(
        &lab,
        host,
        "a",
        &Node::v3(100, "1").conf(),
        &["--control-group", "nogroup"],
    );
    proc.wait_for_line("vrrpd running", WAIT).unwrap();
    let socket = node_dir(&lab, "a").join("vrrpd.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), nogroup.gid.as_raw());
    // The lab dir is private to root: let `nobody` traverse to the socket for this check.
    for dir in [lab.dir().to_path_buf(), node_dir(&lab, "a")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(vrrpd_bin())
        .args(["ctl", "--control-socket"])
        .arg(&socket)
        .args(["show", "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nobody:nogroup could not use the socket: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("VI_1"));
}
