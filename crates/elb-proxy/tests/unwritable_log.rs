//! Output elb-proxy cannot write (stderr on a full disk, a closed pipe) must never stop it
//! serving nor change its exit code. tracing-subscriber reports a failed write with
//! `eprintln!` by default, which panics when stderr itself fails: this test runs the real
//! binary with stderr on /dev/full (every write fails with ENOSPC) and makes it log
//! everything it can: start-up, requests at debug level, the access log on stderr, a member
//! that refuses connections, a reload of a broken config (SIGHUP and admin socket).

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Kills the process if the test fails half way.
struct Running(Option<Child>);

impl Running {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = wait_exit(c, Duration::from_secs(10));
        }
    }
}

/// Waits (bounded) until the listener answers a request; stderr carries no "ready" line
/// here, so the open port is the only sign of readiness. Fails if the process exits.
async fn wait_serving(p: &mut Running, addr: SocketAddr) {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = p.child().try_wait().unwrap() {
            panic!("elb-proxy exited before serving: {status:?}");
        }
        if let Ok(a) = request(addr, get_req("x", "/")).await {
            assert_eq!(a.status, 200);
            return;
        }
        assert!(Instant::now() < end, "elb-proxy never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn get_req(host: &str, path: &str) -> http::Request<Body> {
    http::Request::builder()
        .uri(path)
        .header("host", host)
        .body(empty())
        .unwrap()
}

fn signal(p: &mut Running, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(p.child().id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_serving_and_exits_0_with_stderr_on_dev_full() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    serves_logging_into(Stdio::from(full)).await;
}

/// A closed pipe (the log reader died): every write fails with EPIPE (Rust ignores SIGPIPE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_serving_and_exits_0_with_stderr_on_a_closed_pipe() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    serves_logging_into(Stdio::from(writer)).await;
}

/// Starts elb-proxy with `stderr`, makes it log in every way it can, checks that it kept
/// serving and that SIGTERM still ends it with exit 0.
async fn serves_logging_into(stderr: Stdio) {
    let a = Backend::start("a").await;
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let admin = dir.path().join("admin.sock");
    let yaml = format!(
        "listeners: [{{ address: \"{addr}\" }}]\n\
         clusters:\n  - name: app\n    members: [{{ name: a, address: \"{}\" }}]\n  \
         - name: gone\n    members: [{{ name: g, address: \"{dead}\" }}]\n\
         routes: [{{ match: {{ path: /gone }}, cluster: gone }}]\n\
         default_cluster: app\n\
         access_log: {{ path: stderr }}\n\
         admin: {{ socket: \"{}\" }}\n",
        a.addr,
        admin.display()
    );
    let config = dir.path().join("elb-proxy.yaml");
    std::fs::write(&config, &yaml).unwrap();
    let mut p = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("-c")
            .arg(&config)
            .args(["--log-level", "debug"])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    ));
    wait_serving(&mut p, addr).await;

    // Requests that log: served ones (access log, debug lines), a member that refuses
    // connections (warning, 502), an unknown path through the default cluster.
    for i in 0..20 {
        let a = request(addr, get_req("x", &format!("/r/{i}")))
            .await
            .unwrap();
        assert_eq!(a.status, 200);
    }
    for _ in 0..3 {
        let a = request(addr, get_req("x", "/gone")).await.unwrap();
        assert_eq!(a.status, 502);
    }

    // A broken config: the reload fails and logs an error, the old config keeps serving.
    std::fs::write(&config, "listeners: [ this is not yaml").unwrap();
    signal(&mut p, "HUP");
    let ctl = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("ctl")
        .arg("--socket")
        .arg(&admin)
        .arg("reload")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    // The admin answer comes after the reload attempt (and after the SIGHUP's, which is
    // handled in order on the same signal loop or before it): an error, not a crash.
    assert!(!ctl.status.success(), "reload of a broken file succeeded");
    for i in 0..5 {
        let a = request(addr, get_req("x", &format!("/after/{i}")))
            .await
            .unwrap();
        assert_eq!(a.status, 200);
    }
    assert!(p.child().try_wait().unwrap().is_none(), "elb-proxy died");

    signal(&mut p, "TERM");
    let mut child = p.0.take().unwrap();
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(20)))
            .await
            .unwrap();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}

/// `--check` answers by exit code even when its message cannot be written: 0 for a valid
/// file with stdout on /dev/full, 1 for a broken one with stderr there (not 101, a panic).
#[test]
fn check_exit_codes_do_not_depend_on_writable_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &good,
        "listeners: [{ address: \"127.0.0.1:1\" }]\nclusters:\n  - name: app\n    members: [{ address: \"127.0.0.1:2\" }]\ndefault_cluster: app\n",
    )
    .unwrap();
    std::fs::write(&bad, "listeners: [ this is not yaml").unwrap();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for (file, want) in [(&good, 0), (&bad, 1)] {
        let status = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("--check")
            .arg("-c")
            .arg(file)
            .stdout(full())
            .stderr(full())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(want), "{}: {status:?}", file.display());
    }
}
