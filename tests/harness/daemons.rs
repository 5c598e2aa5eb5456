//! The VRRP daemons the end-to-end code runs, and how each is started in a lab host: one
//! place for the command lines the seed deployment, the hostile segment and the chaos runs
//! share. Every file a daemon writes (pid files; vrrpd's control socket and dumps, which
//! follow its pid file) lives in the node's own directory, so daemons on one machine never
//! collide.

use std::path::Path;
use std::process::Command;

use netlab::Host;

use crate::bins::bin;

/// Which VRRP implementation a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vrrp {
    Vrrpd,
    Keepalived,
}

impl Vrrp {
    pub fn name(self) -> &'static str {
        match self {
            Vrrp::Vrrpd => "vrrpd",
            Vrrp::Keepalived => "keepalived",
        }
    }

    /// The pid files the daemon writes in `dir` (keepalived: its parent, VRRP and checker
    /// processes; a second keepalived on the machine refuses to start without its own).
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

    /// The command that runs this daemon in the foreground on `host` with `conf`, its files
    /// in `dir`, logging to stderr.
    pub fn command(self, host: &Host, conf: &Path, dir: &Path) -> Command {
        match self {
            Vrrp::Vrrpd => {
                let mut cmd = host.command(&bin("vrrpd").to_string_lossy());
                cmd.args(["-n", "-l", "-f"])
                    .arg(conf)
                    .arg("-p")
                    .arg(dir.join("vrrpd.pid"));
                cmd
            }
            Vrrp::Keepalived => {
                // The lab's expectations (timings, interop) are keepalived 2.2.7's.
                test_support::oracle::assert_keepalived_2_2_7();
                let mut cmd = host.command(test_support::oracle::KEEPALIVED);
                cmd.args(["-n", "-l", "-D", "-P", "-f"])
                    .arg(conf)
                    .arg("-p")
                    .arg(dir.join("keepalived.pid"))
                    .arg("-r")
                    .arg(dir.join("keepalived-vrrp.pid"))
                    .arg("-c")
                    .arg(dir.join("keepalived-checker.pid"));
                cmd
            }
        }
    }
}
