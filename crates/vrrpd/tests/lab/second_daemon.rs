//! A second vrrpd started on the control socket of a running one (a double start, a unit
//! and a hand-started copy) stops before it touches anything: the running master keeps its
//! VIP, and the socket stays the running daemon's.

use std::net::IpAddr;

use crate::vrrp_lab::*;
use netlab::Lab;

#[test]
fn a_second_daemon_on_a_live_control_socket_exits_and_leaves_the_vip_alone() {
    if !netlab::require_root_or_skip(
        "a_second_daemon_on_a_live_control_socket_exits_and_leaves_the_vip_alone",
    ) {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let host = lab.host(0);
    let conf = Node::v3(100, "1").conf();
    let first = start_vrrpd(&lab, host, "a", &conf, &[]);
    first.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let vip: IpAddr = VIP4.parse().unwrap();
    host.wait_for_address(vip, true, WAIT).unwrap();
    let socket = node_dir(&lab, "a").join("vrrpd.sock");

    let mut second = start_vrrpd(
        &lab,
        host,
        "b",
        &conf,
        &["--control-socket", socket.to_str().unwrap()],
    );
    let status = second.wait_exit(WAIT).unwrap();
    let said = second.output();
    assert!(!status.success(), "the second daemon kept running:\n{said}");
    assert!(said.contains("another daemon is listening there"), "{said}");
    assert!(
        !said.contains("removing VIPs left by a previous run"),
        "the second daemon touched the VIPs:\n{said}"
    );
    assert!(host.has_address(vip).unwrap(), "the master lost its VIP");
    assert!(
        first.output().matches(MASTER_LINE).count() == 1,
        "the master flapped:\n{}",
        first.output()
    );
    // The running daemon still answers on its socket.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime
        .block_on(vrrpd::control::request(&socket, "show status", WAIT))
        .unwrap();
    assert!(status.contains("MASTER"), "{status}");
}
