//! A full disk or a read-only directory does not stop vrrpd from failing over.
//!
//! Node A runs with its pid file, dumps and log on a small tmpfs (private to its mount
//! namespace) that the test fills up once A is master; node B writes its log to /dev/full
//! (every write fails with ENOSPC) and its SIGUSR1/SIGUSR2 dumps to a read-only tmpfs. Both
//! are asked to dump, then A's tracker is pushed down and up: the VIP must go to B and come
//! back, and both daemons must keep answering on their control sockets.

use std::path::Path;
use std::process::Command;

use crate::vrrp_lab::*;
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

/// Starts vrrpd under `unshare --mount` so `prelude` (mounts) stays private to it; `stderr`
/// is where its log goes. The control socket lives outside, where the test can reach it.
fn start_confined(host: &Host, label: &str, prelude: &str, args: &str, stderr: &str) -> Proc {
    let script = format!("{prelude} && exec {} -n -l {args} 2>>{stderr}", vrrpd_bin());
    let mut cmd = host.command("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    host.spawn(label, cmd).expect("spawn vrrpd")
}

/// Runs `sh -c script` in `proc`'s mount namespace; true when it succeeded.
fn in_mounts_of(proc: &Proc, script: &str) -> bool {
    Command::new("nsenter")
        .args(["-t", &proc.pid().to_string(), "-m", "sh", "-c", script])
        .status()
        .expect("nsenter")
        .success()
}

fn ctl(host: &Host, socket: &Path, args: &[&str]) -> String {
    let socket = socket.to_string_lossy();
    let mut argv = vec![vrrpd_bin(), "ctl", "-s", &socket];
    argv.extend_from_slice(args);
    let out = host
        .run(&argv)
        .unwrap_or_else(|e| panic!("vrrpd ctl {args:?}: {e:#}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn full_disk_and_read_only_directory_do_not_stop_failover() {
    if !netlab::require_root_or_skip("full_disk_and_read_only_directory_do_not_stop_failover") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);

    let mut node_a = Node::v3(200, "0.2");
    node_a.extra_instance = "    track_script {\n        chk\n    }\n".into();
    let conf_a = format!(
        "vrrp_script chk {{\n    script \"/bin/true\"\n    interval 1\n    weight -150\n}}\n{}",
        node_a.conf()
    );
    let path_a = write_conf(&lab, "a", &conf_a);
    let state_a = node_dir(&lab, "a").join("state");
    std::fs::create_dir_all(&state_a).unwrap();
    let sock_a = node_dir(&lab, "a").join("ctl.sock");
    let st = state_a.display();
    let pa = start_confined(
        a,
        "vrrpd-a",
        &format!("mount -t tmpfs -o size=256k tmpfs {st}"),
        &format!(
            "-D -f {} -p {st}/vrrpd.pid --control-socket {}",
            path_a.display(),
            sock_a.display()
        ),
        &format!("{st}/vrrpd.log"),
    );

    let path_b = write_conf(&lab, "b", &Node::v3(100, "0.2").conf());
    let ro_b = node_dir(&lab, "b").join("ro");
    std::fs::create_dir_all(&ro_b).unwrap();
    let sock_b = node_dir(&lab, "b").join("ctl.sock");
    let ro = ro_b.display();
    let pb = start_confined(
        b,
        "vrrpd-b",
        &format!("mount -t tmpfs -o ro,size=64k tmpfs {ro}"),
        &format!(
            "-D -f {} -p {} --data-file {ro}/data --stats-file {ro}/stats --control-socket {}",
            path_b.display(),
            node_dir(&lab, "b").join("vrrpd.pid").display(),
            sock_b.display()
        ),
        "/dev/full",
    );
    a.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", pa.output(), pb.output()));

    // A's disk fills up; B's dump directory refuses writes.
    in_mounts_of(&pa, &format!("cat /dev/zero > {st}/fill 2>/dev/null"));
    assert!(
        !in_mounts_of(&pa, &format!("echo x >> {st}/probe 2>/dev/null")),
        "A's disk is not full"
    );
    assert!(
        !in_mounts_of(&pb, &format!("echo x > {ro}/probe 2>/dev/null")),
        "B's dump directory is writable"
    );
    for p in [&pa, &pb] {
        p.signal(Signal::SIGUSR1).unwrap();
        p.signal(Signal::SIGUSR2).unwrap();
    }
    assert!(ctl(a, &sock_a, &["show", "status"]).contains("MASTER"));
    assert!(ctl(b, &sock_b, &["show", "status"]).contains("BACKUP"));

    // Failover and back, with every log line, dump and pid-file write failing.
    ctl(a, &sock_a, &["track", "chk", "down"]);
    b.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("VIP never moved to B: {e:#}"));
    a.wait_for_address(vip, false, WAIT).unwrap();
    ctl(a, &sock_a, &["track", "chk", "up"]);
    a.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("VIP never came back to A: {e:#}"));
    b.wait_for_address(vip, false, WAIT).unwrap();

    let status_a = ctl(a, &sock_a, &["show", "status"]);
    assert!(status_a.contains("MASTER"), "{status_a}");
    let stats_b = ctl(b, &sock_b, &["show", "stats"]);
    assert!(!stats_b.is_empty());
    eprintln!("A (full disk):\n{status_a}\nB (read-only dumps, log to /dev/full) answered stats");
}
