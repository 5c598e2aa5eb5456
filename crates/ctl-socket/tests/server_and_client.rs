//! The server and the client over real Unix sockets: socket placement (live sockets kept,
//! stale ones replaced, mode and group), every bound (clients, line length, idle, handler
//! time, answer size) and both session kinds.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctl_socket::{
    Answer, BindError, Client, ClientError, Handler, Limits, Session, SocketOptions, bind, is_error,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Answers by the first word: `echo ...`, `big N` (N bytes), `hang` (never), `bad`.
struct Echo;

impl Handler for Echo {
    async fn answer(&self, line: &str) -> Answer {
        let mut words = line.split(' ');
        match words.next() {
            Some("echo") => Answer::text(line.trim_start_matches("echo ")),
            Some("big") => {
                let n: usize = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                Answer::text("x".repeat(n))
            }
            Some("hang") => std::future::pending().await,
            Some("fail") => Answer::error("it failed"),
            _ => Answer::bad_request(format_args!("unknown command '{line}'")),
        }
    }
}

fn limits() -> Limits {
    Limits {
        max_line: 64,
        read_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        handler_timeout: Duration::from_millis(300),
        max_clients: 3,
    }
}

struct Running {
    path: PathBuf,
    stats: ctl_socket::StatsHandle,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(session: Session) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run").join("test.sock");
    let server = bind(&path, &SocketOptions::default())
        .unwrap()
        .with_limits(limits())
        .with_session(session)
        .with_name("test");
    let stats = server.stats();
    let task = tokio::spawn(server.serve(Arc::new(Echo)));
    Running {
        path,
        stats,
        task,
        _dir: dir,
    }
}

fn client(path: &Path) -> Client {
    Client::new(path).with_timeout(Duration::from_secs(5))
}

async fn raw(path: &Path, bytes: &[u8]) -> String {
    test_support::unix::raw_exchange(path, bytes, Duration::from_secs(5)).await
}

#[tokio::test]
async fn one_command_sessions_answer_once_and_close() {
    let s = start(Session::OneCommand);
    let c = client(&s.path);
    assert_eq!(c.request("echo hello").await.unwrap(), "hello\n");
    assert_eq!(c.request("echo crlf\r").await.unwrap(), "crlf\n");
    let failed = c.request("fail").await.unwrap();
    assert_eq!(failed, "error: it failed\n");
    assert!(is_error(&failed));
    // A second line on the same connection is not read.
    assert_eq!(raw(&s.path, b"echo one\necho two\n").await, "one\n");
    assert_eq!(s.stats.snapshot().bad_requests, 0);
}

#[tokio::test]
async fn line_sessions_carry_many_commands_each_answer_ending_with_an_empty_line() {
    let s = start(Session::Lines);
    let mut stream = UnixStream::connect(&s.path).await.unwrap();
    stream.write_all(b"echo one\necho two\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "one\n\ntwo\n\n");
    // The client reads to EOF, so it works with both kinds.
    assert_eq!(client(&s.path).request("echo x").await.unwrap(), "x\n\n");
}

#[tokio::test]
async fn bad_lines_get_an_error_line_are_counted_and_the_server_keeps_serving() {
    let s = start(Session::OneCommand);
    for (input, want) in [
        (
            &b"frobnicate\n"[..],
            "error: unknown command 'frobnicate'\n",
        ),
        (b"\xff\xfe\n", "error: command is not UTF-8\n"),
        (b"\n", "error: unknown command ''\n"),
    ] {
        assert_eq!(raw(&s.path, input).await, want, "{input:?}");
    }
    assert_eq!(s.stats.snapshot().bad_requests, 3);
    assert_eq!(client(&s.path).request("echo ok").await.unwrap(), "ok\n");
}

#[tokio::test]
async fn an_oversized_line_is_refused_without_reading_it_all() {
    for session in [Session::OneCommand, Session::Lines] {
        let s = start(session);
        let t = Instant::now();
        let answer = raw(&s.path, &vec![b'a'; 4 << 20]).await;
        assert!(
            answer.starts_with("error: line too long (limit 64 bytes)\n"),
            "{answer:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        // 65 bytes with a newline is over the limit too; 64 is not.
        let line = format!("echo {}\n", "b".repeat(60));
        assert!(
            raw(&s.path, line.as_bytes())
                .await
                .starts_with("error: line too long")
        );
        let line = format!("echo {}\n", "b".repeat(59));
        assert!(raw(&s.path, line.as_bytes()).await.starts_with("bbb"));
        assert_eq!(s.stats.snapshot().bad_requests, 2);
    }
}

#[tokio::test]
async fn the_client_refuses_an_answer_over_its_cap() {
    let s = start(Session::OneCommand);
    let c = client(&s.path).with_max_answer(1000);
    assert_eq!(c.request("big 999").await.unwrap().len(), 1000);
    let err = c.request("big 1000").await.unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("answer longer than 1000 bytes"));
}

#[tokio::test]
async fn an_idle_or_slow_client_is_timed_out_without_holding_up_others() {
    let s = start(Session::Lines);
    let mut slow = UnixStream::connect(&s.path).await.unwrap();
    slow.write_all(b"echo hal").await.unwrap();
    let mut silent = UnixStream::connect(&s.path).await.unwrap();
    let t = Instant::now();
    assert_eq!(
        client(&s.path).request("echo now").await.unwrap(),
        "now\n\n"
    );
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "error: no complete command within 0.3s\n\n");
    let mut answer = String::new();
    silent.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "error: no complete command within 0.3s\n\n");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // After an answer, going idle just ends the session.
    let mut quiet = UnixStream::connect(&s.path).await.unwrap();
    quiet.write_all(b"echo once\n").await.unwrap();
    let mut answer = String::new();
    quiet.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "once\n\n");
    assert_eq!(s.stats.snapshot().timeouts, 3);
}

#[tokio::test]
async fn a_handler_that_does_not_answer_gets_a_timeout_answer() {
    let s = start(Session::OneCommand);
    let t = Instant::now();
    let answer = client(&s.path).request("hang").await.unwrap();
    assert_eq!(answer, "error: the daemon did not answer in time\n");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(s.stats.snapshot().timeouts, 1);
}

#[tokio::test]
async fn clients_beyond_the_limit_are_told_busy_at_once_and_service_resumes() {
    let s = start(Session::Lines);
    let held: Vec<_> = futures_connect(&s.path, 3).await;
    // Let the server take all three before the next one.
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.stats.snapshot().connections < 3 {
        assert!(
            Instant::now() < deadline,
            "server never accepted the held clients"
        );
        tokio::task::yield_now().await;
    }
    let t = Instant::now();
    for _ in 0..50 {
        let answer = client(&s.path).request("echo hi").await.unwrap();
        assert_eq!(answer, "error: busy, too many test clients\n\n");
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(s.stats.snapshot().rejected_busy, 50);
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = client(&s.path).request("echo back").await.unwrap();
        if answer == "back\n\n" {
            break;
        }
        assert!(Instant::now() < deadline, "not served again: {answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn futures_connect(path: &Path, n: usize) -> Vec<UnixStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(UnixStream::connect(path).await.unwrap());
    }
    held
}

#[tokio::test]
async fn a_live_socket_is_never_replaced_a_stale_one_is_and_a_file_never() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sock");
    let opts = SocketOptions::default();
    // Stale: bound, then its listener gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let live = bind(&path, &opts).unwrap();
    assert!(matches!(bind(&path, &opts), Err(BindError::InUse { .. })));
    // A live daemon that does not serve yet (not accepting) still counts as live.
    assert!(path.exists());
    drop(live);
    assert!(!path.exists(), "socket file removed on drop");
    std::fs::write(&path, "precious").unwrap();
    let err = bind(&path, &opts).unwrap_err();
    assert!(matches!(err, BindError::NotASocket { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[tokio::test]
async fn a_socket_taken_over_by_another_daemon_is_left_alone_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sock");
    let first = bind(&path, &SocketOptions::default()).unwrap();
    // Someone removes ours and binds their own at the same path.
    std::fs::remove_file(&path).unwrap();
    let theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(first);
    assert!(path.exists(), "dropping ours must not delete theirs");
    drop(theirs);
}

#[tokio::test]
async fn mode_and_group_are_set_before_the_socket_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sock");
    let server = bind(&path, &SocketOptions::default()).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    drop(server);
    // Only root may give a file to a group it is not in: 65534 (nogroup) is on every Debian.
    let is_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if !is_root {
        eprintln!("SKIPPED: the group half needs root");
        return;
    }
    let opts = SocketOptions {
        mode: 0o660,
        group: Some(65534),
    };
    let _server = bind(&path, &opts).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), 65534);
    // No temporary name is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("d.sock")]);
}

#[tokio::test]
async fn the_client_names_the_daemon_when_nothing_listens_and_bounds_every_wait() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.sock");
    let err = Client::new(&missing)
        .for_daemon("vrrpd", "--control-socket")
        .request("show status")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("(is vrrpd running? see --control-socket)"),
        "{err}"
    );
    // A listener that accepts and never answers: the deadline ends the wait.
    let quiet = dir.path().join("quiet.sock");
    let listener = tokio::net::UnixListener::bind(&quiet).unwrap();
    let t = Instant::now();
    let err = Client::new(&quiet)
        .with_timeout(Duration::from_millis(200))
        .request("show status")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2));
    drop(listener);
    // One that closes without a word.
    let closing = dir.path().join("closing.sock");
    let listener = tokio::net::UnixListener::bind(&closing).unwrap();
    let closer = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        drop(s);
    });
    let err = Client::new(&closing).request("x").await.unwrap_err();
    assert!(matches!(err, ClientError::NoAnswer { .. }), "{err}");
    closer.await.unwrap();
    let err = Client::new(&quiet).request("a\nb").await.unwrap_err();
    assert!(matches!(err, ClientError::NotOneLine), "{err}");
}
