//! deploy/systemd/vrrpd-checkers.service beside vrrpd: the unit's ExecStart (keepalived's
//! checker process alone, `--check`) run as systemd would, on the same unchanged file vrrpd
//! reads. vrrpd takes the VIP and keeps it whatever the checker does; the checker starts,
//! runs the file's `real_server` check where the kernel has IPVS (this lab's has none: then
//! keepalived's checker stops with its own FATAL IPVS line, which the test asserts), and
//! stops cleanly on the unit's SIGTERM, leaving vrrpd untouched.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::vrrp_lab::*;

/// The unit's ExecStart words, its config and run directory moved to the node's directory.
fn exec_start(conf: &Path, run_dir: &Path) -> Vec<String> {
    let line = unit_directive("vrrpd-checkers.service", "ExecStart");
    line.replace("/etc/keepalived/keepalived.conf", conf.to_str().unwrap())
        .replace("/run/vrrpd-checkers", run_dir.to_str().unwrap())
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn ipvs_here() -> bool {
    Path::new("/proc/net/ip_vs").exists() || Path::new("/sys/module/ip_vs").exists()
}

#[test]
fn the_checkers_unit_runs_beside_vrrpd_on_the_same_file_and_stops_cleanly() {
    let test = "the_checkers_unit_runs_beside_vrrpd_on_the_same_file";
    let Some(lab) = keepalived_lab(test) else {
        return;
    };
    test_support::oracle::assert_keepalived_2_2_7();
    let a = lab.host(0);
    let dir = node_dir(&lab, "a");
    let ran = dir.join("check-ran");
    let lvs = format!(
        "virtual_server {VIP4} 8080 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    \
         protocol TCP\n    real_server 198.18.0.1 18999 {{\n        weight 1\n        \
         MISC_CHECK {{\n            misc_path \"/bin/sh -c 'echo ran >> {}'\"\n        }}\n    \
         }}\n}}\n",
        ran.display()
    );
    let conf = format!("{}{lvs}", Node::v3(150, "0.1").conf());
    let vrrpd = start_vrrpd(&lab, a, "a", &conf, &[]);
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    vrrpd
        .wait_for_line("virtual_server", WAIT)
        .unwrap_or_else(|e| panic!("vrrpd says it does not run the block: {e:#}"));

    let conf_path = dir.join("keepalived.conf");
    let argv = exec_start(&conf_path, &dir);
    let mut cmd = a.command(&argv[0]);
    cmd.args(&argv[1..]);
    let mut checker = a.spawn("checkers", cmd).unwrap();
    checker
        .wait_for_line("Starting Healthcheck child process", WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", checker.output()));
    if ipvs_here() {
        test_support::wait_until(WAIT, "the real_server check to run", || {
            std::fs::read_to_string(&ran)
                .ok()
                .filter(|t| t.contains("ran"))
        });
        checker.signal(Signal::SIGTERM).unwrap();
        let status = checker.wait_exit(WAIT).unwrap();
        assert!(status.success(), "{status:?}\n{}", checker.output());
        checker
            .wait_for_line("Stopped Keepalived", Duration::from_secs(1))
            .unwrap();
    } else {
        // Without IPVS keepalived's checker cannot run a virtual_server and says so itself.
        checker
            .wait_for_line("Can't initialize ipvs", WAIT)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", checker.output()));
        checker.wait_exit(WAIT).unwrap();
        checker
            .wait_for_line("Stopped Keepalived", Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{e:#}\n{}", checker.output()));
    }
    assert!(
        !dir.join("checkers.pid").exists() && !dir.join("keepalived.pid").exists(),
        "the checker left its pid files"
    );
    // vrrpd never noticed: still MASTER with the VIP, still advertising.
    assert!(a.has_address(ip(VIP4)).unwrap(), "{}", vrrpd.output());
    assert!(
        !vrrpd
            .output()
            .contains("Entering BACKUP STATE instance=VI_1 from=\"MASTER\""),
        "{}",
        vrrpd.output()
    );
}
