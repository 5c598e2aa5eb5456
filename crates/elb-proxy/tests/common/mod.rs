//! Test support: a real elb-proxy process and the config snippets the tests share. The
//! members and the client the tests use live in `test-support` (`http_member`, `http_client`).
// Each test binary uses a different part of this module and of what it re-exports.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http::Request;

pub use test_support::http::free_port;
pub use test_support::http_client::{
    Answer, Body, CLIENT_TIMEOUT, Client, empty, full, get, h2_sender, h2c_sender, raw, request,
    within,
};
pub use test_support::http_member::{Backend, H2Backend};

/// Polls `probe` until it yields a value; fails the test after `deadline`,
/// naming `what`. For states the proxy reaches on its own (health flips, counters).
pub async fn poll_for<T, F, Fut>(what: &str, deadline: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    test_support::wait_until_async(deadline, what, probe).await
}

/// Waits (bounded) until `cond` holds.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    test_support::wait_until_async(Duration::from_secs(10), what, || {
        let held = cond();
        async move { held.then_some(()) }
    })
    .await
}

/// Waits (bounded) for a child process to exit; kills it and fails the test past `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    test_support::wait_child(child, within, "elb-proxy")
}

/// A running elb-proxy process.
pub struct Proxy {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub addr: SocketAddr,
    pub admin: PathBuf,
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Config text with `{listen}` and `{admin}` filled in.
pub fn start_proxy(yaml_body: &str) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let admin = dir.path().join("admin.sock");
    let mut yaml_body = yaml_body.to_string();
    if !yaml_body.contains("\nadmin:") {
        yaml_body.push_str("admin: { socket: \"{admin}\" }\n");
    }
    let yaml = yaml_body
        .replace("{listen}", &addr.to_string())
        .replace("{admin}", &admin.display().to_string())
        .replace("{dir}", &dir.path().display().to_string());
    let config_path = dir.path().join("elb-proxy.yaml");
    std::fs::write(&config_path, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("-c")
        .arg(&config_path)
        .arg("--log-level")
        .arg("info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let l2 = log.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("elb-proxy ready") {
                if let Some(t) = tx.take() {
                    let _ = t.send(());
                }
            }
            l2.lock().unwrap().push(line);
        }
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        let _ = child.kill();
        panic!("elb-proxy did not start: {:?}", log.lock().unwrap());
    }
    Proxy {
        child,
        dir,
        config_path,
        addr,
        admin,
        log,
    }
}

impl Proxy {
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// One admin command through `elb-proxy ctl`; returns (success, output).
    pub fn ctl(&self, words: &str) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("ctl")
            .arg("--socket")
            .arg(&self.admin)
            .args(words.split(' '))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Waits (bounded) until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        self.wait_log_count(needle, 1, within)
    }

    /// Waits (bounded) until `count` log lines contain `needle` (for a message that an
    /// earlier step of the test has already logged).
    pub fn wait_log_count(&self, needle: &str, count: usize, within: Duration) -> bool {
        test_support::wait::poll(within, || {
            let n = self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count();
            (n >= count).then_some(())
        })
        .is_some()
    }

    /// Peak RSS (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        test_support::wait::kill_and_reap(&mut self.child);
    }
}

/// One cluster in config YAML: `members` as (name, address, weight), `extra` lines
/// (indented four spaces) inserted before `members:`.
pub fn cluster_yaml(
    name: &str,
    members: &[(&str, std::net::SocketAddr, u32)],
    extra: &str,
) -> String {
    let mut s = format!("  - name: {name}\n{extra}    members:\n");
    for (n, a, w) in members {
        s.push_str(&format!(
            "      - {{ name: {n}, address: \"{a}\", weight: {w} }}\n"
        ));
    }
    s
}

/// A GET of the proxy's health path.
pub fn health_request() -> Request<Body> {
    Request::get("/services/EchoProxy")
        .header("host", "x")
        .body(empty())
        .unwrap()
}

/// `elb-proxy --check` on `yaml` (`{listen}` filled in), written to `dir/check.yaml`:
/// (success, stderr and stdout).
pub fn check_config(dir: &std::path::Path, yaml: &str) -> (bool, String) {
    let path = dir.join("check.yaml");
    std::fs::write(
        &path,
        yaml.replace("{listen}", &format!("127.0.0.1:{}", free_port())),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("--check")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}
