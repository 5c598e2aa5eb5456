//! `net_namespace NAME` side by side with Debian's keepalived 2.2.7: started in one lab host's
//! namespace with a file naming the other's, each daemon's VRRP process runs in the named one
//! (its /proc/PID/ns/net is /run/netns/NAME) and the VIP appears there, not where it was
//! started. A namespace that does not exist stops both with a line naming it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::vrrp_lab::*;
use nix::sys::signal::Signal;

/// The inode of the network namespace `pid` runs in.
fn netns_inode(pid: u32) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let text = link.to_string_lossy();
    text.trim_start_matches("net:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

#[test]
fn the_daemon_runs_in_the_configured_net_namespace_like_keepalived() {
    let Some(lab) =
        keepalived_lab("the_daemon_runs_in_the_configured_net_namespace_like_keepalived")
    else {
        return;
    };
    let (target, started_in) = (lab.host(0), lab.host(1));
    let node = Node::v3(150, "1");
    let vip = ip(node.vips[0].split('/').next().unwrap());
    let text = format!("net_namespace {}\n{}", target.netns(), node.conf());
    let target_inode = std::fs::metadata(Path::new("/run/netns").join(target.netns()))
        .unwrap()
        .ino();
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let mut p = start_daemon(&lab, started_in, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        target.wait_for_address(vip, true, WAIT).unwrap();
        assert!(
            !started_in.has_address(vip).unwrap(),
            "{tag}: the VIP went where the daemon was started"
        );
        let pid = vrrp_pid(&lab, tag, keepalived);
        assert_eq!(
            netns_inode(pid),
            target_inode,
            "{tag}: the VRRP process is not in {}",
            target.netns()
        );
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
        target.wait_for_address(vip, false, WAIT).unwrap();
    }
    // A namespace that is not there: keepalived logs it and exits (with status 0, seen here);
    // vrrpd names it too and exits with failure, so a unit manager sees the start failed.
    let missing = format!("{}-missing", target.netns());
    let text = format!("net_namespace {missing}\n{}", node.conf());
    let mut k = start_keepalived(&lab, started_in, "k2", &text);
    k.wait_for_line(
        &format!("Unable to set network namespace {missing} - exiting"),
        WAIT,
    )
    .unwrap();
    k.wait_exit(WAIT).unwrap();
    let mut v = start_vrrpd(&lab, started_in, "v2", &text, &[]);
    let status = v.wait_exit(WAIT).unwrap();
    assert!(!status.success(), "{}", v.output());
    v.wait_for_line(
        &format!("net_namespace {missing}: cannot run there: opening /run/netns/{missing}"),
        WAIT,
    )
    .unwrap();
    assert!(!started_in.has_address(vip).unwrap());
}
