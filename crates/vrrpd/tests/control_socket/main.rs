//! The control socket end to end over a real Unix socket: every command, bad input,
//! oversized lines, slow clients, floods of connections, a stuck daemon, permissions, and
//! the `vrrpd ctl` client function.

mod fuzz_corpus;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use vrrpd::control::{
    self, ConfigDump, ControlHandler, ControlLimits, CtlError, InstanceStats, InstanceStatus,
    StatsReport, StatusReport, TrackerKind, TrackerStatus,
};

/// A daemon stand-in with real state: the commands change it and the reports show it.
#[derive(Default)]
struct TestDaemon {
    maintenance: Mutex<bool>,
    pushed: Mutex<Vec<(String, bool)>>,
    reloads: Mutex<u32>,
    stuck: bool,
}

impl ControlHandler for TestDaemon {
    async fn status(&self) -> StatusReport {
        if self.stuck {
            std::future::pending::<()>().await;
        }
        let pushed = self.pushed.lock().unwrap().last().cloned();
        StatusReport {
            router_id: "lb-a".into(),
            maintenance: *self.maintenance.lock().unwrap(),
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: "MASTER".into(),
                base_priority: 101,
                effective_priority: 103,
                master_address: Some("198.18.0.1".parse().unwrap()),
                master_priority: Some(103),
                vips: vec!["198.18.0.100/24".into()],
                since_unix_ms: 1,
                last_transition_reason: "master down timer expired".into(),
                trackers: vec![TrackerStatus {
                    name: "chk_elb".into(),
                    kind: TrackerKind::Script,
                    up: pushed.as_ref().is_none_or(|p| p.1),
                    weight: 2,
                    pushed: pushed.map(|p| p.1),
                    reason: "initial state up".into(),
                    ..Default::default()
                }],
                warnings: vec![],
            }],
            sync_groups: vec![],
            down: vec![],
        }
    }
    async fn stats(&self) -> StatsReport {
        StatsReport {
            instances: vec![InstanceStats {
                name: "VI_1".into(),
                adverts_sent: 42,
                ..Default::default()
            }],
            ..Default::default()
        }
    }
    async fn config(&self) -> ConfigDump {
        ConfigDump {
            text: "vrrp_instance VI_1 { virtual_router_id 51 }".into(),
            json: serde_json::json!({"instances": [{"name": "VI_1", "vrid": 51}]}),
        }
    }
    async fn reload(&self) -> Result<String, String> {
        *self.reloads.lock().unwrap() += 1;
        Ok("reloaded".into())
    }
    async fn set_maintenance(&self, on: bool) -> Result<String, String> {
        *self.maintenance.lock().unwrap() = on;
        Ok(format!("maintenance {}", if on { "on" } else { "off" }))
    }
    async fn track(&self, name: &str, up: bool) -> Result<String, String> {
        if name != "chk_elb" {
            return Err(format!("no tracker named {name}"));
        }
        self.pushed.lock().unwrap().push((name.to_owned(), up));
        Ok(format!("{name} {}", if up { "up" } else { "down" }))
    }
}

fn limits() -> ControlLimits {
    ControlLimits {
        max_line: 256,
        read_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        handler_timeout: Duration::from_millis(300),
        max_clients: 4,
    }
}

struct Server {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(daemon: Arc<TestDaemon>, limits: ControlLimits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run").join("vrrpd.sock");
    let socket = control::bind(&path, limits).unwrap();
    let task = tokio::spawn(socket.serve(daemon));
    Server {
        path,
        task,
        _dir: dir,
    }
}

async fn ask(path: &Path, line: &str) -> String {
    control::request(path, line, Duration::from_secs(5))
        .await
        .unwrap()
}

async fn raw(path: &Path, bytes: &[u8]) -> String {
    test_support::unix::raw_exchange(path, bytes, Duration::from_secs(5)).await
}

#[tokio::test]
async fn every_command_answers_and_acts() {
    let daemon = Arc::new(TestDaemon::default());
    let server = start(daemon.clone(), limits());
    let p = &server.path;

    let status = ask(p, "show status").await;
    assert!(
        status.contains("instance VI_1 vrid 51 on eth0: MASTER"),
        "{status}"
    );
    assert!(status.contains("priority 103 (base 101)"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&ask(p, "show status json").await).unwrap();
    assert_eq!(json["instances"][0]["effective_priority"], 103);

    let stats = ask(p, "show stats").await;
    assert!(stats.contains("instance VI_1 adverts_sent 42"), "{stats}");
    assert!(stats.contains("control connections"), "{stats}");
    let json: serde_json::Value = serde_json::from_str(&ask(p, "show stats json").await).unwrap();
    assert_eq!(json["instances"][0]["adverts_sent"], 42);
    assert!(json["control"]["connections"].as_u64().unwrap() >= 4);

    assert!(ask(p, "show config").await.contains("virtual_router_id 51"));
    let json: serde_json::Value = serde_json::from_str(&ask(p, "show config json").await).unwrap();
    assert_eq!(json["instances"][0]["vrid"], 51);

    assert_eq!(ask(p, "reload").await, "reloaded\n");
    assert_eq!(*daemon.reloads.lock().unwrap(), 1);

    assert_eq!(ask(p, "set maintenance on").await, "maintenance on\n");
    assert!(ask(p, "show status").await.contains("MAINTENANCE"));
    assert_eq!(ask(p, "set maintenance off").await, "maintenance off\n");
    assert!(!*daemon.maintenance.lock().unwrap());

    assert_eq!(ask(p, "track chk_elb down").await, "chk_elb down\n");
    assert!(ask(p, "show status").await.contains("(pushed down)"));
    assert_eq!(
        ask(p, "track nosuch up").await,
        "error: no tracker named nosuch\n"
    );
    assert!(ask(p, "help").await.contains("track NAME up|down"));
    // socat-style CRLF works too.
    assert_eq!(ask(p, "reload\r").await, "reloaded\n");
}

#[tokio::test]
async fn bad_input_gets_an_error_line_and_the_server_keeps_serving() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let p = &server.path;
    for (input, want) in [
        (&b"frobnicate\n"[..], "error: unknown command 'frobnicate'"),
        (b"\n", "error: empty command"),
        (b"show\n", "error: usage: show status|stats|config [json]"),
        (
            b"set maintenance maybe\n",
            "error: usage: set maintenance on|off",
        ),
        (b"track chk_elb\n", "error: usage: track NAME up|down"),
        (b"\xff\xfe\n", "error: command is not UTF-8"),
        (b"\x00\x01\x02\n", "error: unknown command"),
    ] {
        let answer = raw(p, input).await;
        assert!(answer.starts_with(want), "{input:?} -> {answer:?}");
    }
    // A command sent without newline and then half-closed still counts.
    let mut s = UnixStream::connect(p).await.unwrap();
    s.write_all(b"reload").await.unwrap();
    s.shutdown().await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "reloaded\n");
    assert!(ask(p, "show stats").await.contains("bad_requests 7"));
}

#[tokio::test]
async fn an_oversized_line_is_refused_without_reading_it_all() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let huge = vec![b'a'; 1024 * 1024];
    let t = Instant::now();
    let answer = raw(&server.path, &huge).await;
    assert_eq!(answer, "error: line too long (limit 256 bytes)\n");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(ask(&server.path, "show status").await.contains("VI_1"));
}

#[tokio::test]
async fn a_slow_client_times_out_and_does_not_hold_up_others() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let p = server.path.clone();
    let mut slow = UnixStream::connect(&p).await.unwrap();
    slow.write_all(b"show sta").await.unwrap();
    // Another client is served meanwhile, at once.
    let t = Instant::now();
    assert!(ask(&p, "show status").await.contains("VI_1"));
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    let mut answer = String::new();
    let t = Instant::now();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("error: no complete command within 0.3s"),
        "{answer}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_flood_of_connections_is_refused_beyond_the_limit_and_service_resumes() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let p = server.path.clone();
    // Four idle clients take every slot...
    let idle_since = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(UnixStream::connect(&p).await.unwrap());
    }
    // ...then a flood of 300 more: each is told "busy" at once and closed. The only way one
    // is served instead: the idle four reached their read timeout (a loaded machine can take
    // longer than that for the flood), which frees their slots; never before.
    let freed_at = idle_since + limits().read_timeout;
    let t = Instant::now();
    let (mut busy, mut served) = (0, 0);
    for _ in 0..300 {
        let answer = raw(&p, b"show status\n").await;
        if answer.starts_with("error: busy") {
            busy += 1;
        } else {
            assert!(
                answer.contains("VI_1"),
                "neither refused nor served: {answer:?}"
            );
            let early = freed_at.saturating_duration_since(Instant::now());
            assert!(
                early.is_zero(),
                "served {early:?} before the idle clients' timeout"
            );
            served += 1;
        }
    }
    let flood_time = t.elapsed();
    assert_eq!(busy + served, 300);
    // Once the idle ones time out, normal service is back.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = raw(&p, b"show status\n").await;
        if answer.contains("VI_1") {
            break;
        }
        assert!(Instant::now() < deadline, "not served again: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = ask(&p, "show stats").await;
    assert!(stats.contains("rejected_busy"), "{stats}");
    eprintln!(
        "{busy} refused and {served} served (after the idle timeout) of 300 connections in {flood_time:?}"
    );
    drop(idle);
}

#[tokio::test]
async fn a_stuck_daemon_gets_a_timeout_answer() {
    let daemon = Arc::new(TestDaemon {
        stuck: true,
        ..Default::default()
    });
    let server = start(daemon, limits());
    let t = Instant::now();
    assert_eq!(
        ask(&server.path, "show status").await,
        "error: the daemon did not answer in time\n"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    // Commands that do not need the stuck part still work.
    assert_eq!(ask(&server.path, "reload").await, "reloaded\n");
}

#[tokio::test]
async fn socket_is_0600_and_another_user_gets_eacces() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let meta = std::fs::symlink_metadata(&server.path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    if !test_support::require_root("the control socket's other-user half") {
        return;
    }
    // Let `nobody` reach the directory, so only the socket's own mode can refuse it.
    for dir in [server.path.parent().unwrap(), server._dir.path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let connect = |uid: Option<u32>| {
        let mut cmd = tokio::process::Command::new("/usr/bin/python3");
        cmd.args([
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e:\n print(e.errno)",
        ])
        .arg(&server.path);
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        cmd.output()
    };
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let out = connect(Some(nobody.uid.as_raw())).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        libc::EACCES.to_string()
    );
    let out = connect(None).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "connected");
}

#[tokio::test]
async fn stale_sockets_are_replaced_live_ones_and_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vrrpd.sock");
    // A stale socket: bound, listener gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let live = control::bind(&path, limits()).unwrap();
    assert!(matches!(
        control::bind(&path, limits()),
        Err(control::ControlError::InUse { .. })
    ));
    drop(live);
    assert!(!path.exists(), "socket file removed on drop");
    std::fs::write(&path, "precious").unwrap();
    assert!(matches!(
        control::bind(&path, limits()),
        Err(control::ControlError::NotASocket { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[tokio::test]
async fn ctl_client_prints_answers_and_reports_errors() {
    let server = start(Arc::new(TestDaemon::default()), limits());
    let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let mut out = Vec::new();
    let ok = control::ctl(
        &server.path,
        &words("show status"),
        Duration::from_secs(5),
        &mut out,
    )
    .await
    .unwrap();
    assert!(ok);
    assert!(String::from_utf8(out).unwrap().contains("VI_1"));

    let mut out = Vec::new();
    let ok = control::ctl(
        &server.path,
        &words("track nosuch down"),
        Duration::from_secs(5),
        &mut out,
    )
    .await
    .unwrap();
    assert!(!ok, "an error answer must make ctl fail");
    assert_eq!(out, b"error: no tracker named nosuch\n");

    // A bad command is refused locally, without connecting.
    let missing = server.path.with_file_name("absent.sock");
    let err = control::ctl(
        &missing,
        &words("show nothing"),
        Duration::from_secs(5),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CtlError::Usage(_)), "{err}");
    let err = control::ctl(
        &missing,
        &words("show status"),
        Duration::from_secs(5),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("is vrrpd running?"), "{err}");
}
