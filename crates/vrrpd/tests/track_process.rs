//! The process watch on its own, in the initial network namespace (where the kernel's
//! process-event connector answers), from a thread in a network namespace of its own (the
//! connector's socket is then opened in the initial one) and with the pidfd fallback forced: a
//! process running before the watch is found, its SIGKILL is reported, a new one is found
//! again. Runs as root (the connector needs CAP_NET_ADMIN); no network traffic at all. Each run tracks a copy of
//! `sleep` under a name of its own, so other processes on the machine cannot count.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vrrpd::scripts::TrackerUpdate;
use vrrpd::track_process::matcher::Matcher;
use vrrpd::track_process::quorum::QuorumRule;
use vrrpd::track_process::{Mechanism, ProcessTracker, TrackProcessSpec};

const WAIT: Duration = Duration::from_secs(10);

fn spec(name: &str) -> TrackProcessSpec {
    TrackProcessSpec {
        name: "p".into(),
        matcher: Matcher {
            process: name.into(),
            params: vec!["600".into()],
            param_match: None,
            full_command: false,
        },
        rule: QuorumRule {
            quorum: 1,
            quorum_max: None,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        },
    }
}

async fn next(rx: &mut mpsc::Receiver<TrackerUpdate>) -> TrackerUpdate {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an update within the deadline")
        .expect("tracker running")
}

/// Spawns `bin 600` and returns once the kernel shows it under its new name and arguments:
/// `spawn` returns when the exec is past its point of no return, a moment before the name
/// and the argument area exist, and a scan in that moment rightly finds nothing.
fn spawn(bin: &std::path::Path) -> Child {
    let child = Command::new(bin).arg("600").spawn().expect("spawn");
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let proc_dir = format!("/proc/{}", child.id());
    test_support::wait::wait_until(
        WAIT,
        "the spawned process shows its name and argument",
        || {
            let comm = std::fs::read_to_string(format!("{proc_dir}/comm")).ok()?;
            let cmdline = std::fs::read(format!("{proc_dir}/cmdline")).ok()?;
            (comm.trim_end() == name && cmdline.ends_with(b"\x00600\x00")).then_some(())
        },
    );
    child
}

/// Start before the watch, kill, start again; returns the kill-to-report time.
async fn found_killed_and_found_again(try_connector: bool, tag: &str) -> (Mechanism, Duration) {
    let dir = tempfile::tempdir().unwrap();
    // A name of this run only (the kernel keeps 15 bytes of it).
    let name = format!("tp{tag}{}", std::process::id());
    let bin = dir.path().join(&name);
    std::fs::copy("/bin/sleep", &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut first = spawn(&bin);
    let (tx, mut rx) = mpsc::channel(16);
    let tracker = ProcessTracker::start_with(vec![spec(&name)], tx, try_connector);
    let mechanism = tracker.mechanism.clone();
    let u = next(&mut rx).await;
    assert!(u.up, "the running process is found at start: {}", u.reason);
    assert!(u.reason.contains(&mechanism.to_string()), "{}", u.reason);
    let t0 = Instant::now();
    first.kill().unwrap();
    let u = next(&mut rx).await;
    let took = t0.elapsed();
    assert!(!u.up, "the SIGKILL is reported: {}", u.reason);
    let _ = first.wait();
    let mut second = spawn(&bin);
    let u = next(&mut rx).await;
    assert!(u.up, "a new process is found: {}", u.reason);
    second.kill().unwrap();
    let _ = second.wait();
    assert!(!next(&mut rx).await.up);
    tracker.stop().await;
    (mechanism, took)
}

#[tokio::test]
async fn connector_in_the_initial_namespace_sees_start_kill_and_restart() {
    if !netlab::require_root_or_skip(
        "connector_in_the_initial_namespace_sees_start_kill_and_restart",
    ) {
        return;
    }
    let (mechanism, took) = found_killed_and_found_again(true, "c").await;
    // Run inside a container's network namespace the fallback is the right answer.
    let ns = |p: &str| std::fs::read_link(p).ok();
    if matches!(mechanism, Mechanism::PidfdRescan(_)) {
        assert_ne!(
            ns("/proc/self/ns/net"),
            ns("/proc/1/ns/net"),
            "the connector is refused only outside the initial namespace: {mechanism}"
        );
    }
    println!("connector: SIGKILL reported after {took:?}");
}

#[tokio::test]
async fn pidfd_fallback_sees_start_kill_and_restart() {
    let (mechanism, took) = found_killed_and_found_again(false, "f").await;
    assert!(matches!(mechanism, Mechanism::PidfdRescan(_)));
    println!("pidfd fallback: SIGKILL reported after {took:?}");
}

#[test]
fn connector_from_a_network_namespace_is_opened_in_the_initial_one() {
    let test = "connector_from_a_network_namespace_is_opened_in_the_initial_one";
    if !netlab::require_root_or_skip(test) {
        return;
    }
    if !vrrpd::track_process::connector::answers_here() {
        println!("{test}: skipped: the connector does not answer where the test runs");
        return;
    }
    // The watch starts on a thread of its own namespace, as vrrpd does inside a lab or container.
    let (mechanism, took) = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
        assert!(
            !vrrpd::track_process::connector::answers_here(),
            "the kernel refuses the connector outside the initial namespace"
        );
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(found_killed_and_found_again(true, "n"))
    })
    .join()
    .expect("the namespace thread");
    assert_eq!(mechanism, Mechanism::ConnectorFromInitialNamespace);
    println!("connector from a namespace: SIGKILL reported after {took:?}");
}
