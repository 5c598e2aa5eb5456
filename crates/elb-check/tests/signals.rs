//! keepalived stops an overdue track script with SIGTERM to its process
//! group: elb-check must then exit at once, with a non-zero status.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Misbehave, raw_server};

fn terminated_by(signal: &str, expected: i32) {
    let server = raw_server(Misbehave::NeverAnswer);
    let mut child = Command::new(common::binary())
        .args(["-t", "10", &format!("http://{}/", server.addr)])
        .spawn()
        .expect("spawn elb-check");
    // Wait until the probe is inside its request (the server saw it), then signal.
    server
        .requests
        .recv_timeout(Duration::from_secs(5))
        .expect("the probe reached the server");
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status =
        test_support::wait_child(&mut child, Duration::from_secs(10), "signalled elb-check");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(expected), "{status:?}");
}

#[test]
fn sigterm_ends_the_probe_promptly_with_143() {
    terminated_by("-TERM", 143);
}

#[test]
fn sigint_ends_the_probe_promptly_with_130() {
    terminated_by("-INT", 130);
}
