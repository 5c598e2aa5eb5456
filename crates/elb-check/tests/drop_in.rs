//! elb-check as a drop-in for the seed deployment's keepalived track script:
//! the seed's wget+awk script, verbatim (port substituted), and elb-check run
//! on the same endpoints must agree on success versus failure.
//!
//! Both run under the same `timeout 3`, standing in for keepalived's script
//! `timeout` (keepalived kills the script and counts that as failure). wget
//! waits 900 s on a silent server, so only the wrapper ends it; elb-check
//! must end by itself, well inside.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Misbehave, fixed, http_server, raw_server, refused_port};

/// The seed's script, byte for byte, with the port as the only change.
fn seed_script(port: u16) -> String {
    format!(
        r#"CODE=$(wget --server-response http://localhost:{port}/services/EchoProxy 2>&1 | awk '/^  HTTP/{{print $2}}'); [ ${{CODE}} -eq "200" ] && exit 0 || exit 1"#
    )
}

/// Runs a track-script command as keepalived would (sh -c, killed at the
/// script timeout); returns its exit code (124 when the wrapper killed it)
/// and wall time.
fn track_script(command: &str) -> (Option<i32>, Duration) {
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let status = Command::new("timeout")
        .args(["-s", "KILL", "3", "bash", "-c", command])
        .current_dir(work.path()) // wget saves the body; keep it out of the tree
        .status()
        .expect("run track script");
    (status.code().or(Some(124)), started.elapsed())
}

#[test]
fn elb_check_agrees_with_the_seed_wget_script() {
    if Command::new("wget").arg("--version").output().is_err() {
        panic!("wget is needed for the drop-in test (make test installs it)");
    }
    let silent = raw_server(Misbehave::NeverAnswer);
    let cases: Vec<(&str, u16, bool)> = vec![
        ("200", http_server(fixed(200)).port(), true),
        ("404", http_server(fixed(404)).port(), false),
        ("500", http_server(fixed(500)).port(), false),
        ("503", http_server(fixed(503)).port(), false),
        ("connection refused", refused_port().port(), false),
        ("never answers", silent.addr.port(), false),
    ];
    let elb_check = common::binary();
    let elb_check = elb_check.to_str().expect("UTF-8 path to elb-check");
    for (name, port, healthy) in cases {
        let (wget_code, _) = track_script(&seed_script(port));
        let ours = format!("{elb_check} http://localhost:{port}/services/EchoProxy");
        let (our_code, our_time) = track_script(&ours);
        assert_eq!(
            wget_code == Some(0),
            healthy,
            "{name}: seed script exit {wget_code:?}"
        );
        assert_eq!(
            our_code == Some(0),
            healthy,
            "{name}: elb-check exit {our_code:?}"
        );
        assert!(
            our_code != Some(124) && our_code != Some(137),
            "{name}: elb-check was killed by the script timeout"
        );
        assert!(
            our_time < Duration::from_millis(2900),
            "{name}: {our_time:?}"
        );
    }
}
