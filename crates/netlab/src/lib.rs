//! An isolated network-namespace lab for elb-ha's tests.
//!
//! A [`Lab`] is one L2 segment: a *switch* namespace holding a Linux bridge, and N *host*
//! namespaces, each joined to the bridge by a veth pair whose two ends both live in lab
//! namespaces. Nothing is ever created in the root namespace, so a test can add VIPs, send
//! VRRP multicast and gratuitous ARP, cut links and kill daemons without touching the machine's
//! real network. Host `i` has interface `eth0` with `198.18.0.(i+1)/24` and `2001:2::(i+1)/64`
//! (both benchmarking ranges, RFC 2544 / RFC 5180), with IPv6 DAD off so addresses are usable at
//! once.
//!
//! Every name carries the test process id and a counter, so labs in parallel tests never
//! collide, and a later run can recognise and sweep namespaces left by a run that was killed.
//! Everything is torn down on drop, which also runs while a test panics; the output of every
//! process started with [`Host::spawn`] is printed when the test fails.
//!
//! Waiting is done on events, never on fixed sleeps: an address appearing (netlink
//! notifications), a log line (process output), a captured packet (tcpdump output).

mod capture;
mod host;
mod lab;
mod naming;
mod proc;
mod sys;
mod vrrp_daemon;

pub use capture::Capture;
pub use host::Host;
pub use lab::{Lab, LabBuilder};
pub use proc::Proc;
pub use vrrp_daemon::{Vrrp, bin_dir, workspace_bin};

/// Tells whether a test that needs root may run: `true` as root; otherwise the one
/// skip-or-fail rule of [`test_support::gate`] (prints `SKIPPED`, or fails under CI /
/// `ELB_E2E=1`, so CI can never skip the lab tests silently).
pub fn require_root_or_skip(test: &str) -> bool {
    test_support::require_root(test)
}

/// Lists the lab namespaces currently present on the machine (those named by this crate).
pub fn lab_namespaces() -> Vec<String> {
    naming::list_netns()
        .into_iter()
        .filter(|n| naming::parse_owner_pid(n).is_some())
        .collect()
}
