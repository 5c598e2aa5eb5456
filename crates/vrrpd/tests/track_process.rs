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

/// The receive buffer of every socket this process holds (SO_RCVBUF: twice the bytes asked,
/// the kernel's bookkeeping).
fn socket_rcvbufs() -> Vec<usize> {
    use std::os::fd::BorrowedFd;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        let Ok(fd) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor is open in this process, and nothing here closes it during
        // the call (nextest runs this test alone in its process).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if let Ok(v) = nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::RcvBuf) {
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn the_process_event_socket_takes_the_configured_receive_buffer() {
    let test = "the_process_event_socket_takes_the_configured_receive_buffer";
    if !netlab::require_root_or_skip(test) {
        return;
    }
    if !vrrpd::track_process::connector::answers_here() {
        println!("{test}: skipped: the connector does not answer where the test runs");
        return;
    }
    let rmem_max: u32 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let name = format!("tpb{}", std::process::id());
    // Below rmem_max as asked; past it only with the force flag (SO_RCVBUFFORCE).
    let cases = [
        (300_000, false, 600_000),
        (rmem_max + 65_536, false, 2 * rmem_max as usize),
        (rmem_max + 65_536, true, 2 * (rmem_max as usize + 65_536)),
    ];
    for (bytes, force, want) in cases {
        assert!(
            !socket_rcvbufs().contains(&want),
            "a socket already has {want}"
        );
        let (tx, _rx) = mpsc::channel(16);
        let b = keepalived_conf::RcvBuf { bytes, force };
        let tracker = ProcessTracker::start(vec![spec(&name)], tx, b);
        assert_eq!(tracker.mechanism, Mechanism::Connector);
        let got = socket_rcvbufs();
        assert!(got.contains(&want), "{b:?}: want {want}, sockets {got:?}");
        tracker.stop().await;
    }
}
