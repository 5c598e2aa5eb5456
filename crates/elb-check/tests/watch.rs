//! `--watch` as a long-running process against a real nginx that is
//! stopped and started again: the track file follows (atomic rename), the
//! state is pushed to a control socket, and SIGTERM leaves the documented
//! state behind.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::nginx::{Nginx, free_port};

fn nginx_on(port: u16) -> Nginx {
    Nginx::start(
        &format!("server {{ listen 127.0.0.1:{port}; location / {{ return 200 ok; }} }}"),
        &[port],
    )
}

/// elb-check --watch ARGS, killed on drop if still running.
struct Watcher(Child);

impl Watcher {
    fn start(args: &[&str]) -> Self {
        let child = Command::new(common::binary())
            .arg("--watch")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start elb-check --watch");
        Self(child)
    }

    /// SIGTERM, then the exit status (within 5 s).
    fn terminate(&mut self) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("kill");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "--watch ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        test_support::wait::kill_and_reap(&mut self.0);
    }
}

/// Waits (5 s at most) until the file holds `value`.
fn wait_for(path: &Path, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = std::fs::read_to_string(path).unwrap_or_default();
        if now == format!("{value}\n") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {now:?}, not {value}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn track_file_follows_the_service_through_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("elb.track");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let nginx = nginx_on(port);
    let path = file.display().to_string();
    let mut watcher = Watcher::start(&[
        "10ms",
        "-t",
        "50ms",
        "--fall",
        "2",
        "--track-file",
        &path,
        &url,
    ]);
    wait_for(&file, "0");
    drop(nginx);
    wait_for(&file, "-254");
    let nginx = nginx_on(port);
    wait_for(&file, "0");
    assert_eq!(watcher.terminate(), Some(0));
    // --on-exit down (the default): a stopped checker vouches for nothing.
    wait_for(&file, "-254");
    drop(nginx);
}

#[test]
fn on_exit_keep_leaves_the_last_state_and_values_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("elb.track");
    let port = free_port();
    let nginx = nginx_on(port);
    let path = file.display().to_string();
    let url = format!("http://127.0.0.1:{port}/");
    let mut watcher = Watcher::start(&[
        "20ms",
        "--track-file",
        &path,
        "--up-value",
        "10",
        "--down-value",
        "-10",
        "--on-exit",
        "keep",
        &url,
    ]);
    wait_for(&file, "10");
    assert_eq!(watcher.terminate(), Some(0));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "10\n");
    drop(nginx);
}

#[test]
fn changes_are_pushed_to_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let (tx, rx) = mpsc::channel();
    // A control socket speaking vrrpd's protocol: one line in, one line out, close.
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { break };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = writeln!(stream, "{}", line.trim());
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let port = free_port();
    let nginx = nginx_on(port);
    let url = format!("http://127.0.0.1:{port}/");
    let socket_arg = socket.display().to_string();
    let mut watcher = Watcher::start(&[
        "10ms",
        "--notify-socket",
        &socket_arg,
        "--track-name",
        "chk_elb",
        &url,
    ]);
    let next = || rx.recv_timeout(Duration::from_secs(5)).expect("a push");
    assert_eq!(next(), "track chk_elb up\n");
    drop(nginx);
    assert_eq!(next(), "track chk_elb down\n");
    let nginx = nginx_on(port);
    assert_eq!(next(), "track chk_elb up\n");
    assert_eq!(watcher.terminate(), Some(0));
    assert_eq!(next(), "track chk_elb down\n");
    drop(nginx);
}

#[test]
fn watch_options_are_refused_without_watch_and_vice_versa() {
    for (args, words) in [
        (
            &["--track-file", "/tmp/x", "http://127.0.0.1:1/"][..],
            "--track-file applies to --watch mode",
        ),
        (
            &["--rise", "3", "http://127.0.0.1:1/"],
            "--rise applies to --watch mode",
        ),
        (
            &["--watch", "1s", "http://127.0.0.1:1/"],
            "--watch needs --track-file PATH or --notify-socket PATH",
        ),
        (
            &[
                "--watch",
                "5ms",
                "--track-file",
                "/tmp/x",
                "http://127.0.0.1:1/",
            ],
            "below the 10ms minimum",
        ),
        (
            &[
                "--watch",
                "1s",
                "--track-file",
                "/nonexistent/dir/x",
                "http://127.0.0.1:1/",
            ],
            "does not exist",
        ),
        (
            &[
                "--watch",
                "1s",
                "--format",
                "json",
                "--track-file",
                "/tmp/x",
                "http://127.0.0.1:1/",
            ],
            "--format applies to one-shot probes",
        ),
    ] {
        let run = common::elb_check(args);
        common::expect_code(&run, 2);
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    }
}
